"""Ask the in-toto reference questions on behalf of the Rust interop tests.

    refcheck.py verify-sigs FILE PUB...   every key must have a valid signature
    refcheck.py keyid PUB                 modern keyid of an SPKI PEM file
    refcheck.py dump FILE OUT             load and write back as the reference does

Exit codes: 0 ok, 1 a signature does not verify, 2 the input is unusable.
"""

import sys

from in_toto.models._signer import load_public_key_from_file
from in_toto.models.metadata import Metadata


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "keyid":
            print(load_public_key_from_file(args[0])["keyid"])
            return 0
        md = Metadata.load(args[0])
        if cmd == "dump":
            md.dump(args[1])
            return 0
        if cmd != "verify-sigs":
            print(f"unknown command {cmd}", file=sys.stderr)
            return 2
        keys = [load_public_key_from_file(p) for p in args[1:]]
    except Exception as e:  # the reference raises many types; all mean unusable
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 2
    for key in keys:
        try:
            md.verify_signature(key)
        except Exception as e:
            print(f"{key['keyid']}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    md.get_payload()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
