"""The reference's verdict on one conformance scenario directory.

    python ref_verify.py DIR        (exit 0 verified, 1 failed; reason on stderr)

Runs the real `in-toto-verify` CLI in DIR with the scenario's layout keys.
That CLI has no option for layout parameters, so a scenario with
parameters runs the same code as the CLI's main() (in_toto_verify.py),
passing them as `substitution_parameters`, which the library supports.
"""
import json
import os
import subprocess
import sys

from in_toto import verifylib
from in_toto.models._signer import load_public_key_from_file
from in_toto.models.metadata import Metadata


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "scenario.json")) as f:
        scenario = json.load(f)
    keys, params = scenario["layout_keys"], scenario["params"]
    if not params:
        cli = os.path.join(os.path.dirname(sys.executable), "in-toto-verify")
        p = subprocess.run([cli, "--layout", "root.layout", "--verification-keys", *keys],
                           cwd=d, check=False)
        sys.exit(p.returncode)
    os.chdir(d)
    try:
        layout = Metadata.load("root.layout")
        key_dict = {}
        for path in keys:
            key = load_public_key_from_file(path)
            key_dict[key["keyid"]] = key
        verifylib.in_toto_verify(layout, key_dict, ".", substitution_parameters=params)
    except Exception as e:  # noqa: BLE001 (as the CLI does)
        print("(in-toto-verify) %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
