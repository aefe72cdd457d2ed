"""Malformed in-toto Statements, built with the in-toto Attestation
Framework's own Python bindings (in-toto-attestation 0.9.3), signed in DSSE
envelopes with securesystemslib.

Usage: gen_bad_statements.py PRIVATE_KEY.pem OUT_DIR

The cases follow the bindings' negative tests (python/tests of
in-toto/attestation: a wrong statement type, no subject, a subject without
digest, no predicate type, no predicate; a ResourceDescriptor with none of
its required fields, or only an empty name) and the required members of
SLSA Provenance v1 and of the link predicate, which those bindings type but
do not validate. Each statement is built as a protobuf message of the
bindings; where the bindings have a validate(), the generator first checks
that it refuses the statement (so every case is one the framework itself
calls malformed). The JSON is the bindings' own serialisation
(json_format.MessageToDict), which leaves out empty members; where that
would hide the defect (an empty subject list, an empty predicate type), a
second file carries the member as written, named `...-literal`.

Every envelope is correctly signed: `intact verify-attestation` must pass
its `signature` check and fail its `statement` check. Writes one
NAME.intoto.json per case and prints the names.
"""

import json
import os
import sys

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from google.protobuf import json_format
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

from in_toto_attestation.v1 import resource_descriptor_pb2 as rdpb
from in_toto_attestation.v1 import statement_pb2 as stpb
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.predicates.link.v0 import link_pb2
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2

PROVENANCE = "https://slsa.dev/provenance/v1"
LINK = "https://in-toto.io/attestation/link/v0.3"
SHA = "a" * 64


def subject(name="app", digest=True):
    rd = rdpb.ResourceDescriptor()
    rd.name = name
    if digest:
        rd.digest["sha256"] = SHA
    return rd


def statement(subjects, ptype, predicate):
    st = stpb.Statement()
    st.type = "https://in-toto.io/Statement/v1"
    st.subject.extend(subjects)
    st.predicate_type = ptype
    if predicate is not None:
        st.predicate.update(predicate)
    return st


def refused_by_bindings(st):
    """The bindings' Statement.validate() must refuse it."""
    try:
        Statement.copy_from_pb(st).validate()
    except ValueError:
        return
    raise SystemExit("the bindings accept a case meant to be malformed")


def descriptor_refused(rd):
    try:
        ResourceDescriptor.copy_from_pb(rd).validate()
    except ValueError:
        return
    raise SystemExit("the bindings accept a descriptor meant to be malformed")


def provenance(build_type=True, external=True, builder_id=True, deps=()):
    p = provenance_pb2.Provenance()
    if build_type:
        p.build_definition.build_type = "https://example.invalid/build/v1"
    if external:
        p.build_definition.external_parameters.update({"step": "build"})
    p.build_definition.resolved_dependencies.extend(deps)
    if builder_id:
        p.run_details.builder.id = "https://ci.example/runner"
    else:
        p.run_details.builder.version["intact"] = "0.1.0"
    return json_format.MessageToDict(p)


def link(name=True, materials=()):
    p = link_pb2.Link()
    if name:
        p.name = "build"
    p.command.extend(["make"])
    p.materials.extend(materials)
    return json_format.MessageToDict(p)


def cases():
    """(name, Statement message, literal JSON or None)."""
    out = []

    st = statement([subject()], "https://example.com/p/v1", {"k": "v"})
    st.type = "https://in-toto.io/Statement/v0.1"
    refused_by_bindings(st)
    out.append(("wrong-statement-type", st, None))

    st = statement([], "https://example.com/p/v1", {"k": "v"})
    refused_by_bindings(st)
    lit = json_format.MessageToDict(st)
    lit["subject"] = []
    out.append(("no-subject", st, lit))

    st = statement([rdpb.ResourceDescriptor()], "https://example.com/p/v1", {"k": "v"})
    refused_by_bindings(st)
    lit = json_format.MessageToDict(st)
    lit["subject"] = [{"digest": {}}]
    out.append(("subject-without-digest", st, lit))

    st = statement([subject()], "", {"k": "v"})
    refused_by_bindings(st)
    lit = json_format.MessageToDict(st)
    lit["predicateType"] = ""
    out.append(("no-predicate-type", st, lit))

    st = statement([subject()], "https://example.com/p/v1", None)
    refused_by_bindings(st)
    lit = json_format.MessageToDict(st)
    lit["predicate"] = {}
    out.append(("no-predicate", st, lit))

    rd = rdpb.ResourceDescriptor()
    rd.download_location = "https://example.com/test.zip"
    rd.media_type = "application/zip"
    descriptor_refused(rd)
    st = statement([rd], "https://example.com/p/v1", {"k": "v"})
    refused_by_bindings(st)
    out.append(("subject-without-required-fields", st, None))

    rd = rdpb.ResourceDescriptor()
    rd.name = ""
    rd.download_location = "https://example.com/test.zip"
    descriptor_refused(rd)
    lit_rd = {"name": "", "downloadLocation": "https://example.com/test.zip"}
    st = statement([rd], "https://example.com/p/v1", {"k": "v"})
    refused_by_bindings(st)
    lit = json_format.MessageToDict(st)
    lit["subject"] = [lit_rd]
    out.append(("subject-with-only-an-empty-name", st, lit))

    # A subject whose digest is not what its algorithm makes.
    rd = subject()
    rd.digest["sha256"] = "abc123"
    st = statement([rd], "https://example.com/p/v1", {"k": "v"})
    out.append(("subject-digest-not-sha256", st, None))

    # SLSA Provenance v1: buildType, externalParameters, builder.id required.
    for name, pred in [
        ("provenance-without-build-type", provenance(build_type=False)),
        ("provenance-without-external-parameters", provenance(external=False)),
        ("provenance-without-builder-id", provenance(builder_id=False)),
    ]:
        out.append((name, statement([subject()], PROVENANCE, pred), None))
    bad = rdpb.ResourceDescriptor()
    bad.media_type = "text/plain"
    descriptor_refused(bad)
    out.append(
        (
            "provenance-dependency-without-required-fields",
            statement([subject()], PROVENANCE, provenance(deps=[bad])),
            None,
        )
    )
    pred = provenance()
    pred["runDetails"]["bulider"] = {"id": "https://evil.example"}
    out.append(("provenance-unknown-member", statement([subject()], PROVENANCE, pred), None))

    # The link predicate: a name is required, materials are descriptors.
    out.append(("link-without-name", statement([subject()], LINK, link(name=False)), None))
    out.append(
        (
            "link-material-without-required-fields",
            statement([subject()], LINK, link(materials=[bad])),
            None,
        )
    )
    return out


def sign(signer, obj, path):
    payload = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    env = Envelope(payload, "application/vnd.in-toto+json", {})
    env.sign(signer)
    with open(path, "w") as f:
        json.dump(env.to_dict(), f)


def main():
    with open(sys.argv[1], "rb") as f:
        signer = CryptoSigner(load_pem_private_key(f.read(), None))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, st, literal in cases():
        sign(signer, json_format.MessageToDict(st), os.path.join(out, name + ".intoto.json"))
        print(name)
        if literal is not None:
            sign(signer, literal, os.path.join(out, name + "-literal.intoto.json"))
            print(name + "-literal")


if __name__ == "__main__":
    main()
