#!/usr/bin/env bash
# Build a test PKI with openssl into DIR (docs/pki.md):
#
#   root.crt          root CA (ECDSA P-256, self-signed)
#   intermediate.crt  intermediate CA, signed by the root (pathlen 0)
#   good.{key,crt}    leaf: CN=builder, O=Example, email builder@example.com,
#                     URI spiffe://example.com/builder, codeSigning
#   expired.{key,crt} the same names, valid 2020-01-01 to 2020-12-31
#   revoked.{key,crt} the same names, revoked in intermediate.crl
#   outside.{key,crt} CN=intruder, email intruder@example.com: outside the
#                     layout's certificate constraints
#   intermediate.crl  the intermediate's CRL (PEM), listing revoked.crt
#   buildca.crt       a second intermediate, signed by the root, with the
#                     X.509 name constraint permitted;DNS:build.example.com
#   renegade.{key,crt} the good leaf's names plus DNS ci.example.org, issued
#                     by buildca: outside its CA's name constraints
#   oldroot.crt       a second root CA, valid 2020-01-01 to 2020-12-31 only
#   orphan.{key,crt}  the good leaf's names, issued by oldroot, valid now
#
# Leaf keys are ed25519 (PKCS#8 PEM), as `intact run --key` reads them.
# The tests run this into a temporary directory: the fixtures are
# generated, never committed or edited by hand.
set -euo pipefail
dir="${1:?usage: make-pki.sh DIR}"
mkdir -p "$dir"
cd "$dir"

ca_setup() { # NAME: an `openssl ca` database for CA NAME
  mkdir -p "$1.db"
  : > "$1.db/index.txt"
  echo 1000 > "$1.db/serial"
  echo 1000 > "$1.db/crlnumber"
  cat > "$1.cnf" <<EOF
[ca]
default_ca = this
[this]
dir = $1.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $1.crt
private_key = $1.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = optional
organizationName = optional
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[constrained_ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
nameConstraints = critical, permitted;DNS:build.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

q() { "$@" > /dev/null 2>&1 || { "$@"; exit 1; }; }

# Root CA.
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out root.key
q openssl req -x509 -new -key root.key -subj "/O=Example/CN=Example Root CA" -days 3650 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out root.crt
ca_setup root

# Intermediate CA, signed by the root.
ca_setup intermediate
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out intermediate.key
q openssl req -new -key intermediate.key -subj "/O=Example/CN=Example Intermediate CA" -out intermediate.csr
q openssl ca -batch -config root.cnf -extensions ca_ext -in intermediate.csr -out intermediate.crt -notext

# A name-constrained intermediate, signed by the root.
ca_setup buildca
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out buildca.key
q openssl req -new -key buildca.key -subj "/O=Example/CN=Example Build CA" -out buildca.csr
q openssl ca -batch -config root.cnf -extensions constrained_ca_ext -in buildca.csr -out buildca.crt -notext

leaf() { # CA NAME CN SAN [openssl ca options...]
  local ca="$1" name="$2" cn="$3" san="$4"
  shift 4
  q openssl genpkey -algorithm ed25519 -out "$name.key"
  q openssl req -new -key "$name.key" -subj "/O=Example/CN=$cn" -addext "subjectAltName=$san" -out "$name.csr"
  q openssl ca -batch -config "$ca.cnf" -extensions leaf_ext -in "$name.csr" -out "$name.crt" -notext "$@"
}

builder="email:builder@example.com,URI:spiffe://example.com/builder"
leaf intermediate good builder "$builder"
leaf intermediate expired builder "$builder" -startdate 20200101000000Z -enddate 20201231000000Z
leaf intermediate revoked builder "$builder"
leaf intermediate outside intruder "email:intruder@example.com,URI:spiffe://example.com/intruder"
leaf buildca renegade builder "$builder,DNS:ci.example.org"

# A root CA whose validity ended in 2020, and a leaf it issued that is
# valid now: a trust anchor's own dates count.
ca_setup oldroot
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oldroot.key
q openssl req -new -key oldroot.key -subj "/O=Example/CN=Example Expired Root CA" -out oldroot.csr
q openssl ca -batch -selfsign -config oldroot.cnf -extensions ca_ext -in oldroot.csr \
  -out oldroot.crt -notext -startdate 20200101000000Z -enddate 20201231000000Z
leaf oldroot orphan builder "$builder"

q openssl ca -batch -config intermediate.cnf -revoke revoked.crt -crl_reason keyCompromise
q openssl ca -batch -config intermediate.cnf -gencrl -out intermediate.crl
