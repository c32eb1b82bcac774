"""Writing XLSX workbooks people read and filter in Excel: real date and time cells on
the organisation's clock, a bold frozen header row with an autofilter, columns as wide as
their content, and drop-down lists for coded columns. Every export and import template
goes through write(); text cells through safe_cell(), so no typed text runs as a formula.

Sheets are written in openpyxl's streaming mode (an NC export may have 100,000 rows):
column widths are measured on the header and the first rows, then the rest streams.
"""

from __future__ import annotations

import io
import itertools
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from server.core.cells import safe_cell
from server.core.clock import local_zone

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MIN_WIDTH, MAX_WIDTH = 8.0, 60.0
MEASURED_ROWS = 500  # rows measured for the widths; the rest are streamed unmeasured
TEMPLATE_ROWS = 1000  # rows of an import template that carry the drop-downs
LISTS_SHEET = "lists"  # the hidden sheet holding the drop-downs' values
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass
class Tab:
    """One worksheet: its header, its rows (any iterable, read once) and, by column
    index, fixed widths and drop-down choices (the values offered in the cells below
    the header)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]] = ()
    widths: Mapping[int, float] = field(default_factory=dict)
    choices: Mapping[int, Sequence[str]] = field(default_factory=dict)


def excel_value(value: Any) -> Any:
    """A value as Excel stores it: an aware time on the organisation's clock without its
    zone (Excel has none), a date as a date, text made safe, the rest as it is."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(local_zone()).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return value
    return safe_cell(value)


def text_width(value: Any) -> float:
    """About how many character widths a value takes in Excel: CJK characters two, the
    longest line of a multi-line cell, a date or time its format's length."""
    if value is None:
        return 0.0
    if isinstance(value, datetime):
        return len(DATETIME_FORMAT)
    if isinstance(value, date):
        return len(DATE_FORMAT) + 1
    lines = str(value).split("\n")
    return max(
        sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line)
        for line in lines
    )


def column_widths(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[float]:
    """One width per column: the widest of the header and the measured rows, bounded."""
    widths = [text_width(h) + 2 for h in header]  # room for the filter's arrow
    for row in rows:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], text_width(value))
    return [round(min(MAX_WIDTH, max(MIN_WIDTH, w + 1)), 1) for w in widths]


def _cell(sheet: Worksheet, value: Any) -> Any:
    value = excel_value(value)
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT
        return cell
    if isinstance(value, str) and "\n" in value:
        cell = WriteOnlyCell(sheet, value=value)
        cell.alignment = _WRAP
        return cell
    return value


def _lists_sheet(book: Workbook, tabs: Sequence[Tab]) -> dict[tuple[int, int], str]:
    """The drop-downs' values, one column per list, on a hidden sheet: a list typed into
    the validation itself may hold at most 255 characters. -> (tab, column) -> range."""
    wanted = [(t, c, values) for t, tab in enumerate(tabs) for c, values in tab.choices.items()
              if values]
    if not wanted:
        return {}
    sheet = book.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    ranges = {}
    columns = [[safe_cell(v) for v in values] for _t, _c, values in wanted]
    for row in itertools.zip_longest(*columns):
        sheet.append(list(row))
    for number, (t, c, values) in enumerate(wanted, start=1):
        letter = get_column_letter(number)
        ranges[(t, c)] = f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(values)}"
    return ranges


def write(tabs: Sequence[Tab]) -> bytes:
    """The workbook of these sheets, as XLSX bytes."""
    book = Workbook(write_only=True)
    sheets = [book.create_sheet(title=tab.title[:31]) for tab in tabs]
    ranges = _lists_sheet(book, tabs)
    for number, (tab, sheet) in enumerate(zip(tabs, sheets, strict=True)):
        rows = iter(tab.rows)
        first = [list(r) for r in itertools.islice(rows, MEASURED_ROWS)]
        for index, width in enumerate(column_widths(tab.header, first)):
            sheet.column_dimensions[get_column_letter(index + 1)].width = tab.widths.get(
                index, width)
        sheet.freeze_panes = "A2"
        header = []
        for text in tab.header:
            cell = WriteOnlyCell(sheet, value=safe_cell(text))
            cell.font = _BOLD
            header.append(cell)
        sheet.append(header)
        count = 0
        for row in itertools.chain(first, rows):
            sheet.append([_cell(sheet, v) for v in row])
            count += 1
        last = get_column_letter(max(1, len(tab.header)))
        sheet.auto_filter.ref = f"A1:{last}{count + 1}"
        for column, _values in tab.choices.items():
            if (number, column) not in ranges:
                continue
            letter = get_column_letter(column + 1)
            rule = DataValidation(type="list", formula1=ranges[(number, column)],
                                  allow_blank=True, errorStyle="warning")
            rule.add(f"{letter}2:{letter}{max(count, TEMPLATE_ROWS) + 1}")
            sheet.data_validations.append(rule)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
