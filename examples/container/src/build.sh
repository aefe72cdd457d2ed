#!/bin/sh
# Build the image as an OCI layout in image/ without a container engine:
# one reproducible layer from rootfs/, a config, a manifest, an index.
# (A real pipeline runs `docker buildx build --output type=oci,...` or
# `buildah`; what matters to the chain is the OCI layout it leaves.)
set -eu
rm -rf image
mkdir -p image/blobs/sha256
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C rootfs -cf layer.tar .
diff_id=$(sha256sum layer.tar | cut -d' ' -f1)
gzip -n -9 layer.tar
blob() { # move FILE into the layout, print "DIGEST SIZE"
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(wc -c <"$1" | tr -d ' ')
    mv "$1" "image/blobs/sha256/$d"
    echo "$d $s"
}
set -- $(blob layer.tar.gz)
layer=$1 layer_size=$2
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/app.sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff_id" >config.json
set -- $(blob config.json)
config=$1 config_size=$2
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >manifest.json
set -- $(blob manifest.json)
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"app"}}]}' \
    "$1" "$2" >image/index.json
printf '{"imageLayoutVersion":"1.0.0"}' >image/oci-layout
