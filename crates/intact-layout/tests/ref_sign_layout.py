"""Sign a layout's payload afresh with the in-toto reference implementation.

Usage: ref_sign_layout.py LAYOUT OUT PRIVATE_PEM...

Loads LAYOUT, puts its payload into a new, unsigned container of the same
kind (Metablock, or DSSE envelope via Envelope.from_signable), signs it with
each PKCS#8 key in order with in_toto's CryptoSigner, and writes OUT the way
in-toto's tools do. With ed25519 keys the result is deterministic, so it can
be compared byte for byte with what intact wrote.
"""

import sys

from in_toto.models._signer import load_crypto_signer_from_pkcs8_file
from in_toto.models.metadata import Envelope, Metablock, Metadata


def main(argv):
    source, out, keys = argv[0], argv[1], argv[2:]
    loaded = Metadata.load(source)
    payload = loaded.get_payload()
    if isinstance(loaded, Envelope):
        fresh = Envelope.from_signable(payload)
    else:
        fresh = Metablock(signed=payload)
    for path in keys:
        fresh.create_signature(load_crypto_signer_from_pkcs8_file(path))
    fresh.dump(out)


if __name__ == "__main__":
    main(sys.argv[1:])
