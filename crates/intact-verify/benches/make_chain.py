"""Write a 3-step supply chain with N artifacts per link, signed with the
reference, for the verifier benchmark:

    python make_chain.py OUT_DIR N

OUT_DIR gets owner.{pem,pub}, func.{pem,pub}, root.layout and the links
s1, s2, s3. Step s2 and s3 take every product of the previous step
unchanged: `MATCH * WITH PRODUCTS FROM <previous>` then `DISALLOW *`.
"""
import hashlib
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from in_toto.models._signer import load_crypto_signer_from_pkcs8_file
from in_toto.models.layout import Layout, Step
from in_toto.models.link import Link
from in_toto.models.metadata import Metablock


def keypair(out, name):
    key = ed25519.Ed25519PrivateKey.generate()
    with open(os.path.join(out, name + ".pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(out, name + ".pub"), "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return load_crypto_signer_from_pkcs8_file(os.path.join(out, name + ".pem"))


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    owner, func = keypair(out, "owner"), keypair(out, "func")
    artifacts = {
        "src/d%03d/f%06d.c" % (i % 1000, i): {"sha256": hashlib.sha256(b"%d" % i).hexdigest()}
        for i in range(n)
    }
    layout = Layout()
    layout.expires = "2099-01-01T00:00:00Z"
    key = layout.add_functionary_key_from_path(os.path.join(out, "func.pub"))
    steps = []
    for i, name in enumerate(["s1", "s2", "s3"]):
        step = Step(name=name)
        step.pubkeys = [key["keyid"]]
        if i > 0:
            step.add_material_rule_from_string("MATCH * WITH PRODUCTS FROM s%d" % i)
            step.add_material_rule_from_string("DISALLOW *")
        steps.append(step)
        link = Link(name=name, materials={} if i == 0 else artifacts, products=artifacts)
        mb = Metablock(signed=link)
        mb.create_signature(func)
        mb.dump(os.path.join(out, "%s.%s.link" % (name, key["keyid"][:8])))
    layout.steps = steps
    mb = Metablock(signed=layout)
    mb.create_signature(owner)
    mb.dump(os.path.join(out, "root.layout"))


if __name__ == "__main__":
    main()
