#!/usr/bin/env bash
# Release gate: verify the chain before publishing dist/app.tar.gz.
# Needs the full history for the protected-ref check (fetch-depth: 0 /
# GIT_DEPTH: 0) and the links and dist/ from the build job.
set -euo pipefail
links="${LINK_DIR:-links}"
intact verify --layout root.layout --layout-key owner.pub \
  --link-dir "$links" --git-repo .
