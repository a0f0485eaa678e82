"""Headless Chromium for the page tests: a screenshot, the rendered DOM, the console log.

Every run gets its own profile directory and switches off everything that would reach the
network on its own (component updates, sync, background networking, QUIC), so the only thing
loaded is the file itself.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio"]
TIMEOUT = 120


def find_chromium() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run([chromium, *QUIET, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def screenshot(chromium: str, page: Path, png: Path, profile: Path,
               size: str = "1400,900") -> subprocess.CompletedProcess:
    return _run(chromium, profile, f"--screenshot={png}", f"--window-size={size}",
                page.resolve().as_uri())


def dump_dom(chromium: str, page: Path, profile: Path) -> tuple[str, str]:
    """The DOM after rendering, and the browser's log (console messages included)."""
    done = _run(chromium, profile, "--enable-logging=stderr", "--v=0", "--dump-dom",
                page.resolve().as_uri())
    return done.stdout, done.stderr


def console_errors(log: str) -> list[str]:
    """Console messages, uncaught exceptions and refused loads (CSP) in Chromium's log."""
    markers = ("CONSOLE", "Uncaught", "Refused to", "net::ERR_")
    return [line for line in log.splitlines() if any(m in line for m in markers)]


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    colours: int  # distinct colours in the sampled rows
    inked: float  # fraction of sampled pixels that differ from the top-left pixel


def read_png(data: bytes, sample_every: int = 7) -> Picture:
    """Decode an 8-bit RGB/RGBA PNG with zlib alone and summarise every `sample_every`-th row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, [], b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6), f"unexpected PNG format {depth}/{colour_type}"
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    previous = bytearray(stride)
    colours: set[bytes] = set()
    background = b""
    inked = sampled = 0
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous,
                        bpp)
        if y == 0:
            background = bytes(row[:3])
        if y % sample_every == 0:
            for x in range(0, stride, bpp):
                pixel = bytes(row[x:x + 3])
                colours.add(pixel)
                inked += pixel != background
                sampled += 1
        previous = row
    return Picture(width, height, len(colours), inked / max(1, sampled))


def _unfilter(kind: int, row: bytearray, prev: bytearray, bpp: int) -> bytearray:
    if kind == 0:
        return row
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, prev))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        else:  # 4: Paeth
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + predictor) & 0xFF
    return row
