#!/usr/bin/env python3
"""Regenerate fuzz/seeds/<target>/ from the repository's fixtures.

Every seed comes from a committed fixture (tests/fixtures, layouts/,
examples/, the fnmatch corpus) or is computed from one here; none is
written by hand. Deterministic: ed25519 and PKCS#1 signatures have no
randomness, so re-running gives the same files. Needs python3 and
ssh-keygen (OpenSSH), nothing else.

    python3 fuzz/make-seeds.py
"""

import base64
import json
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
FIX = ROOT / "tests" / "fixtures"
REF = FIX / "reference"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def read(path):
    return Path(path).read_bytes()


def smallest(pattern, n):
    files = sorted(REF.glob(pattern), key=lambda p: (p.stat().st_size, p.name))
    return files[:n]


# --- OpenSSH key and sshsig from the ed25519 fixture key ------------------

def der_tail(pem, n):
    body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    return base64.b64decode(body)[-n:]


def sshstr(b):
    return struct.pack(">I", len(b)) + b


def openssh_keys():
    """The fixture ed25519 key as an OpenSSH private key file and public line."""
    seed = der_tail((FIX / "keys" / "ed25519.pem").read_text(), 32)
    pub = der_tail((FIX / "keys" / "ed25519.pub").read_text(), 32)
    blob = sshstr(b"ssh-ed25519") + sshstr(pub)
    private = struct.pack(">II", 0x1D5EED, 0x1D5EED) + blob + sshstr(seed + pub) + sshstr(b"fuzz")
    private += bytes(range(1, 1 + (-len(private)) % 8))
    body = (b"openssh-key-v1\0" + sshstr(b"none") + sshstr(b"none") + sshstr(b"")
            + struct.pack(">I", 1) + sshstr(blob) + sshstr(private))
    b64 = base64.b64encode(body).decode()
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    pem += "".join(b64[i:i + 70] + "\n" for i in range(0, len(b64), 70))
    pem += "-----END OPENSSH PRIVATE KEY-----\n"
    return pem, "ssh-ed25519 " + base64.b64encode(blob).decode()


def sshsig(private_pem, data, namespace):
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "key"
        key.write_text(private_pem)
        key.chmod(0o600)
        msg = Path(tmp) / "msg"
        msg.write_bytes(data)
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key), str(msg)],
                       check=True, capture_output=True)
        return (Path(tmp) / "msg.sig").read_bytes()


# --- targets --------------------------------------------------------------

def json_strict():
    corpus = json.loads(read(FIX / "canonical" / "corpus.json"))
    for i, case in enumerate(corpus[:10]):
        write("json_strict", f"corpus{i:02}.json", case["json"])
    for i, text in enumerate(json.loads(read(FIX / "canonical" / "rejects.json"))):
        write("json_strict", f"reject{i:02}.json", text)
    # A duplicate key, made from the first corpus object's first member.
    obj = corpus[0]["json"]
    first = obj[1:obj.index("], ") + 1]
    write("json_strict", "duplicate.json", "{" + first + ", " + obj[1:])


def links():
    metablock = smallest("roundtrip/*.metablock.link", 2) + [REF / "link.ed25519.metablock.link"]
    dsse = smallest("roundtrip/*.dsse.link", 1) + [REF / "link.ed25519.dsse.link"]
    for p in metablock + dsse:
        write("link_fast_vs_generic", p.name, read(p))
    # Keys out of canonical order and no whitespace: the teed parser declines.
    v = json.loads(read(REF / "link.ed25519.metablock.link"))
    reordered = {"signed": dict(reversed(list(v["signed"].items()))), "signatures": v["signatures"]}
    write("link_fast_vs_generic", "reordered.link", json.dumps(reordered, separators=(",", ":")))


def dsse():
    for p in smallest("roundtrip/*.dsse.link", 2) + [REF / "layout.ed25519.dsse.layout"]:
        write("dsse_envelope", p.name, read(p))
    vectors = json.loads(read(FIX / "vectors" / "vectors.json"))["keys"]["ed25519"]
    payload = base64.b64decode(vectors["dsse_payload_b64"])
    write("dsse_envelope", "pae-split", b"application/vnd.in-toto+json\0" + payload)
    env = {"payload": vectors["dsse_payload_b64"], "payloadType": "application/vnd.in-toto+json",
           "signatures": [{"keyid": vectors["keyid"], "sig": vectors["dsse_sig_b64"]}]}
    write("dsse_envelope", "vector.dsse", json.dumps(env, sort_keys=True))


RULE = re.compile(r"^\s*-\s+((?:MATCH|CREATE|DELETE|MODIFY|ALLOW|DISALLOW|REQUIRE)\b.*)$", re.M)


def rules():
    found = []
    for y in sorted((ROOT / "layouts").glob("*.yaml")) + sorted((ROOT / "examples").glob("*/layout.yaml")):
        for r in RULE.findall(y.read_text()):
            if r not in found:
                found.append(r)
    cases = json.loads(read(ROOT / "crates" / "intact-rules" / "tests" / "fixtures" / "fnmatch.json"))
    patterns = []
    for pat, _name, _hit in cases:
        if pat not in patterns:
            patterns.append(pat)
    names = [n for _p, n, _h in cases[:40] if "\n" not in n]
    for i, r in enumerate(found[:8]):
        write("rule_parse", f"rule{i:02}", "\n".join([r] + names[i * 4:i * 4 + 6]) + "\n")
    for i, p in enumerate(patterns[:24:3]):
        if "\n" not in p:
            write("rule_parse", f"pattern{i:02}", "\n".join([f"ALLOW {json.dumps(p)}", p] + names[:6]) + "\n")
    write("rule_parse", "tokens", "\0".join(["MATCH", "src/*", "IN", "a", "WITH", "PRODUCTS", "IN", "b", "FROM", "clone"]))
    write("rule_parse", "json", json.dumps(["MATCH", "*", "WITH", "MATERIALS", "FROM", "x"]))


def strip_comments(text):
    return "".join(l for l in text.splitlines(keepends=True) if not l.lstrip().startswith("#"))


def layouts(ssh_pub):
    keyfile = re.compile(r"\bkeys/\w+\.pub\b")
    for y in [ROOT / "layouts" / "demo.yaml", ROOT / "examples" / "ci" / "layout.yaml",
              ROOT / "examples" / "git-provenance" / "layout.yaml"]:
        text = strip_comments(y.read_text())
        # The git signer is an OpenSSH key: give the line itself.
        text = re.sub(r"(- \S+@\S+) keys/\w+\.pub", lambda m: f"{m.group(1)} {ssh_pub}", text)
        # Key files resolve against tests/fixtures/keys.
        text = keyfile.sub("ed25519.pub", text)
        write("layout_yaml", y.parent.name + "-" + y.name, text)
    write("layout_yaml", "signed.layout", read(REF / "layout.ed25519.metablock.layout"))


def signers(private_pem, ssh_pub):
    commit = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@x> 0 +0000\ncommitter a <a@x> 0 +0000\n\nsigned\n"
    sig = sshsig(private_pem, commit, "git")
    write("allowed_signers", "commit", b"alice@example.com " + ssh_pub.encode() + b" alice\n\0" + sig + b"\0" + commit)
    write("allowed_signers", "namespaces",
          b"# comment\nbob@example.com namespaces=\"git,file\" " + ssh_pub.encode() + b"\n\0" + sig + b"\0" + commit)
    write("allowed_signers", "wrong-namespace",
          b"alice " + ssh_pub.encode() + b"\n\0" + sshsig(private_pem, commit, "file") + b"\0" + commit)
    tag = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger a <a@x> 0 +0000\n\nv1\n"
    write("allowed_signers", "tag", b"alice " + ssh_pub.encode() + b"\n\0\0" + tag + sshsig(private_pem, tag, "git"))


def canonical():
    for p in [REF / "link.ed25519.metablock.link", REF / "link.ed25519.dsse.link",
              REF / "layout.ed25519.metablock.layout"]:
        write("canonical_roundtrip", p.name, read(p))


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    private_pem, ssh_pub = openssh_keys()
    json_strict()
    links()
    dsse()
    rules()
    layouts(ssh_pub)
    signers(private_pem, ssh_pub)
    canonical()
    for d in sorted(SEEDS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
