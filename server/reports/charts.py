"""Small SVG charts for PDF reports (WeasyPrint draws SVG natively, as vectors).

Every piece of text is XML-escaped: labels are section titles, which come from files
and users. Use the result through svg_data_url() in an <img>, so templates never need
`|safe`.
"""

from __future__ import annotations

import base64
import unicodedata
from xml.sax.saxutils import escape, quoteattr

from server.core.i18n import format_pct

WIDTH = 520
LABEL_WIDTH = 180
VALUE_WIDTH = 46
ROW_HEIGHT = 20
LINE_HEIGHT = 12  # each further line of a wrapped label
MAX_LINES = 4  # a label longer still ends with an ellipsis
BAR_HEIGHT = 12
TOP = 16  # room for the threshold label
FONT = "'Noto Sans CJK SC', 'Noto Sans CJK', 'Noto Sans', sans-serif"
FONT_SIZE = 10
PASS, FAIL, NEUTRAL, GRID, MUTED = "#1e7b34", "#b3261e", "#0b5cad", "#d8dde3", "#5d6873"


def _char_width(char: str) -> float:
    """Rough advance width in ems: wide (CJK) characters take a full em."""
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.56


def fit_label(label: str, max_px: float, font_size: float = FONT_SIZE) -> str:
    """Shorten a label with an ellipsis so it fits `max_px` at `font_size`."""
    label = " ".join(label.split())
    budget = max_px / font_size
    if sum(_char_width(c) for c in label) <= budget:
        return label
    used, kept = 1.0, []  # keep an em for the ellipsis
    for char in label:
        used += _char_width(char)
        if used > budget:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def wrap_label(label: str, max_px: float, font_size: float = FONT_SIZE,
               max_lines: int = MAX_LINES) -> list[str]:
    """A label's lines, each fitting `max_px`: broken between words, and inside a word
    (or between CJK characters) only when one alone is too wide. Past `max_lines` the
    last line ends with an ellipsis."""
    budget = max_px / font_size
    lines: list[str] = []
    line, used = "", 0.0
    for word in " ".join(label.split()).split(" "):
        width = sum(_char_width(c) for c in word)
        space = _char_width(" ") if line else 0.0
        if line and used + space + width <= budget:
            line, used = f"{line} {word}", used + space + width
            continue
        if line:
            lines.append(line)
            line, used = "", 0.0
        for char in word:  # a word wider than the line, or CJK text without spaces
            if used + _char_width(char) > budget and line:
                lines.append(line)
                line, used = "", 0.0
            line, used = line + char, used + _char_width(char)
    if line or not lines:
        lines.append(line)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], fit_label(" ".join(lines[max_lines - 1:]), max_px,
                                                    font_size)]
    return lines


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def bar_chart_svg(rows: list[tuple[str, float | None]], threshold: float | None) -> str:
    """A horizontal bar chart of percentages (0-100), one bar per (label, value).

    Bars at or above `threshold` are green, below it red (blue without a threshold);
    a dashed line marks the threshold. A value of None draws no bar and shows "—".
    """
    plot_left = LABEL_WIDTH + 8
    plot_width = WIDTH - plot_left - VALUE_WIDTH
    wrapped = [wrap_label(label, LABEL_WIDTH) for label, _value in rows]
    heights = [ROW_HEIGHT + LINE_HEIGHT * (len(lines) - 1) for lines in wrapped]
    axis_y = TOP + sum(heights) if rows else TOP + ROW_HEIGHT
    height = axis_y + 16

    def x_of(value: float) -> float:
        return plot_left + plot_width * _clamp(value) / 100

    font = quoteattr(FONT)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family={font} font-size="{FONT_SIZE}">'
    ]
    # scale: 0, 25, 50, 75, 100
    for tick in (0, 25, 50, 75, 100):
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 2}" x2="{x:.1f}" y2="{axis_y}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 11}" text-anchor="middle" fill="{MUTED}" '
            f'font-size="8">{escape(format_pct(tick))}</text>'
        )
    y = TOP
    for (_label, value), lines, row_height in zip(rows, wrapped, heights, strict=True):
        middle = y + row_height / 2 + FONT_SIZE * 0.35
        first = middle - LINE_HEIGHT * (len(lines) - 1) / 2
        for number, line in enumerate(lines):
            parts.append(
                f'<text x="{LABEL_WIDTH}" y="{first + number * LINE_HEIGHT:.1f}" '
                f'text-anchor="end" fill="#1d2329">{escape(line)}</text>'
            )
        if value is None:
            text, text_x = "—", plot_left + 4
        else:
            colour = NEUTRAL if threshold is None else PASS if value >= threshold else FAIL
            bar_width = max(x_of(value) - plot_left, 0.8)
            parts.append(
                f'<rect x="{plot_left}" y="{y + (row_height - BAR_HEIGHT) / 2:.1f}" '
                f'width="{bar_width:.1f}" height="{BAR_HEIGHT}" fill="{colour}" rx="1.5"/>'
            )
            text, text_x = format_pct(value), x_of(value) + 4
        parts.append(
            f'<text x="{text_x:.1f}" y="{middle:.1f}" fill="#1d2329">{escape(text)}</text>'
        )
        y += row_height
    if threshold is not None:
        x = x_of(threshold)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#1d2329" '
            f'stroke-width="1" stroke-dasharray="3 2"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{TOP - 6}" text-anchor="middle" fill="#1d2329" '
            f'font-size="8">{escape(format_pct(threshold))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_data_url(svg: str) -> str:
    """A data: URL for an SVG string, for <img src> in a report."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
