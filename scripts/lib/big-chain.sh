# Sourced by the benchmarks (scripts/bench-drill.sh, scripts/bench-oci.sh):
# big_chain DIR N builds in DIR a 3-step chain (fetch, build, package) with
# N artifacts per link, recorded with "$INTACT": keys/ (owner, fetcher,
# builder, packager), root.layout signed by the owner, and work/ holding
# src/, out/, bundle.tar and the three links.
big_chain() {
  local dir="$1" n="$2"
  mkdir -p "$dir/keys" "$dir/work/src"
  (
    cd "$dir"
    for k in owner fetcher builder packager; do "$INTACT" key generate "keys/$k" > /dev/null 2>&1; done
    cat > layout.yaml <<'YAML'
expires: 90d
keys:
  fetcher: keys/fetcher.pub
  builder: keys/builder.pub
  packager: keys/packager.pub
steps:
  - name: fetch
    functionaries: [fetcher]
    expected_command: "true"
    expected_products: [CREATE src/*, DISALLOW *]
  - name: build
    functionaries: [builder]
    expected_command: cp -r src out
    expected_materials: [MATCH src/* WITH PRODUCTS FROM fetch, DISALLOW *]
    expected_products: [MATCH src/* WITH PRODUCTS FROM fetch, CREATE out/*, DISALLOW *]
  - name: package
    functionaries: [packager]
    expected_command: tar cf bundle.tar out
    expected_materials: [MATCH out/* WITH PRODUCTS FROM build, DISALLOW *]
    expected_products: [MATCH out/* WITH PRODUCTS FROM build, CREATE bundle.tar, DISALLOW *]
YAML
    "$INTACT" layout build layout.yaml --key keys/owner.pem -o root.layout > /dev/null
    cd work
    for i in $(seq 1 "$n"); do echo "$i" > "src/f$i"; done
    "$INTACT" run --step fetch --key ../keys/fetcher.pem --no-git -p src -- true > /dev/null 2>&1
    "$INTACT" run --step build --key ../keys/builder.pem --no-git -m src -p src out -- cp -r src out > /dev/null 2>&1
    "$INTACT" run --step package --key ../keys/packager.pem --no-git -m out -p out bundle.tar -- tar cf bundle.tar out > /dev/null 2>&1
  )
}
