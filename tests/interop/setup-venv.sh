#!/usr/bin/env bash
# Create (once) the virtualenv with the in-toto reference implementation that
# the interop tests run, at target/interop-venv. Idempotent and safe to call
# from parallel test processes; prints the venv's python path last.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/target/interop-venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
mkdir -p "$repo/target"
want="$(sha256sum "$req" | cut -d' ' -f1)"
exec 9>"$repo/target/interop-venv.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
