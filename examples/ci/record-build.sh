#!/usr/bin/env bash
# CI step "build", wrapped by the recorder. Run at the root of a fresh checkout.
#   INTACT_KEY           the functionary's private key file (required)
#   INTACT_KEY_PASSWORD  its password, when it is encrypted
#   LINK_DIR             where links go (default: links)
set -euo pipefail
key="${INTACT_KEY:?set INTACT_KEY to the functionary key file}"
links="${LINK_DIR:-links}"
mkdir -p "$links" dist
# The materials are the whole checkout (.git and links excluded by default):
# intact records the commit too, and --require-clean refuses a checkout with
# changes before anything runs (without it the link would say dirty: true).
intact run --step build --key "$key" --metadata-directory "$links" --require-clean \
  --materials . --products dist/app.tar.gz \
  -- tar --exclude-vcs -czf dist/app.tar.gz src
