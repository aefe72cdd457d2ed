#!/usr/bin/env bash
# A whole chain from a signed commit in a fresh repository to a verified
# package, in one script (docs/git-provenance.md):
#
#   bash examples/git-provenance/run.sh [WORKDIR]
#
# Needs intact on PATH (or INTACT=/path/to/intact), git, ssh-keygen and tar.
# With IN_TOTO_VERIFY=/path/to/in-toto-verify, the reference verifies the
# same chain too (it runs `intact git verify-source` as the inspection).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
intact="${INTACT:-intact}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work" && cd "$work"
# No personal git settings leak in; commits are signed with an SSH key.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
g() {
  git -c user.name=Alice -c user.email=alice@example.com -c init.defaultBranch=main \
      -c gpg.format=ssh -c user.signingkey="$work/keys/alice_git" "$@"
}

echo "== 1. Keys: Alice signs commits (SSH), the owner signs the layout, the builder links"
mkdir -p keys
ssh-keygen -q -t ed25519 -N '' -C alice@example.com -f keys/alice_git
"$intact" key generate keys/owner
"$intact" key generate keys/builder

echo "== 2. Alice commits and signs the source"
mkdir -p upstream/src
printf 'print("hello")\n' > upstream/src/hello.py
printf '# project\n' > upstream/README.md
(cd upstream && g init -q && g add . && g commit -q -S -m "release 1.0")

echo "== 3. The owner pins the git policy in the layout and signs it"
cp "$here/layout.yaml" layout.yaml
"$intact" layout build layout.yaml --key keys/owner.pem --param "REPO=file://$work/upstream" -o root.layout

echo "== 4. The builder records the steps"
# The clone is a git work tree: intact records its commit in the link.
"$intact" run --step clone --key keys/builder.pem --products project \
  -- git clone -q "file://$work/upstream" project
# Packaging consumes the clone's files, not a commit: --no-git.
"$intact" run --step package --key keys/builder.pem --no-git \
  --materials project --products project.tar.gz \
  -- tar --exclude .git -czf project.tar.gz project

echo "== 5. A consumer verifies, with a clone of the repository"
"$intact" verify --layout root.layout --layout-key keys/owner.pub --git-repo project

if [ -n "${IN_TOTO_VERIFY:-}" ]; then
  echo "== 6. The in-toto reference verifies the same chain"
  INTACT_GIT_REPO=project "$IN_TOTO_VERIFY" -l root.layout --verification-keys keys/owner.pub
  echo "in-toto-verify: PASSED"
fi
