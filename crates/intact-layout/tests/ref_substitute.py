"""Substitute layout parameters with the in-toto reference implementation.

Usage: ref_substitute.py LAYOUT PARAMETERS_JSON

Loads LAYOUT (signatures are not checked), applies
in_toto.verifylib.substitute_parameters with the parameters in the JSON
object PARAMETERS_JSON, and prints the canonical bytes the reference would
sign for the result (as text). If substitution raises, prints
"error: <exception class>" and exits with status 3.
"""

import json
import sys

from in_toto.models.metadata import Metadata
from in_toto.verifylib import substitute_parameters


def main(argv):
    layout = Metadata.load(argv[0]).get_payload()
    with open(argv[1], encoding="utf-8") as fp:
        parameters = json.load(fp)
    try:
        substitute_parameters(layout, parameters)
    except Exception as e:  # noqa: BLE001 - the class is what we compare
        print(f"error: {type(e).__name__}")
        sys.exit(3)
    sys.stdout.write(layout.signable_bytes.decode("utf-8"))


if __name__ == "__main__":
    main(sys.argv[1:])
