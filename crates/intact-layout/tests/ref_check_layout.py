"""Load and verify a signed layout with the in-toto reference implementation.

Usage: ref_check_layout.py LAYOUT OWNER_PUB... [--functionary PUB]...

Loads LAYOUT with in_toto's Metadata.load (a Metablock or a DSSE envelope),
verifies the signature of every OWNER_PUB (SubjectPublicKeyInfo PEM) as
in-toto-verify does, validates the layout, and checks that the key dict of
every --functionary key is embedded exactly as in-toto computes it (beside
intact's x-intact-name member). Prints a
JSON object with the container class and the canonical bytes the reference
signs for the layout (as text). Any failure raises, so the exit status is
non-zero.
"""

import json
import sys

from in_toto.models._signer import load_public_key_from_file
from in_toto.models.layout import Layout
from in_toto.models.metadata import Metadata


def main(argv):
    layout_path = None
    owners = []
    functionaries = []
    args = iter(argv)
    for arg in args:
        if arg == "--functionary":
            functionaries.append(next(args))
        elif layout_path is None:
            layout_path = arg
        else:
            owners.append(arg)

    metadata = Metadata.load(layout_path)
    for path in owners:
        metadata.verify_signature(load_public_key_from_file(path))
    layout = metadata.get_payload()
    if not isinstance(layout, Layout):
        raise SystemExit(f"{layout_path}: not a layout")
    layout.validate()
    for path in functionaries:
        key = load_public_key_from_file(path)
        # intact's key name rides beside the key; the reference keeps it
        # (and hashes it as loaded) but it is no part of the key itself.
        embedded = dict(layout.keys.get(key["keyid"]) or {})
        embedded.pop("x-intact-name", None)
        if embedded != key:
            raise SystemExit(
                f"{path}: layout embeds {embedded!r}, in-toto computes {key!r}"
            )
    json.dump(
        {
            "container": type(metadata).__name__,
            "signable": layout.signable_bytes.decode("utf-8"),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
