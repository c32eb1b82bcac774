"""Geometry for the dashboard's server-rendered SVG charts (no JavaScript, no
inline styles: the page's CSP forbids both, SVG attributes are fine)."""

from __future__ import annotations

from typing import Any

SEVERITY_COLOURS = {"major": "#b3261e", "minor": "#d08a1c", "observation": "#5d87b8"}


def share(value: float, largest: float) -> float:
    """value as a percentage of the largest, for a bar's width (0-100)."""
    if largest <= 0 or value <= 0:
        return 0.0
    return round(min(100.0, 100.0 * value / largest), 2)


def bars(rows: list[dict[str, Any]], key: str = "open") -> list[dict[str, Any]]:
    """Adds `pct` (bar width) and `overdue_pct` to each row, relative to the largest."""
    largest = max((float(r.get(key) or 0) for r in rows), default=0.0)
    return [
        {**r, "pct": share(float(r.get(key) or 0), largest),
         "overdue_pct": share(float(r.get("overdue") or 0), largest)}
        for r in rows
    ]


def stacked(parts: list[tuple[str, int]], total: int | None = None) -> list[dict[str, Any]]:
    """Segments of one 100-wide stacked bar: key, x, width, value, colour."""
    whole = total if total is not None else sum(v for _k, v in parts)
    x = 0.0
    out = []
    for key, value in parts:
        width = share(value, whole) if whole else 0.0
        out.append({"key": key, "x": round(x, 2), "w": width, "value": value,
                    "colour": SEVERITY_COLOURS.get(key, "#0b5cad")})
        x += width
    return out


def columns(values: list[float | None], height: float = 40.0, maximum: float = 100.0
            ) -> list[dict[str, Any]]:
    """Columns of a small bar chart (one per half-year): x, y, height in a
    `len(values) * 10` wide, `height` tall viewBox; None = no audit that half."""
    out = []
    for i, value in enumerate(values):
        h = 0.0 if value is None else round(height * max(0.0, min(value, maximum)) / maximum, 2)
        out.append({"x": i * 10 + 1.5, "w": 7, "y": round(height - h, 2), "h": h,
                    "value": value, "band": band(value)})
    return out


def band(score: float | None) -> str:
    """A colour class for a score: good >= 90, fair >= 80, else poor."""
    if score is None:
        return "none"
    if score >= 90:
        return "good"
    if score >= 80:
        return "fair"
    return "poor"
