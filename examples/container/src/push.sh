#!/bin/sh
# Push the OCI layout to IMAGE (REGISTRY/REPO:TAG) with skopeo, keeping the
# manifest byte for byte (so the digest is the one built), and record the
# manifest the registry now serves: image.manifest.json, whose SHA-256 is
# the image digest, is this step's product. TLS_VERIFY=false for a plain
# HTTP registry on localhost.
set -eu
tls=${TLS_VERIFY:-true}
skopeo copy --quiet --preserve-digests --dest-tls-verify="$tls" oci:image:app "docker://$1"
skopeo inspect --raw --tls-verify="$tls" "docker://$1" >image.manifest.json
