"""Helpers shared by the postier-dash integration tests (stdlib only)."""
import itertools
import math
import os
import shutil
import socket
import subprocess
import struct
import tempfile
import time
import zlib

import postier_test

DASH = postier_test.binary("dashboards/postier-dash")
HERE = os.path.dirname(os.path.abspath(__file__))
# librrd and the font stack keep caches LeakSanitizer calls leaks (ASan build)
os.environ["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % os.path.join(
    HERE, "lsan.supp")
if os.environ.get("ASAN_OPTIONS"):
    # librrd has no frame pointers: slow unwinding so that its frames show
    # and the suppressions match
    os.environ["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"


def run_dash(*args, timeout=120, check=None):
    """Runs postier-dash; returns CompletedProcess (text)."""
    p = subprocess.run([DASH] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError("postier-dash %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def closed_port():
    """A port nothing listens on (bound then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(rrd, start, end, step=1, daemon=None):
    """rrdtool fetch AVERAGE -> (names, [(t, {name: value or None})])."""
    cmd = ["rrdtool", "fetch", rrd, "AVERAGE", "-r", str(step),
           "-s", str(int(start)), "-e", str(int(end))]
    if daemon:
        cmd[2:2] = ["--daemon", daemon]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         timeout=30).stdout
    lines = [l for l in out.splitlines() if l.strip()]
    names = lines[0].split()
    rows = []
    for l in lines[1:]:
        t, vals = l.split(":", 1)
        d = {}
        for n, v in zip(names, vals.split()):
            f = float(v)
            d[n] = None if math.isnan(f) else f
        rows.append((int(t), d))
    return names, rows


# --- PNG decoding (stdlib zlib) for the "not blank" checks ---------------

def png_layout(path):
    """-> (colour type, set of the rows' filter bytes) of an 8-bit PNG (PNG
    spec 11.2.2 IHDR, 9.2: each inflated row starts with its filter type)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat = 8, b""
    while pos < len(data):
        ln, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        pos += 12 + ln
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = 1 + w * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype] * depth // 8
    if len(raw) != h * stride:
        raise ValueError("%s: %d bytes of rows, want %d" % (path, len(raw), h * stride))
    return ctype, {raw[y * stride] for y in range(h)}


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA/grey/palette PNG -> (w, h, [(r,g,b), ...])."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, palette = 8, b"", None
    w = h = depth = ctype = None
    while pos < len(data):
        ln, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        pos += 12 + ln
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace != 0:
                raise ValueError("%s: unsupported PNG depth %d/interlace" % (path, depth))
        elif kind == b"PLTE":
            palette = [tuple(body[i:i + 3]) for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    lo7 = int.from_bytes(b"\x7f" * stride, "big")
    hi1 = int.from_bytes(b"\x80" * stride, "big")
    prev = bytes(stride)
    out = bytearray()
    i = 0
    for _ in range(h):
        f = raw[i]
        line = raw[i + 1:i + 1 + stride]
        i += 1 + stride
        if f == 0:
            cur = bytes(line)
        elif f == 2:
            # bytewise (line + prev) mod 256 on big integers: no carries
            a = int.from_bytes(line, "big")
            b = int.from_bytes(prev, "big")
            cur = (((a & lo7) + (b & lo7)) ^ ((a ^ b) & hi1)).to_bytes(stride, "big")
        elif f == 1:
            buf = bytearray(line)
            for c in range(bpp):
                buf[c::bpp] = bytes(itertools.accumulate(
                    buf[c::bpp], lambda x, y: (x + y) & 255))
            cur = bytes(buf)
        else:
            buf = bytearray(line)
            for x in range(stride):
                a = buf[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                if f == 3:
                    buf[x] = (buf[x] + (a + b) // 2) & 255
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    buf[x] = (buf[x] + pr) & 255
            cur = bytes(buf)
        out += cur
        prev = cur
    if ctype == 2:
        pixels = list(zip(out[0::3], out[1::3], out[2::3]))
    elif ctype == 6:
        pixels = list(zip(out[0::4], out[1::4], out[2::4]))
    elif ctype == 3:
        pixels = [palette[v] for v in out]
    elif ctype == 0:
        pixels = [(v, v, v) for v in out]
    else:
        pixels = [(v, v, v) for v in out[0::2]]
    return w, h, pixels


# Series colours of each graph (dashboards/dash_layout.c and dash_report.c).
GRAPH_COLOURS = {
    "messages": ["#7fb3e6", "#1b7a2f"],
    "bytes": ["#7fb3e6", "#1b7a2f"],
    "queue": ["#e0a040"],
    "queue_age": ["#b03a2e"],
    "sessions": ["#4e79a7", "#f28e2b", "#76b7b2"],
    "auth_failures": ["#4e79a7", "#f28e2b", "#af2f8f"],
    "delivery_latency": ["#2ca02c", "#ff7f0e", "#d62728"],
    "tls_share": ["#1f4e9f", "#4e79a7"],
    "ha_state": ["#1f4e9f", "#f3d88c"],
    "rate": ["#1f4e9f", "#2ca02c"],
    "latency": ["#2ca02c", "#d62728", "#9467bd"],
    "errors": ["#d62728"],
}
# A legend swatch is well under this many pixels; a drawn series far above.
MIN_SERIES_PIXELS = 300


def png_stats(path, colours):
    """-> (width, height, grey-level variance, most pixels of one series colour)."""
    w, h, px = png_pixels(path)
    n = len(px)
    grey = [(r * 299 + g * 587 + b * 114) / 1000 for r, g, b in px]
    mean = sum(grey) / n
    var = sum((x - mean) ** 2 for x in grey) / n
    want = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours]
    counts = {c: 0 for c in want}
    for p in px:
        if p in counts:
            counts[p] += 1
    return w, h, var, max(counts.values()) if counts else 0


def graph_id(path):
    """messages-day.png -> messages; rate.png -> rate."""
    base = os.path.basename(path)[:-4]
    for period in ("-day", "-week", "-month", "-year"):
        if base.endswith(period):
            return base[:-len(period)]
    return base


def graph_is_blank(path):
    """-> (blank?, why). Not blank: a real PNG with contrast (variance) and
    at least one of its series drawn over MIN_SERIES_PIXELS pixels."""
    colours = GRAPH_COLOURS.get(graph_id(path), [])
    w, h, var, most = png_stats(path, colours)
    if var <= 10.0:
        return True, "flat image (grey variance %.1f)" % var
    if most < MIN_SERIES_PIXELS:
        return True, "no series drawn (%d pixels of its colours)" % most
    return False, "%dx%d variance %.0f series pixels %d" % (w, h, var, most)


def assert_graph_not_blank(tc, path):
    blank, why = graph_is_blank(path)
    tc.assertFalse(blank, "%s: %s" % (path, why))


class TempDir:
    def __init__(self, prefix="postier-dash-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("POSTIER_KEEP_TMP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# --- headless Chromium ----------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--hide-scrollbars",
]

# Loads the page in an iframe of the given width and lists every <img> with
# its load result and the page's scroll width (a phone-sized screen must not
# scroll sideways). Needs --allow-file-access-from-files to read the frame.
CHECK_HTML = """<!doctype html><html><body><pre id="out">PENDING</pre>
<iframe id="f" src="%(src)s" width="%(width)d" height="900"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var out = [];
  try {
    var d = this.contentDocument;
    var imgs = d.getElementsByTagName('img');
    for (var i = 0; i < imgs.length; i++) {
      var im = imgs[i];
      out.push((im.complete && im.naturalWidth > 0 ? 'IMG-OK ' : 'IMG-FAILED ') +
               im.getAttribute('src'));
    }
    var links = d.getElementsByTagName('link');
    out.push('LINKS ' + links.length);
    out.push('IMAGES ' + imgs.length);
    out.push('SCROLLWIDTH ' + d.documentElement.scrollWidth);
    out.push('TITLE ' + d.title);
  } catch (e) { out.push('ERROR ' + e); }
  document.getElementById('out').textContent = out.join('\\n');
});
</script></body></html>
"""


def chromium(args, timeout=90):
    profile = tempfile.mkdtemp(prefix="postier-chromium-")
    try:
        return subprocess.run(["chromium"] + CHROMIUM_FLAGS +
                              ["--user-data-dir=" + profile] + args,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def browser_check(page, width=390):
    """Loads page (a file path) in headless Chromium inside a frame `width`
    pixels wide. -> dict(ok=[src], failed=[src], images=N, scroll_width=N,
    title=str, error=str|None)."""
    d = os.path.dirname(os.path.abspath(page))
    check = os.path.join(d, ".check-%d.html" % os.getpid())
    with open(check, "w") as f:
        f.write(CHECK_HTML % {"src": os.path.basename(page), "width": width})
    try:
        p = chromium(["--allow-file-access-from-files", "--virtual-time-budget=15000",
                      "--dump-dom", "file://" + check])
    finally:
        os.unlink(check)
    res = {"ok": [], "failed": [], "images": -1, "scroll_width": -1,
           "title": "", "error": None}
    text = p.stdout
    if '<pre id="out">' not in text:
        res["error"] = "no DOM dumped: %s" % p.stderr[-2000:]
        return res
    body = text.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    body = body.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    for line in body.splitlines():
        if line.startswith("IMG-OK "):
            res["ok"].append(line[7:])
        elif line.startswith("IMG-FAILED "):
            res["failed"].append(line[11:])
        elif line.startswith("IMAGES "):
            res["images"] = int(line[7:])
        elif line.startswith("SCROLLWIDTH "):
            res["scroll_width"] = int(line[12:])
        elif line.startswith("TITLE "):
            res["title"] = line[6:]
        elif line.startswith("ERROR ") or line == "PENDING":
            res["error"] = line
    return res


def screenshot(page, out_png, width, height):
    """Screenshot of page (file path) at width x height into out_png."""
    os.makedirs(os.path.dirname(out_png), exist_ok=True)
    p = chromium(["--window-size=%d,%d" % (width, height),
                  "--screenshot=" + out_png, "file://" + os.path.abspath(page)])
    if p.returncode != 0 or not os.path.exists(out_png):
        raise AssertionError("chromium screenshot of %s failed: %s" % (page, p.stderr[-2000:]))
    return out_png


def artifacts_dir(*parts):
    """Where screenshots are kept as CI artefacts (under the build dir)."""
    d = os.path.join(postier_test.BUILD_DIR, "artifacts", "dashboards", *parts)
    os.makedirs(d, exist_ok=True)
    return d


def screenshot_is_blank(path):
    w, h, px = png_pixels(path)
    grey = [(r * 299 + g * 587 + b * 114) / 1000 for r, g, b in px[::7]]
    mean = sum(grey) / len(grey)
    var = sum((x - mean) ** 2 for x in grey) / len(grey)
    return var < 20.0, var
