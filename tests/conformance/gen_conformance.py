"""Write the verifier conformance scenarios, with the reference's verdicts.

    python tests/conformance/gen_conformance.py [SCENARIO ...]   (the reference venv's python; names only those)

Each scenario directory under tests/fixtures/conformance/ holds a signed
root layout, public keys and links written with the in-toto 3.1.0 APIs,
plus scenario.json: the layout keys and parameters to verify with, the
verdict of `in-toto-verify` (run here, on a copy), and the step and rule
a failure must name. tests/conformance.rs runs intact on every scenario
and runs in-toto-verify again, so both verifiers are compared live.
"""
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from in_toto.models._signer import load_crypto_signer_from_pkcs8_file
from in_toto.models.layout import Inspection, Layout, Step
from in_toto.models.link import Link
from in_toto.models.metadata import Envelope, Metablock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = os.path.join(ROOT, "tests", "fixtures", "keys")
OUT = os.path.join(ROOT, "tests", "fixtures", "conformance")

# Who is who: the owner signs layouts, functionaries sign links.
OWNER, FUNC, FUNC2 = "ed25519", "ecdsa-p256", "ecdsa-p384"


def signer(name):
    return load_crypto_signer_from_pkcs8_file(os.path.join(KEYS, name + ".pem"))


def sha(text):
    return {"sha256": hashlib.sha256(text.encode()).hexdigest()}


SOURCES = {"src/main.c": sha("int main(void) { return 0; }\n"), "src/util.c": sha("int util;\n")}
APP = {"app.bin": sha("\x7fELF app")}


class Chain:
    """A two-step chain, clone -> build, that scenarios adjust."""

    def __init__(self, d):
        self.d = d
        self.layout = Layout()
        self.layout.expires = "2099-01-01T00:00:00Z"
        self.keyids = {}
        for name in (FUNC, FUNC2, "rsa"):
            shutil.copy(os.path.join(KEYS, name + ".pub"), d)
        for name in (FUNC, FUNC2, "rsa"):
            self.keyids[name] = self.layout.add_functionary_key_from_path(
                os.path.join(d, name + ".pub"))["keyid"]
        clone = Step(name="clone")
        clone.pubkeys = [self.keyids[FUNC]]
        clone.expected_command = ["git", "clone", "https://example.com/app.git"]
        clone.add_product_rule_from_string("CREATE src/*")
        clone.add_product_rule_from_string("DISALLOW *")
        build = Step(name="build")
        build.pubkeys = [self.keyids[FUNC]]
        build.expected_command = ["cc", "-o", "app.bin", "src/main.c", "src/util.c"]
        build.add_material_rule_from_string("MATCH src/* WITH PRODUCTS FROM clone")
        build.add_material_rule_from_string("DISALLOW *")
        build.add_product_rule_from_string("CREATE app.bin")
        build.add_product_rule_from_string("DISALLOW *")
        self.layout.steps = [clone, build]
        self.links = {
            "clone": Link(name="clone", command=list(clone.expected_command),
                          materials={}, products=dict(SOURCES)),
            "build": Link(name="build", command=list(build.expected_command),
                          materials=dict(SOURCES), products=dict(APP)),
        }

    def step(self, name):
        return next(s for s in self.layout.steps if s.name == name)

    def write_link(self, link, key=FUNC, dsse=False, file_key=None, where=None):
        keyid = self.keyids.get(file_key or key)
        md = Envelope.from_signable(link) if dsse else Metablock(signed=link)
        md.create_signature(signer(key))
        path = os.path.join(where or self.d, "%s.%s.link" % (link.name, keyid[:8]))
        md.dump(path)

    def write(self, owner=OWNER, dsse=False, link_dsse=(), skip=()):
        for name, link in self.links.items():
            if name not in skip:
                self.write_link(link, dsse=name in link_dsse)
        shutil.copy(os.path.join(KEYS, owner + ".pub"), os.path.join(self.d, "owner.pub"))
        md = Envelope.from_signable(self.layout) if dsse else Metablock(signed=self.layout)
        md.create_signature(signer(owner))
        md.dump(os.path.join(self.d, "root.layout"))


def valid_metablock(c):
    c.write()


def valid_dsse(c):
    c.write(dsse=True, link_dsse=("clone", "build"))


def mixed_containers(c):
    c.write(link_dsse=("clone",))


def tampered_artifact(c):
    c.links["build"].materials["src/main.c"] = sha("int main(void) { evil(); }\n")
    c.write()
    return {"step": "build", "rule": "DISALLOW *"}


def expired_layout(c):
    c.layout.expires = "2020-01-01T00:00:00Z"
    c.write()
    return {"stage": "layout-expiry"}


def unauthorised_key(c):
    # Signed by FUNC2, filed under FUNC's keyid: its signature does not verify.
    c.write(skip=("build",))
    c.write_link(c.links["build"], key=FUNC2, file_key=FUNC)
    return {"step": "build", "stage": "link-signatures"}


def threshold_not_met(c):
    b = c.step("build")
    b.pubkeys = [c.keyids[FUNC], c.keyids[FUNC2]]
    b.threshold = 2
    c.write()
    return {"step": "build"}


def threshold_met(c):
    b = c.step("build")
    b.pubkeys = [c.keyids[FUNC], c.keyids[FUNC2]]
    b.threshold = 2
    c.write()
    c.write_link(c.links["build"], key=FUNC2)


def sublayout(c):
    # The build functionary delegates: a sublayout with one step, compile,
    # performed by FUNC2; its links go in build.<keyid8>/.
    sub = Layout()
    sub.expires = "2099-01-01T00:00:00Z"
    sub.add_functionary_key_from_path(os.path.join(c.d, FUNC2 + ".pub"))
    compile_ = Step(name="compile")
    compile_.pubkeys = [c.keyids[FUNC2]]
    compile_.expected_command = ["cc", "-o", "app.bin", "src/main.c", "src/util.c"]
    compile_.add_product_rule_from_string("CREATE app.bin")
    sub.steps = [compile_]
    c.write(skip=("build",))
    md = Metablock(signed=sub)
    md.create_signature(signer(FUNC))
    md.dump(os.path.join(c.d, "build.%s.link" % c.keyids[FUNC][:8]))
    subdir = os.path.join(c.d, "build.%s" % c.keyids[FUNC][:8])
    os.makedirs(subdir)
    link = Link(name="compile", command=list(compile_.expected_command),
                materials=dict(SOURCES), products=dict(APP))
    c.write_link(link, key=FUNC2, where=subdir)


def sublayout_tampered(c):
    sublayout(c)
    subdir = os.path.join(c.d, "build.%s" % c.keyids[FUNC][:8])
    os.remove(os.path.join(subdir, "compile.%s.link" % c.keyids[FUNC2][:8]))
    link = Link(name="compile", command=[], materials={"src/main.c": sha("evil")},
                products=dict(APP))
    c.write_link(link, key=FUNC2, where=subdir)
    return {"step": "build", "rule": "DISALLOW *"}


def rsa_keys(c):
    for s in c.layout.steps:
        s.pubkeys = [c.keyids["rsa"]]
    for link in c.links.values():
        c.write_link(link, key="rsa")
    c.write(skip=("clone", "build"))


def ecdsa_keys(c):
    c.write(owner=FUNC2)
    return {"layout_keys": ["owner.pub"]}


def disallow(c):
    c.links["clone"].products["credentials.txt"] = sha("token")
    c.write()
    return {"step": "clone", "rule": "DISALLOW *"}


def layout_altered(c):
    c.write()
    path = os.path.join(c.d, "root.layout")
    with open(path) as f:
        doc = json.load(f)
    doc["signed"]["steps"][1]["expected_products"][0] = ["CREATE", "backdoor.bin"]
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    return {"stage": "layout-signatures"}


def match_in_prefixes(c, tamper=False):
    # clone records checkout/src/...; build records src/...
    c.links["clone"].products = {"checkout/" + k: v for k, v in SOURCES.items()}
    clone, build = c.step("clone"), c.step("build")
    clone.expected_products = [["CREATE", "checkout/src/*"], ["DISALLOW", "*"]]
    build.expected_materials = [
        ["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "IN", "checkout/src", "FROM", "clone"],
        ["DISALLOW", "*"],
    ]
    if tamper:
        c.links["build"].materials["src/util.c"] = sha("int util = 666;\n")
    c.write()
    if tamper:
        return {"step": "build", "rule": "DISALLOW *"}
    return None


def match_in_prefixes_tampered(c):
    return match_in_prefixes(c, tamper=True)


def parameters(c):
    c.step("build").expected_materials = [
        ["MATCH", "{SRC}/*", "WITH", "PRODUCTS", "FROM", "clone"], ["DISALLOW", "*"]]
    c.step("build").expected_command = ["{CC}", "-o", "app.bin", "src/main.c", "src/util.c"]
    c.write()
    return {"params": {"SRC": "src", "CC": "cc"}}


def parameter_missing(c):
    # Without values the reference leaves the placeholders as text and
    # fails at DISALLOW *; intact fails earlier, at the parameters stage,
    # naming the missing --param (docs/verify-report.md, parameter-missing).
    parameters(c)
    return {"stage": "parameters"}


def inspection_passes(c):
    insp = Inspection(name="check-app")
    insp.run = ["true"]
    insp.add_material_rule_from_string("MATCH app.bin WITH PRODUCTS FROM build")
    insp.add_material_rule_from_string("DISALLOW app.bin")
    insp.add_material_rule_from_string("ALLOW *")
    c.layout.inspect = [insp]
    with open(os.path.join(c.d, "app.bin"), "w") as f:
        f.write("\x7fELF app")
    c.write()


def inspection_finds_a_swapped_file(c):
    inspection_passes(c)
    with open(os.path.join(c.d, "app.bin"), "w") as f:
        f.write("\x7fELF evil")
    return {"step": "check-app", "rule": "DISALLOW app.bin"}


def failing_inspection(c):
    insp = Inspection(name="untar")
    insp.run = ["false"]
    c.layout.inspect = [insp]
    c.write()
    return {"step": "untar", "stage": "inspections"}


def wrong_layout_key(c):
    c.write()
    return {"layout_keys": [FUNC + ".pub"], "stage": "layout-signatures"}


def missing_link(c):
    c.write(skip=("clone",))
    return {"step": "clone", "stage": "links"}


SCENARIOS = [
    valid_metablock, valid_dsse, mixed_containers, tampered_artifact, expired_layout,
    unauthorised_key, threshold_not_met, threshold_met, sublayout, sublayout_tampered,
    rsa_keys, ecdsa_keys, disallow, layout_altered, match_in_prefixes,
    match_in_prefixes_tampered, parameters, parameter_missing, inspection_passes,
    inspection_finds_a_swapped_file, failing_inspection, wrong_layout_key, missing_link,
]


def reference_verdict(d):
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "s")
        shutil.copytree(d, work)
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "ref_verify.py"), work]
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = [l for l in p.stderr.splitlines() if "(in-toto-verify)" in l]
        return p.returncode, (lines[-1] if lines else "").split("(in-toto-verify) ", 1)[-1]


def main():
    # With scenario names as arguments only those are made again (the
    # others keep their bytes: RSA and ECDSA signatures are randomised).
    only = set(sys.argv[1:])
    if not only:
        shutil.rmtree(OUT, ignore_errors=True)
    for fn in SCENARIOS:
        name = fn.__name__.replace("_", "-")
        if only and name not in only:
            continue
        d = os.path.join(OUT, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        c = Chain(d)
        expect = fn(c) or {}
        layout_keys = expect.pop("layout_keys", ["owner.pub"])
        params = expect.pop("params", {})
        scenario = {"layout_keys": layout_keys, "params": params}
        with open(os.path.join(d, "scenario.json"), "w") as f:
            json.dump(scenario, f)
        code, message = reference_verdict(d)
        scenario["reference"] = {"exit": code, "message": message}
        scenario["failure"] = expect if code != 0 else None
        if code != 0 and "rule" in expect:
            assert expect["rule"] in message, \
                "%s: the reference's reason %r does not name %s" % (name, message, expect["rule"])
        with open(os.path.join(d, "scenario.json"), "w") as f:
            json.dump(scenario, f, indent=1, sort_keys=True)
            f.write("\n")
        print("%-34s in-toto-verify exit %d  %s" % (name, code, message[:90]))


if __name__ == "__main__":
    main()
