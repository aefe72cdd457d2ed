#!/usr/bin/env bash
# The HTML verification report in a real browser (issue 16 item 5): build
# the demo chain, render its HTML report for a pass (the released package)
# and a failure (the tampered package), take a screenshot of each with the
# distribution's headless Chromium, and check that the page rendered: the
# HTML holds the <svg> of the chain, each PNG is far from blank, the pass
# shows green and the failure shows red (the failed step's node).
#
# Usage: scripts/html-screenshot.sh [INTACT] [OUT_DIR]
#   INTACT   the intact binary (default: target/debug/intact)
#   OUT_DIR  where pass.html, fail.html, pass.png and fail.png go
#            (default: a new temporary directory, printed)
#
# Installs Debian's `chromium` package when no Chromium is found (as root,
# quietly; a second run finds it and installs nothing).
#
# Exit codes: 0 rendered and checked; 1 a check failed; 3 Chromium is
# missing and cannot be installed (no root, no apt-get, or no network):
# the Rust test (crates/intact-cli/tests/html_report.rs) skips on 3 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

intact=$(realpath "${1:-target/debug/intact}")
out=${2:-$(mktemp -d)}
mkdir -p "$out"
out=$(realpath "$out")

find_chromium() {
    local c
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

if ! browser=$(find_chromium); then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "html-screenshot: no Chromium, and no root apt-get to install it" >&2
        exit 3
    fi
    log="$out/apt.log"
    export DEBIAN_FRONTEND=noninteractive
    # Bounded: a mirror that stalls must not hang CI.
    if ! timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends chromium >"$log" 2>&1; then
        # The package lists may be missing or stale.
        if ! { timeout 300 apt-get update -qq >>"$log" 2>&1 &&
            timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends chromium >>"$log" 2>&1; }; then
            echo "html-screenshot: cannot install chromium (see $log):" >&2
            tail -n 5 "$log" >&2
            exit 3
        fi
    fi
    browser=$(find_chromium) || {
        echo "html-screenshot: chromium installed but not on PATH" >&2
        exit 3
    }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$intact" demo --dir "$work/d" >"$work/demo.log" 2>&1 || {
    echo "html-screenshot: intact demo failed:" >&2
    tail -n 20 "$work/demo.log" >&2
    exit 1
}

# A consumer holding the package verifies it from the artifact, in a fresh
# directory with the layout, the owner's key and the package: the demo's
# final/ holds the released package, tampered/ the swapped one.
report() { # DEMO_DIR OUTPUT EXPECTED_EXIT
    local rc=0 dir="$work/consumer-$1"
    mkdir "$dir"
    cp "$work/d/$1"/{root.layout,alice.pub,demo-project.tar.gz} "$dir/"
    (cd "$dir" && "$intact" verify --layout root.layout --layout-key alice.pub \
        --link-dir "$work/d/work" --artifact demo-project.tar.gz --format html) >"$2" || rc=$?
    if [ "$rc" != "$3" ]; then
        echo "html-screenshot: verify of $1/demo-project.tar.gz exited $rc, expected $3" >&2
        exit 1
    fi
}
report final "$out/pass.html" 0
report tampered "$out/fail.html" 1

shoot() { # HTML PNG
    rm -f "$2"
    # --no-sandbox: Chromium refuses to run as root with its sandbox.
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --disable-dev-shm-usage --user-data-dir="$work/profile" \
        --window-size=1200,900 --screenshot="$2" "file://$1" >"$work/chromium.log" 2>&1 || true
    if [ ! -s "$2" ]; then
        echo "html-screenshot: chromium wrote no screenshot of $1:" >&2
        tail -n 20 "$work/chromium.log" >&2
        exit 1
    fi
}
shoot "$out/pass.html" "$out/pass.png"
shoot "$out/fail.html" "$out/fail.png"

for page in pass fail; do
    if ! grep -q '<svg' "$out/$page.html"; then
        echo "html-screenshot: $page.html has no <svg>" >&2
        exit 1
    fi
done

# Decode the PNGs with the standard library only (zlib) and look at them.
python3 - "$out/pass.png" "$out/fail.png" <<'PY'
import struct, sys, zlib

def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit(f"{path}: unexpected PNG format {ihdr}")
    bpp = 4 if ctype == 6 else 3
    raw, stride, prev, rows, i = zlib.decompress(idat), width * bpp, bytearray(width * bpp), [], 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [tuple(r[x:x + 3]) for r in rows for x in range(0, stride, bpp)]

def check(path, want):
    w, h, px = pixels(path)
    distinct = len(set(px))
    red = sum(1 for r, g, b in px if r > 150 and g < 90 and b < 90)
    green = sum(1 for r, g, b in px if g > 90 and r < 120 and b < 80 and g > r + 30)
    ink = sum(1 for r, g, b in px if r + g + b < 300)
    print(f"{path}: {w}x{h}, {distinct} distinct colours, {ink} dark, {red} red, {green} green pixels")
    if distinct < 50 or ink < 2000:
        sys.exit(f"{path}: looks blank")
    if want == "red" and red < 200:
        sys.exit(f"{path}: no red (the failed stage is not marked)")
    if want == "green" and green < 200:
        sys.exit(f"{path}: no green (the verdict is not shown)")

check(sys.argv[1], "green")
check(sys.argv[2], "red")
PY
echo "html-screenshot: OK ($out)"
