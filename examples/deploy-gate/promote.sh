#!/usr/bin/env bash
# Pipeline gate: promote a release only when intact verifies it from the
# artifact; on failure, block the promotion and raise an alert.
#
#   promote.sh ARTIFACT DEST
#
# Environment:
#   INTACT_LAYOUT     the signed root layout          (default root.layout)
#   INTACT_OWNER_KEY  the owner's public key          (default owner.pub)
#   INTACT_LINK_DIR   the links of the chain          (default links)
#   ALERT_CMD         run on failure with the report  (default: print to stderr)
#                     on its standard input and INTACT_EXIT set
#
# Exit: 0 promoted; 1 the release failed verification (not promoted);
# 2 the gate could not run (bad input): not promoted either.
set -uo pipefail
artifact=${1:?usage: promote.sh ARTIFACT DEST}
dest=${2:?usage: promote.sh ARTIFACT DEST}
report=$(mktemp)
trap 'rm -f "$report"' EXIT

intact verify \
    --layout "${INTACT_LAYOUT:-root.layout}" \
    --layout-key "${INTACT_OWNER_KEY:-owner.pub}" \
    --link-dir "${INTACT_LINK_DIR:-links}" \
    --artifact "$artifact" \
    --format markdown >"$report" 2>&1
code=$?
if [ "$code" -ne 0 ]; then
    export INTACT_EXIT=$code
    if [ -n "${ALERT_CMD:-}" ]; then
        bash -c "$ALERT_CMD" <"$report"
    else
        echo "promotion of $artifact BLOCKED (intact verify exit $code):" >&2
        cat "$report" >&2
    fi
    exit $(( code == 1 ? 1 : 2 ))
fi
mkdir -p "$dest"
cp -- "$artifact" "$dest/"
# The provenance summary travels with the promoted release.
cp -- "$report" "$dest/$(basename -- "$artifact").provenance.md"
echo "promoted $artifact to $dest"
