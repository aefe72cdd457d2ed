"""Generate the interop fixtures under tests/fixtures/ with the reference.

Run with the venv from setup-venv.sh:

    $(bash tests/interop/setup-venv.sh) tests/interop/gen_fixtures.py

Everything under tests/fixtures/{keys,canonical,vectors,reference} is
rewritten. Keys are random (fresh on each run); everything else is derived
deterministically from the keys and fixed seeds. Never edit the output by
hand: change this script and regenerate.
"""

import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, SSlibKey

from in_toto.models._signer import load_crypto_signer_from_pkcs8_file
from in_toto.models.layout import Inspection, Layout, Step
from in_toto.models.link import Link
from in_toto.models.metadata import Envelope, Metablock

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "fixtures")
PASSWORD = b"hunter2"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def fresh(name):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


# -- keys -------------------------------------------------------------------

def gen_keys():
    d = fresh("keys")
    makers = {
        "ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
        "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
        "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    }
    index = {}
    for name, make in makers.items():
        key = make()
        plain = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        enc = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD),
        )
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        write(os.path.join(d, name + ".pem"), plain)
        write(os.path.join(d, name + ".enc.pem"), enc)
        write(os.path.join(d, name + ".pub"), pub)
        sslib = SSlibKey.from_crypto(key.public_key())
        index[name] = {"keyid": sslib.keyid, "key": sslib.to_dict()}
    write(os.path.join(d, "keys.json"), json.dumps(index, indent=1, sort_keys=True))
    return index


def signer(name):
    return load_crypto_signer_from_pkcs8_file(os.path.join(OUT, "keys", name + ".pem"))


# -- canonical JSON corpus ---------------------------------------------------

ALPHABET = (
    ["a", "b", "A", "z", "0", " ", "/", "\"", "\\", "\x7f", "\u00e9", "\u00ff",
     "\u0100", "\u20ac", "\uff01", "\ud7ff", "\ue000", "\U0001F600", "\U0010FFFF"]
    + [chr(c) for c in range(0x20)]
)
KEYS = ["a", "A", "b", "_type", "\u00e9", "\uff01", "\U0001F600", "a\x00", "aa", "", "Z"]


def rand_str(rng, n=8):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, n)))


def rand_value(rng, depth=0):
    kinds = ["str", "int", "bool", "null"] + (["list", "dict"] * 2 if depth < 4 else [])
    k = rng.choice(kinds)
    if k == "str":
        return rand_str(rng)
    if k == "int":
        return rng.choice([0, 1, -1, 2**31, -(2**31), 2**53 + 1, 2**63 - 1, -(2**63), rng.randint(-10**6, 10**6)])
    if k == "bool":
        return rng.choice([True, False])
    if k == "null":
        return None
    if k == "list":
        return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        rng.choice(KEYS + [rand_str(rng, 3)]): rand_value(rng, depth + 1)
        for _ in range(rng.randint(0, 5))
    }


def gen_canonical():
    d = fresh("canonical")
    rng = random.Random(20261124)
    values = [
        {"b": [1, True, None, "x\"y\\z\n\t\u00e9"], "a": {}, "A": -5, "\u00e9": 0, "z": "\x00"},
        {"a": 1, "\uff01": 2, "\U0001F600": 3},
        [],
        {},
        "",
    ] + [rand_value(rng) for _ in range(300)]
    corpus = []
    for v in values:
        corpus.append({
            "json": json.dumps(v),
            "canonical_b64": b64(encode_canonical(v).encode("utf-8")),
            "pretty_b64": b64(json.dumps(v, indent=1, separators=(",", ": "), sort_keys=True).encode()),
            "oneline_b64": b64(json.dumps(v, sort_keys=True).encode()),
        })
    write(os.path.join(d, "corpus.json"), json.dumps(corpus, indent=1))
    rejects = ["1.0", "[1e3]", "{\"a\": [0.5]}", "-0.0"]
    for r in rejects:
        try:
            encode_canonical(json.loads(r))
        except Exception:
            continue
        raise SystemExit(f"encode_canonical accepted {r}")
    write(os.path.join(d, "rejects.json"), json.dumps(rejects))


# -- deterministic vectors ---------------------------------------------------

VECTOR_LINK = dict(
    name="write-code",
    command=["touch", "foo.py"],
    byproducts={"stdout": "h\u00e9llo\n", "stderr": "", "return-value": 0},
    products={"foo.py": {"sha256": "74dc3727c6e89308b39e4dfedf787e37841198b1fa165a27c013544a60502549"}},
    materials={},
    environment={},
)
SPEC_SIG = "760091acf1bb8bf37c584fdc862117f8978e477fff6a90324c6487dae875cbf2d866caf96c9c2f090efb6d6d864991e4828530bf68f571655ed95814c92a4200"
SPEC_DSSE_SIG = "GxyDs4r0veFONKd86r6ri436gQPaES1YlfgiO9bSyjSKasGL2fm6Q07CmZJuKikv45rxXSdLUz7tEUL5jzccAQ=="


def upstream_pems(dest):
    tmp = tempfile.mkdtemp()
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", ":all:", "in-toto==3.1.0", "-d", tmp],
        check=True,
    )
    sdist = [f for f in os.listdir(tmp) if f.endswith(".tar.gz")][0]
    with tarfile.open(os.path.join(tmp, sdist)) as tar:
        for member in tar.getmembers():
            for src, out in (("ed25519_private_unencrypted.pem", "upstream-ed25519.pem"),
                             ("ed25519_public.pem", "upstream-ed25519.pub")):
                if member.name.endswith("tests/pems/" + src):
                    write(os.path.join(dest, out), tar.extractfile(member).read())
    shutil.rmtree(tmp)


def vector_for(pem_path):
    s = load_crypto_signer_from_pkcs8_file(pem_path)
    link = Link(**VECTOR_LINK)
    mb = Metablock(signed=link)
    sig = mb.create_signature(s)
    env = Envelope.from_signable(link)
    env.create_signature(s)
    return {
        "keyid": s.public_key.keyid,
        "canonical_b64": b64(link.signable_bytes),
        "metablock_sig": sig.signature,
        "dsse_payload_b64": b64(env.payload),
        "pae_b64": b64(env.pae()),
        "dsse_sig_b64": env.to_dict()["signatures"][0]["sig"],
    }


def gen_vectors():
    d = fresh("vectors")
    upstream_pems(d)
    out = {"link": VECTOR_LINK, "keys": {}}
    for name, path in (("upstream-ed25519", os.path.join(d, "upstream-ed25519.pem")),
                       ("ed25519", os.path.join(OUT, "keys", "ed25519.pem"))):
        out["keys"][name] = vector_for(path)
    up = out["keys"]["upstream-ed25519"]
    assert up["keyid"] == "c6d8bf2e4f48b41ac2ce8eca21415ca8ef68c133b47fc33df03d4070a7e1e9cc", up["keyid"]
    assert up["metablock_sig"] == SPEC_SIG, up["metablock_sig"]
    assert up["dsse_sig_b64"] == SPEC_DSSE_SIG, up["dsse_sig_b64"]
    write(os.path.join(d, "vectors.json"), json.dumps(out, indent=1, sort_keys=True))


# -- metadata written by the reference ---------------------------------------

def sample_link(rng, name="build"):
    return Link(
        name=name,
        command=["make", "-j2", "all"],
        materials={"src/m\u00e4in.c": {"sha256": "%064x" % rng.getrandbits(256)},
                   "README": {"sha256": "%064x" % rng.getrandbits(256)}},
        products={"out/app": {"sha256": "%064x" % rng.getrandbits(256)}},
        byproducts={"stdout": "ok \u2713\n\ttab\x01", "stderr": "", "return-value": 0},
        environment={"workdir": "/tmp/w\u00f6rk"},
    )


def sample_layout():
    layout = Layout()
    layout.set_relative_expiration(days=1)
    layout.expires = "2030-01-01T00:00:00Z"
    layout.readme = "D\u00e9mo layout \u2014 intact interop"
    k1 = layout.add_functionary_key_from_path(os.path.join(OUT, "keys", "ed25519.pub"))
    k2 = layout.add_functionary_key_from_path(os.path.join(OUT, "keys", "rsa.pub"))
    clone = Step(name="clone")
    clone.pubkeys = [k1["keyid"]]
    clone.expected_command = ["git", "clone", "https://example.com/demo.git"]
    clone.add_product_rule_from_string("CREATE demo-project/foo.py")
    clone.add_product_rule_from_string("DISALLOW *")
    build = Step(name="build")
    build.pubkeys = [k1["keyid"], k2["keyid"]]
    build.threshold = 2
    build.add_material_rule_from_string("MATCH foo.py IN demo-project WITH PRODUCTS IN demo-project FROM clone")
    build.add_material_rule_from_string("DELETE old/*")
    build.add_material_rule_from_string("DISALLOW *")
    build.add_product_rule_from_string("MODIFY demo-project/*")
    build.add_product_rule_from_string("CREATE 'demo project.tar.gz'")
    build.add_product_rule_from_string("ALLOW demo-project/*")
    build.add_product_rule_from_string("REQUIRE demo-project/foo.py")
    untar = Inspection(name="untar")
    untar.run = ["tar", "xzf", "demo-project.tar.gz"]
    untar.add_material_rule_from_string("MATCH demo-project.tar.gz WITH PRODUCTS FROM build")
    untar.add_product_rule_from_string("MATCH foo.py IN demo-project WITH PRODUCTS IN demo-project FROM clone")
    layout.steps = [clone, build]
    layout.inspect = [untar]
    return layout


def sign_both(payload, key_name, stem, d, index):
    s = signer(key_name)
    for container in ("metablock", "dsse"):
        md = Metablock(signed=payload) if container == "metablock" else Envelope.from_signable(payload)
        md.create_signature(s)
        fname = f"{stem}.{key_name}.{container}.{payload.type_}"
        md.dump(os.path.join(d, fname))
        index.append({"file": fname, "kind": payload.type_, "container": container,
                      "key": key_name, "keyid": s.public_key.keyid})


def random_link(rng, i):
    names = ["a", "b/c", "d\u00e9j\u00e0/vu", "\U0001F600.txt", "sp ace", "q\"uote", "back\\slash"]
    arts = lambda: {rng.choice(names) + str(rng.randint(0, 9)): {"sha256": "%064x" % rng.getrandbits(256)}
                    for _ in range(rng.randint(0, 5))}
    return Link(
        name=f"step-{i}",
        command=[rand_str(rng, 5) for _ in range(rng.randint(0, 3))],
        materials=arts(),
        products=arts(),
        byproducts={"stdout": rand_str(rng, 20), "stderr": rand_str(rng, 5), "return-value": rng.randint(-9, 9)},
        environment={"k": rand_value(rng, 2), rand_str(rng, 3): rand_str(rng)} if rng.random() < 0.5 else {},
    )


def gen_reference():
    d = fresh("reference")
    rng = random.Random(7)
    index = []
    for key_name in ("ed25519", "rsa", "ecdsa-p256", "ecdsa-p384"):
        sign_both(sample_link(rng), key_name, "link", d, index)
        sign_both(sample_layout(), key_name, "layout", d, index)
    rt = os.path.join(d, "roundtrip")
    os.makedirs(rt)
    for i in range(30):
        sign_both(random_link(rng, i), "ed25519", f"roundtrip/r{i:02}", d, index)
    write(os.path.join(d, "index.json"), json.dumps(index, indent=1))


if __name__ == "__main__":
    gen_keys()
    gen_canonical()
    gen_vectors()
    gen_reference()
    print("fixtures written to", OUT)
