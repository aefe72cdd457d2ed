"""Check intact's attestations with the in-toto Attestation Framework's own
Python bindings (in-toto-attestation 0.9.3) and securesystemslib's DSSE.

Usage: attest_check.py PUBKEY.pem ENVELOPE...

For each envelope: the DSSE signature verifies with securesystemslib under
PUBKEY; the payload parses strictly (protobuf json_format, unknown fields
refused) into the bindings' Statement, whose validate() passes; every
subject and descriptor parses as their ResourceDescriptor (validate()
passing); the predicate parses into the bindings' type for its
predicateType (link v0.3, SLSA Provenance v1, VSA v1). The bindings declare
the VSA's verifiedLevels a single string, while the SLSA VSA v1
specification makes it an array of strings; and their Verifier has only
`id`, while the specification also has `version` (a map of strings): those
fields are checked against the specification here and left out of the
bindings' parse.

Prints one line per envelope, "ok PREDICATE_TYPE", and exits 1 on the first
failure with the reason.
"""

import base64
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.protobuf import json_format
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from in_toto_attestation.v1 import statement_pb2, resource_descriptor_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.predicates.link.v0 import link_pb2
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.predicates.vsa.v1 import vsa_pb2

PREDICATES = {
    "https://in-toto.io/attestation/link/v0.3": link_pb2.Link,
    "https://slsa.dev/provenance/v1": provenance_pb2.Provenance,
    "https://slsa.dev/verification_summary/v1": vsa_pb2.VerificationSummary,
}


def strict(obj, message):
    return json_format.Parse(json.dumps(obj), message, ignore_unknown_fields=False)


def descriptors(obj):
    """Every ResourceDescriptor-shaped list in a predicate we know."""
    p = obj.get("predicate", {})
    out = list(obj.get("subject", []))
    out += p.get("materials", [])
    bd = p.get("buildDefinition", {})
    out += bd.get("resolvedDependencies", [])
    rd = p.get("runDetails", {})
    out += rd.get("byproducts", [])
    out += rd.get("builder", {}).get("builderDependencies", [])
    out += p.get("inputAttestations", [])
    if "policy" in p:
        out.append(p["policy"])
    return out


def check(key, path):
    with open(path, "rb") as f:
        env = Envelope.from_dict(json.loads(f.read()))
    if env.payload_type != "application/vnd.in-toto+json":
        raise ValueError(f"payloadType {env.payload_type!r}")
    env.verify([key], 1)  # raises VerificationError
    obj = json.loads(env.payload)
    st = Statement.copy_from_pb(strict(obj, statement_pb2.Statement()))
    st.validate()
    for rd in descriptors(obj):
        ResourceDescriptor.copy_from_pb(
            strict(rd, resource_descriptor_pb2.ResourceDescriptor())
        ).validate()
    ptype = obj["predicateType"]
    pred = dict(obj["predicate"])
    if ptype == "https://slsa.dev/verification_summary/v1":
        levels = pred.pop("verifiedLevels", [])
        if not isinstance(levels, list) or not all(isinstance(l, str) for l in levels):
            raise ValueError("verifiedLevels is not an array of strings (SLSA VSA v1)")
        # The bindings' Verifier has only `id`; the specification also has
        # `version`, a map of strings: checked here against the spec.
        verifier = dict(pred.get("verifier", {}))
        version = verifier.pop("version", {})
        if not isinstance(version, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in version.items()
        ):
            raise ValueError("verifier.version is not a map of strings (SLSA VSA v1)")
        pred["verifier"] = verifier
    if ptype in PREDICATES:
        strict(pred, PREDICATES[ptype]())
    return ptype


def main():
    with open(sys.argv[1], "rb") as f:
        key = SSlibKey.from_crypto(load_pem_public_key(f.read()))
    for path in sys.argv[2:]:
        try:
            print("ok", check(key, path))
        except Exception as e:  # noqa: BLE001 - report any failure
            print(f"FAILED {path}: {type(e).__name__}: {e}")
            sys.exit(1)


if __name__ == "__main__":
    main()
