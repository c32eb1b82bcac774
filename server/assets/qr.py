"""QR codes of assets: an absolute URL any phone camera opens, as PNG or SVG.

Error correction level H (about 30 % of the code may be lost) so a scratched or dirty
label still scans. Both images are drawn straight from the module matrix: the SVG is
one path (crisp at any print size), the PNG a nearest-neighbour scale of a greyscale
image. The matrix comes from the `qrcode` package built once (mask 0); the best of the
eight masks is then chosen here on bit rows, which keeps 500 labels within seconds.
"""

from __future__ import annotations

import html
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import qrcode
import qrcode.util as qrcode_util
from PIL import Image
from qrcode.constants import ERROR_CORRECT_H

QUIET_ZONE = 4  # modules of white border the QR specification asks for


def asset_url(base_url: str, code: str) -> str:
    """What the code encodes: <AUDITRAIL_BASE_URL>/a/<code>."""
    return f"{base_url.rstrip('/')}/a/{quote(code, safe='')}"


@dataclass(frozen=True)
class _Layout:
    """Per QR version: which modules hold data, the format-information area, and for
    each of the eight masks its pattern (over data modules) and its format bits.
    Rows are ints, bit n-1-c for column c."""

    size: int
    masks: tuple[tuple[int, ...], ...]
    format_area: tuple[int, ...]
    format_bits: tuple[tuple[int, ...], ...]


_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _row_ints(modules: list[list[bool | None]], pick: Any = None) -> tuple[int, ...]:
    if pick is None:  # plain booleans: convert in C
        return tuple(int(bytes(row).translate(_DIGITS), 2) for row in modules)
    return tuple(int("".join("1" if pick(cell) else "0" for cell in row), 2) for row in modules)


@lru_cache(maxsize=64)
def _layout(version: int) -> _Layout:
    probe: Any = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_H)
    n = probe.modules_count = version * 4 + 17
    probe.modules = [[None] * n for _ in range(n)]
    probe.setup_position_probe_pattern(0, 0)
    probe.setup_position_probe_pattern(n - 7, 0)
    probe.setup_position_probe_pattern(0, n - 7)
    probe.setup_position_adjust_pattern()
    probe.setup_timing_pattern()
    before_format = [row[:] for row in probe.modules]
    probe.setup_type_info(True, 0)
    format_cells = [
        [was is None and now is not None for was, now in zip(r0, r1, strict=True)]
        for r0, r1 in zip(before_format, probe.modules, strict=True)
    ]
    if version >= 7:
        probe.setup_type_number(True)  # fixed for the version, whatever the mask
    data = [[cell is None for cell in row] for row in probe.modules]
    masks = []
    format_bits = []
    for k in range(8):
        fn = qrcode_util.mask_func(k)
        pattern = [[data[r][c] and bool(fn(r, c)) for c in range(n)] for r in range(n)]
        masks.append(_row_ints(pattern, bool))
        probe.modules = [[None] * n for _ in range(n)]
        probe.setup_type_info(False, k)
        format_bits.append(_row_ints(probe.modules, lambda cell: cell is True))
    fmt_area = _row_ints(format_cells, bool)
    # the dark module beside the format area is set True for every mask: not ours to vary
    return _Layout(
        n,
        tuple(masks),
        fmt_area,
        tuple(
            tuple(bits & area for bits, area in zip(fb, fmt_area, strict=True))
            for fb in format_bits
        ),
    )


_FINDER_LIKE = ("10111010000", "00001011101")


def penalty(rows: Sequence[int], n: int) -> int:
    """The QR specification's mask penalty (runs, 2x2 blocks, finder look-alikes, balance),
    on rows as ints: bit tricks instead of a Python loop over every module."""
    lines = [format(r, f"0{n}b") for r in rows]
    columns = ["".join(column) for column in zip(*lines, strict=True)]
    text = ",".join(lines) + "," + ",".join(columns)  # commas keep patterns within lines
    score = 40 * sum(text.count(pattern) for pattern in _FINDER_LIKE)
    low = (1 << (n - 1)) - 1
    for a in itertools.chain(rows, (int(c, 2) for c in columns)):
        same = ~(a ^ (a >> 1)) & low  # bit i: module i equals module i+1
        # bit i: modules i..i+4 alike; a run of L >= 5 gives L-4 such bits and scores L-2
        five = same & (same >> 1) & (same >> 2) & (same >> 3)
        score += five.bit_count() + 2 * (five & ~(five >> 1)).bit_count()
    for a, b in itertools.pairwise(rows):
        score += 3 * (~(a ^ b) & ~(a ^ (a >> 1)) & ~(b ^ (b >> 1)) & low).bit_count()
    dark = sum(r.bit_count() for r in rows)
    score += 10 * (abs(dark * 100 // (n * n) - 50) // 5)
    return score


def masked_rows(rows0: Sequence[int], layout: _Layout, k: int) -> list[int]:
    """The symbol with mask k, derived from the same symbol built with mask 0."""
    m0, mk, area, bits = layout.masks[0], layout.masks[k], layout.format_area, layout.format_bits[k]
    return [((r ^ m0[i] ^ mk[i]) & ~area[i]) | bits[i] for i, r in enumerate(rows0)]


@lru_cache(maxsize=4096)
def matrix(data: str) -> tuple[str, ...]:
    """The rows of modules ("1" = dark), quiet zone included.

    Built once with mask 0, then the best of the eight masks is picked by the standard
    penalty, computed on bit rows: the same choice the specification asks for, several
    times faster than rebuilding the symbol for each mask (which label sheets feel).
    """
    code: Any = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0, mask_pattern=0)
    code.add_data(data)
    code.make(fit=True)
    layout = _layout(code.version)
    rows0 = _row_ints(code.modules)
    candidates = [masked_rows(rows0, layout, k) for k in range(8)]
    best = min(candidates, key=lambda rows: penalty(rows, layout.size))
    n = layout.size
    blank = "0" * (n + 2 * QUIET_ZONE)
    margin = "0" * QUIET_ZONE
    body = tuple(margin + format(r, f"0{n}b") + margin for r in best)
    return (blank,) * QUIET_ZONE + body + (blank,) * QUIET_ZONE


_DARK_RUNS = re.compile(r"1+")
GREY = bytes.maketrans(b"01", b"\xff\x00")  # module rows -> greyscale pixels


def svg(data: str, *, size: str | None = None, title: str = "") -> str:
    """An SVG document; `size` (e.g. "30mm") sets width and height, else it scales."""
    modules = matrix(data)
    n = len(modules)
    path = [
        f"M{run.start()} {y}h{run.end() - run.start()}v1h{run.start() - run.end()}z"
        for y, row in enumerate(modules)
        for run in _DARK_RUNS.finditer(row)
    ]
    dims = f' width="{size}" height="{size}"' if size else ""
    label = f"<title>{_xml(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}"{dims}'
        f' shape-rendering="crispEdges" role="img">{label}'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(path)}"/></svg>'
    )


def png(data: str, *, scale: int = 10) -> bytes:
    """A PNG with `scale` pixels per module, black on white.

    Greyscale rather than 1-bit: PDF renderers embed it as it is instead of converting
    it to RGB first. With scale=1 (one pixel per module) it is tiny, and drawn without
    smoothing it prints as sharp as a vector.
    """
    modules = matrix(data)
    n = len(modules)
    image = Image.frombytes("L", (n, n), "".join(modules).encode("ascii").translate(GREY))
    if scale > 1:
        image = image.resize((n * scale, n * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _xml(text: str) -> str:
    return html.escape(text, quote=True)
