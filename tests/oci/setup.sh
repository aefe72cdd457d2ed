#!/usr/bin/env bash
# Install (once) what the OCI registry tests and examples/container need:
# Debian's docker-registry (CNCF Distribution), skopeo, and htpasswd from
# apache2-utils for the basic-auth registry. Idempotent, quiet, and safe to
# call from parallel test processes. Needs root (CI has it); without it, or
# without apt-get, it says so and exits 1, and the tests skip loudly.
set -euo pipefail
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "tests/oci/setup.sh: cannot install ${need[*]} (needs apt-get and root)" >&2
  exit 1
fi
lock=/var/lock/intact-oci-setup.lock
exec 9>"$lock"
flock 9
# Another process may have installed them while this one waited.
missing=()
for p in "${need[@]}"; do
  case $p in
    apache2-utils) command -v htpasswd >/dev/null 2>&1 || missing+=("$p") ;;
    *) command -v "$p" >/dev/null 2>&1 || missing+=("$p") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
