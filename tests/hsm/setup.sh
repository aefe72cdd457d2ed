#!/usr/bin/env bash
# Make sure the tools the PKCS#11 and ssh-agent tests drive are installed:
# SoftHSM2 (a software token: softhsm2-util and its PKCS#11 module), OpenSC's
# pkcs11-tool (key generation in the token) and OpenSSH's ssh-agent,
# ssh-add and ssh-keygen. Installs the Debian packages when one is missing
# (CI runs as root), else does nothing. Idempotent, quiet, and safe to call
# from parallel test processes; prints the module's path last.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mkdir -p "$repo/target"
exec 9>"$repo/target/hsm-setup.lock"
flock 9

module() {
  for m in /usr/lib/softhsm/libsofthsm2.so \
           /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/local/lib/softhsm/libsofthsm2.so; do
    if [ -e "$m" ]; then echo "$m"; return 0; fi
  done
  return 1
}

missing=()
command -v softhsm2-util >/dev/null && module >/dev/null || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null || missing+=(opensc)
{ command -v ssh-agent && command -v ssh-add && command -v ssh-keygen; } >/dev/null || missing+=(openssh-client)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/hsm/setup.sh: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
module || { echo "tests/hsm/setup.sh: no libsofthsm2.so after installing softhsm2" >&2; exit 1; }
