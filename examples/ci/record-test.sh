#!/usr/bin/env bash
# CI step "test": runs the tests against the built archive.
# --no-git: this step consumes build's product, not the commit.
set -euo pipefail
key="${INTACT_KEY:?set INTACT_KEY to the functionary key file}"
links="${LINK_DIR:-links}"
intact run --step test --key "$key" --metadata-directory "$links" --no-git \
  --materials dist/app.tar.gz \
  -- sh -c 'tar -xzOf dist/app.tar.gz src/test.sh | sh'
