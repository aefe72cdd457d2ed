#!/usr/bin/env bash
# A container image's chain, end to end, against a local registry:
# build an OCI image, push it with skopeo, attach its layout and links to
# the image digest with `intact oci push`, verify by digest with `intact
# verify --image`, and show that the chain does not vouch for another
# image. Needs docker-registry and skopeo (tests/oci/setup.sh installs
# them) and intact on PATH (or INTACT=/path/to/intact).
#
#   bash examples/container/run.sh [WORKDIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
intact=${INTACT:-intact}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"

# --- a registry on 127.0.0.1 (plain HTTP: --insecure, localhost only) ---
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 30000)))
cat >registry.yml <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve registry.yml >registry.log 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
image=127.0.0.1:$port/team/app
export TLS_VERIFY=false

# --- keys and the layout (owner) ---
mkdir -p keys
for k in owner developer ci; do "$intact" key generate "keys/$k" >/dev/null; done
cp "$here/../../layouts/container-image.yaml" .
"$intact" layout build container-image.yaml --key keys/owner.pem \
    --param "IMAGE=$image:latest" -o root.layout

# --- the steps (developer, then CI) ---
cp -r "$here/src" ws
mkdir links
# The developer records the reviewed tree (a real pipeline runs the
# layout's `git checkout --detach` in its checkout; here `true`, which the
# verifier reports as a command mismatch warning, nothing more).
(
    cd ws
    "$intact" run --no-git --step source --key ../keys/developer.pem -p . -d ../links -- true
)
(
    cd ws
    "$intact" run --no-git --step build --key ../keys/ci.pem -m . -p image -d ../links -- sh build.sh
    "$intact" run --no-git --step push --key ../keys/ci.pem -m image push.sh -p image.manifest.json \
        -d ../links -- sh push.sh "$image:latest"
)
digest=$("$intact" oci resolve --insecure "$image:latest")
echo "pushed $image@$digest"

# --- attach the chain to the image digest ---
"$intact" oci push --insecure "$image@$digest" --layout root.layout --link-dir links
"$intact" oci referrers --insecure "$image@$digest"

# --- the deployer: verify by digest, nothing but the owner's key at hand ---
mkdir deploy
cp keys/owner.pub deploy/
(cd deploy && "$intact" verify --insecure --image "$image@$digest" --layout-key owner.pub)

# --- another image, with the same chain attached, is refused ---
(
    cd ws
    echo 'echo evil' >>rootfs/app.sh
    sh build.sh
    skopeo copy --quiet --preserve-digests --dest-tls-verify=false oci:image:app "docker://$image:evil"
)
evil=$("$intact" oci resolve --insecure "$image:evil")
"$intact" oci push --insecure "$image@$evil" --layout root.layout --link-dir links >/dev/null 2>&1
set +e
(cd deploy && "$intact" verify --insecure --image "$image@$evil" --layout-key owner.pub)
status=$?
set -e
if [ "$status" != 1 ]; then
    echo "the other image was not refused (exit $status)" >&2
    exit 1
fi
echo "the other image was refused (exit 1): its digest is not the push step's product"
