"""Cells of exported spreadsheets (CSV and XLSX), from text people typed."""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What an XLSX cell cannot hold (openpyxl refuses the whole file for one of them).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: Any) -> Any:
    """A value as a cell: text that a spreadsheet would run as a formula is shown as text
    (a leading quote; the asset import takes it off again), and characters no XLSX holds
    are dropped, so one odd character in a record never breaks an export."""
    if not isinstance(value, str):
        return value
    text = _ILLEGAL.sub("", value)
    return "'" + text if text[:1] and text[:1] in FORMULA_STARTS else text
