"""Write tests/fixtures/fnmatch.json: (pattern, name, expected) triples
decided by CPython's fnmatch.fnmatchcase (the reference's matcher on POSIX).

    python3 crates/intact-rules/tests/gen_fnmatch_corpus.py
"""
import fnmatch
import itertools
import json
import os
import random

PATTERNS = [
    "*", "*.py", "src/*", "a?c", "a*c", "[abc]", "[!abc]", "[^a]", "[]a]", "[!]a]",
    "[z-a]", "[a-c-e]", "[a-]", "[-a]", "[!-a]", "[\\]", "[", "a[b", "[*]", "[?]", "[[]",
    "[!]", "[]", "[!a-c]", "[a-cx-z]", "[&&]", "[~~]", "[||]", "a\\*", "(a|b)*", ".{2}",
    "$x", "^x", "**", "*/*", "?", "??", "*a*b*", "[\u00e9-\u00ff]", "\U0001F600*",
    "[bz-ab]", "[a-a]", "[%-/]", "*\n*", "[!\n]", "a]b", "[a]]", "x[!]]y",
]
NAMES = [
    "", "a", "b", "c", "d", "-", "]", "[", "!", "^", "\\", "*", "?", "&", "~", "|", "x",
    "abc", "a/c", "a.py", "src/a/b.py", ".hidden", "a\nc", "\n", "\u00e9", "\u00ff",
    "\U0001F600.txt", "a\\xyz", "(a|b)x", "ab", "aab", "a[b", "a]b", "x]y", "xy", "%", "/",
    "a]]", "z", "y",
]


def main():
    rng = random.Random(5)
    triples = [(p, n, fnmatch.fnmatchcase(n, p)) for p, n in itertools.product(PATTERNS, NAMES)]
    alphabet = "ab*?[]!-/\\^\n"
    for _ in range(300):
        p = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        n = "".join(rng.choice("ab-/\\^]![*?\n") for _ in range(rng.randint(0, 5)))
        triples.append((p, n, fnmatch.fnmatchcase(n, p)))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "fnmatch.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(triples, f, ensure_ascii=True, indent=0)


if __name__ == "__main__":
    main()
