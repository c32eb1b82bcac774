"""The Excel round trip: quality staff edit checklists as workbooks, the app keeps YAML.

`export_xlsx` writes three sheets (checklist, items, choice_lists); `import_xlsx`
reads them back into the raw data the YAML loader would see, validates it with the
same model and reports every problem by sheet, row and column. Importing never
raises on bad input: it returns problems.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from server.checklists.loader import clean_loc, error_message
from server.checklists.model import (
    Area,
    Checklist,
    Frequency,
    ItemType,
    Kind,
    Phase,
    PhotoRule,
    Severity,
    cross_check,
)
from server.checklists.serialize import to_yaml

MAX_BYTES = 10_000_000
MAX_ROWS = 5_000
MAX_COLUMNS = 60

META, ITEMS, LISTS = "checklist", "items", "choice_lists"
SHEETS = (META, ITEMS, LISTS)

Path = tuple[Any, ...]

# Each column (or checklist-sheet field) and where its value lives in the YAML data.
META_FIELDS: dict[str, Path] = {
    "key": ("key",),
    "version": ("version",),
    "kind": ("kind",),
    "scope_area": ("scope", "area"),
    "scope_phase": ("scope", "phase"),
    "scope_asset_category": ("scope", "asset_category"),
    "scope_frequency": ("scope", "frequency"),
    "title_zh-CN": ("title", "zh-CN"),
    "title_en": ("title", "en"),
    "description_zh-CN": ("description", "zh-CN"),
    "description_en": ("description", "en"),
    "source": ("source",),
    "pass_threshold": ("pass_threshold",),
    "finding_if_failed": ("finding_if_failed",),
    "reason_if_na": ("reason_if_na",),
    "partly": ("partly",),
    "partly_points": ("partly_points",),
    "severity_if_partly": ("severity_if_partly",),
}
META_NAMES = {name.lower(): name for name in META_FIELDS}
SECTION_COLUMNS: dict[str, Path] = {
    "section_id": ("id",),
    "section_title_zh-CN": ("title", "zh-CN"),
    "section_title_en": ("title", "en"),
}
ITEM_COLUMNS: dict[str, Path] = {
    "id": ("id",),
    "type": ("type",),
    "prompt_zh-CN": ("prompt", "zh-CN"),
    "prompt_en": ("prompt", "en"),
    "guidance_zh-CN": ("guidance", "zh-CN"),
    "guidance_en": ("guidance", "en"),
    "required": ("required",),
    "weight": ("weight",),
    "critical": ("critical",),
    "severity_if_failed": ("severity_if_failed",),
    "photo": ("evidence", "photo"),
    "min_photos": ("evidence", "min_photos"),
    "evidence_note_zh-CN": ("evidence", "note", "zh-CN"),
    "evidence_note_en": ("evidence", "note", "en"),
    "show_if": ("show_if",),
    "unit_zh-CN": ("unit", "zh-CN"),
    "unit_en": ("unit", "en"),
    "min": ("min",),
    "max": ("max",),
    "scale_min": ("scale", "min"),
    "scale_max": ("scale", "max"),
    "scale_pass_min": ("scale", "pass_min"),
    "scale_labels": ("scale", "labels"),
    "choices": ("choices",),
    "finding_if_failed": ("finding_if_failed",),
    "reason_if_na": ("reason_if_na",),
    "partly": ("partly",),
    "partly_points": ("partly_points",),
    "severity_if_partly": ("severity_if_partly",),
    "date_within_days_of": ("date_rule", "within_days_of"),
    "date_days": ("date_rule", "days"),
    "date_before": ("date_rule", "before"),
    "date_after": ("date_rule", "after"),
    "date_quarter_end": ("date_rule", "quarter_end"),
}
# Columns added after the first workbooks were written: a workbook without them still
# imports (blank = the checklist's default).
OPTIONAL_COLUMNS = {
    "finding_if_failed", "reason_if_na", "partly", "partly_points", "severity_if_partly",
    "date_within_days_of", "date_days", "date_before", "date_after", "date_quarter_end",
}
LIST_COLUMNS: dict[str, Path] = {
    "list": (),
    "id": ("id",),
    "label_zh-CN": ("label", "zh-CN"),
    "label_en": ("label", "en"),
    "points": ("points",),
    "fails": ("fails",),
}
ITEMS_HEADER = [*SECTION_COLUMNS, *ITEM_COLUMNS]

# How a cell is read; anything not listed is text (stripped, numbers become text).
INT_CELLS = {"version", "min_photos", "scale_min", "scale_max", "scale_pass_min", "date_days",
             "date_quarter_end"}
FLOAT_CELLS = {"pass_threshold", "weight", "min", "max", "points", "partly_points"}
BOOL_CELLS = {"required", "critical", "fails", "finding_if_failed", "reason_if_na", "partly"}
MONTH_DAY_CELLS = {"date_before", "date_after"}  # Excel may have turned 01-10 into a date
RAW_CELLS = {"source", "show_if"}  # kept exactly: the model does not strip them

DROPDOWNS: dict[str, list[str]] = {
    "kind": [k.value for k in Kind],
    "scope_area": [a.value for a in Area],
    "scope_phase": [p.value for p in Phase],
    "scope_frequency": [f.value for f in Frequency],
    "type": [t.value for t in ItemType],
    "severity_if_failed": [s.value for s in Severity],
    "severity_if_partly": [s.value for s in Severity],
    "photo": [p.value for p in PhotoRule],
}

NUMBER_RE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
INT_RE = re.compile(r"[-+]?\d+")
TRUE_WORDS = {"true", "yes", "y", "1", "x", "是"}
FALSE_WORDS = {"false", "no", "n", "0", "否"}


@dataclass
class ImportResult:
    checklist: Checklist | None = None
    yaml_text: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checklist is not None and not self.problems


# --- export ----------------------------------------------------------------------


def export_xlsx(checklist: Checklist) -> bytes:
    data = checklist.model_dump(mode="json", by_alias=True)
    wb = Workbook()
    meta = wb.active
    assert meta is not None  # a new workbook always has one sheet
    meta.title = META
    _fill(meta, ["field", "value"], _meta_rows(data))
    _fill(wb.create_sheet(ITEMS), ITEMS_HEADER, _item_rows(data))
    _fill(wb.create_sheet(LISTS), list(LIST_COLUMNS), _list_rows(data))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _meta_rows(data: dict[str, Any]) -> list[list[Any]]:
    return [[name, _get(data, path)] for name, path in META_FIELDS.items()]


def _item_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for section in data["sections"]:
        head = [_get(section, path) for path in SECTION_COLUMNS.values()]
        for item in section["items"]:
            rows.append(head + [_item_cell(item, n, path) for n, path in ITEM_COLUMNS.items()])
    return rows


def _item_cell(item: dict[str, Any], name: str, path: Path) -> Any:
    value = _get(item, path)
    if name == "scale_labels":
        return _labels_text(value) if value else None
    if name == "choices" and isinstance(value, list):
        return "; ".join(_choice_text(choice) for choice in value)
    return value


def _list_rows(data: dict[str, Any]) -> list[list[Any]]:
    return [
        [name, *(_get(choice, path) for path in list(LIST_COLUMNS.values())[1:])]
        for name, choices in data["choice_lists"].items()
        for choice in choices
    ]


def _get(data: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _fill(ws: Worksheet, header: list[str], rows: list[list[Any]]) -> None:
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_cell_value(v) for v in row])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, not a formula
            if isinstance(cell.value, str) and "\n" in cell.value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions  # header to last row: Excel's filter arrows
    _size_columns(ws)
    _add_dropdowns(ws, header)


def _cell_value(value: Any) -> Any:
    if isinstance(value, float):
        if float(f"{value:.15g}") != value:
            return repr(value)  # Excel keeps 15 digits; text keeps the exact value
        if value.is_integer():
            return int(value)
    return value


def _size_columns(ws: Worksheet) -> None:
    for index, cells in enumerate(ws.iter_cols(), start=1):
        widest = max((_display_width(c.value) for c in cells), default=0)
        ws.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 60)


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    lines = str(value).splitlines() or [""]
    # CJK characters take about two columns
    return max(sum(2 if ord(ch) > 0x2E7F else 1 for ch in line) for line in lines)


def _add_dropdowns(ws: Worksheet, header: list[str]) -> None:
    if ws.title == META:
        targets = [(f"B{row}", name) for row, name in enumerate(META_FIELDS, start=2)]
    else:
        targets = [
            (f"{get_column_letter(i)}2:{get_column_letter(i)}{MAX_ROWS}", name)
            for i, name in enumerate(header, start=1)
        ]
    for ref, name in targets:
        if name in DROPDOWNS:
            dv = DataValidation(
                type="list", formula1=f'"{",".join(DROPDOWNS[name])}"', allow_blank=True
            )
            dv.add(ref)
            ws.add_data_validation(dv)


# Compact text for scale labels (`1=差|Poor; 5=好|Good`) and inline choices
# (`ok=合格|OK|1; bad=不合格|Not OK|0|fails`). A backslash escapes ; | = and itself.


def _escape(text: str) -> str:
    return re.sub(r"([\\;|=])", r"\\\1", text)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL).strip()


def _split(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on unescaped `sep`, leaving escapes in place for the next split."""
    parts: list[str] = []
    start = i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep and maxsplit != len(parts):
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _labels_text(labels: dict[str, Any]) -> str:
    entries = sorted(labels.items(), key=lambda kv: int(kv[0]))
    return "; ".join(
        f"{value}={_escape(text['zh-CN'])}|{_escape(text['en'])}" for value, text in entries
    )


def _choice_text(choice: dict[str, Any]) -> str:
    label = choice["label"]
    text = f"{_escape(choice['id'])}={_escape(label['zh-CN'])}|{_escape(label['en'])}"
    points = "" if choice["points"] is None else _number_text(choice["points"])
    if choice["fails"]:
        return f"{text}|{points}|fails"
    return f"{text}|{points}" if points else text


# --- import ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """A place in the workbook; `label` names the field in messages."""

    sheet: str
    row: int | None = None
    column: str | None = None
    label: str = ""


class _CellError(ValueError):
    pass


class _Import:
    def __init__(self, file: str) -> None:
        self.file = file
        self.raw: dict[str, Any] = {}
        self.places: dict[Path, _Where] = {(): _Where(META)}
        self.problems: list[tuple[_Where, str]] = []
        self.bad_cells: set[tuple[str, int | None, str | None]] = set()

    def problem(self, where: _Where, message: str) -> None:
        self.problems.append((where, message))

    def bad_cell(self, where: _Where, message: str) -> None:
        # the value is dropped; the row's follow-on model errors would only be noise
        self.problem(where, message)
        self.bad_cells.add((where.sheet, where.row, where.column))
        self.bad_cells.add((where.sheet, where.row, None))

    def messages(self) -> list[str]:
        order = sorted(self.problems, key=lambda p: (SHEETS.index(p[0].sheet), p[0].row or 0))
        return list(dict.fromkeys(_format(self.file, where, msg) for where, msg in order))


def _format(file: str, where: _Where, message: str) -> str:
    parts = [f"sheet {where.sheet}"]
    if where.row is not None:
        parts.append(f"row {where.row}")
    if where.column:
        parts.append(f"column {where.column}")
    return f"{file}: {', '.join(parts)}: {message}"


def import_xlsx(data: bytes, file_name: str) -> ImportResult:
    job = _Import(file_name)
    sheets = _read_workbook(data, file_name)
    if isinstance(sheets, str):
        return ImportResult(problems=[sheets])
    tables = _tables(job, sheets)
    if tables is None:
        return ImportResult(problems=job.messages())
    _read_meta(job, sheets[META])
    _read_lists(job, tables[LISTS])
    _read_items(job, tables[ITEMS])
    checklist = _validate(job)
    problems = job.messages()
    if checklist is None or problems:
        return ImportResult(problems=problems)
    return ImportResult(checklist=checklist, yaml_text=to_yaml(checklist))


def _read_workbook(data: bytes, file: str) -> dict[str, list[tuple[Any, ...]]] | str:
    """Every sheet's rows (empty trailing rows dropped), or a message why not."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return f"{file}: expected the bytes of an .xlsx workbook"
    if len(data) > MAX_BYTES:
        return f"{file}: the workbook is larger than {MAX_BYTES // 1_000_000} MB"
    sheets: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about features it drops
            wb = load_workbook(io.BytesIO(bytes(data)), read_only=True, data_only=True)
            try:
                for ws in wb.worksheets:
                    rows = list(
                        ws.iter_rows(max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS, values_only=True)
                    )
                    while rows and all(_empty(v) for v in rows[-1]):
                        rows.pop()
                    sheets[str(ws.title).strip().lower()] = rows
            finally:
                wb.close()
    except Exception:  # openpyxl fails in many ways on files that are not workbooks
        return f"{file}: not an Excel workbook (.xlsx) that can be read"
    return sheets


@dataclass
class _Table:
    """A sheet with a header row: each data row as {column: value}, by row number."""

    rows: list[tuple[int, dict[str, Any]]]


def _tables(job: _Import, sheets: dict[str, list[tuple[Any, ...]]]) -> dict[str, _Table] | None:
    """Check the workbook's shape; None when it is too broken to read further."""
    tables: dict[str, _Table] = {LISTS: _Table([])}
    wanted = {ITEMS: ITEMS_HEADER, LISTS: list(LIST_COLUMNS)}
    for name in SHEETS:
        rows = sheets.get(name)
        if rows is None:
            if name != LISTS:  # a checklist without choice lists may drop that sheet
                job.problem(_Where(name), f"the workbook has no {name!r} sheet")
            continue
        if len(rows) > MAX_ROWS:
            job.problem(_Where(name), f"the sheet has more than {MAX_ROWS} rows")
        elif name in wanted:
            table = _table(job, name, rows, wanted[name])
            if table is not None:
                tables[name] = table
    return None if job.problems else tables


def _table(
    job: _Import, sheet: str, rows: list[tuple[Any, ...]], wanted: list[str]
) -> _Table | None:
    header = rows[0] if rows else ()
    known = {name.lower(): name for name in wanted}
    columns: dict[int, str] = {}
    for index, cell in enumerate(header):
        if _empty(cell):
            continue
        name = known.get(str(cell).strip().lower())
        where = _Where(sheet, 1, get_column_letter(index + 1))
        if name is None:
            job.problem(where, f"unknown column {str(cell).strip()!r}")
        elif name in columns.values():
            job.problem(where, f"column {name!r} appears twice")
        else:
            columns[index] = name
    missing = [name for name in wanted
               if name not in columns.values() and name not in OPTIONAL_COLUMNS]
    if missing:
        job.problem(_Where(sheet, 1), f"the header row lacks the columns {', '.join(missing)}")
    if missing or len(columns) != sum(not _empty(c) for c in header):
        return None
    absent = dict.fromkeys(name for name in wanted if name not in columns.values())
    body = [
        (number, {**absent,
                  **{name: row[i] if i < len(row) else None for i, name in columns.items()}})
        for number, row in enumerate(rows[1:], start=2)
    ]
    return _Table([(n, cells) for n, cells in body if not all(map(_empty, cells.values()))])


def _read_meta(job: _Import, rows: list[tuple[Any, ...]]) -> None:
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        name_cell = row[0] if row else None
        value = row[1] if len(row) > 1 else None
        if number == 1 and str(name_cell).strip().lower() == "field":
            continue  # the header row
        if _empty(name_cell):
            if any(not _empty(v) for v in row):
                job.problem(_Where(META, number, "field"), "the row has no field name")
            continue
        name = META_NAMES.get(str(name_cell).strip().lower(), str(name_cell).strip())
        if name not in META_FIELDS:
            job.problem(_Where(META, number, "field"), f"unknown field {name!r}")
        elif name in seen:
            job.problem(_Where(META, number, "field"), f"{name} is also given in row {seen[name]}")
        else:
            seen[name] = number
            where = _Where(META, number, "value", name)
            _put_cell(job, job.raw, (), META_FIELDS[name], where, value)
    for name, path in META_FIELDS.items():
        if name not in seen:
            job.places[path] = _Where(META, label=name)
    if "kind" in seen:  # whole-checklist errors are about kind and scope
        job.places[()] = _Where(META, seen["kind"], "value")
    job.raw.setdefault("title", {})


def _read_lists(job: _Import, table: _Table) -> None:
    lists: dict[str, list[dict[str, Any]]] = {}
    job.places[("choice_lists",)] = _Where(LISTS, label="choice_lists")
    current: str | None = None
    for number, cells in table.rows:
        value = _cell(cells["list"], "list")
        name = None if value is None else str(value)
        if name is None and current is None:
            job.problem(_Where(LISTS, number, "list"), "the row has no list name")
            continue
        if name is not None and name != current:
            current = name
            if current not in lists:
                lists[current] = []
                job.places[("choice_lists", current)] = _Where(LISTS, number, "list", "list")
        assert current is not None
        base = ("choice_lists", current, len(lists[current]))
        job.places[base] = _Where(LISTS, number)
        choice: dict[str, Any] = {"label": {}}
        for column, path in list(LIST_COLUMNS.items())[1:]:
            where = _Where(LISTS, number, column, column)
            _put_cell(job, choice, base, path, where, cells[column])
        lists[current].append(choice)
    if lists:
        job.raw["choice_lists"] = lists


def _read_items(job: _Import, table: _Table) -> None:
    sections: list[dict[str, Any]] = []
    job.places[("sections",)] = _Where(ITEMS, label="sections")
    for number, cells in table.rows:
        section_id = _cell(cells["section_id"], "section_id")
        if not sections or (section_id is not None and section_id != sections[-1].get("id")):
            _start_section(job, sections, number, cells)
        else:
            _check_section_title(job, len(sections) - 1, sections[-1], number, cells)
        if any(not _empty(cells[column]) for column in ITEM_COLUMNS):
            _read_item(job, sections, number, cells)
    job.raw["sections"] = sections


def _start_section(
    job: _Import, sections: list[dict[str, Any]], number: int, cells: dict[str, Any]
) -> None:
    base = ("sections", len(sections))
    job.places[base] = _Where(ITEMS, number)
    job.places[(*base, "items")] = _Where(ITEMS, number)
    section: dict[str, Any] = {"title": {}}
    for column, path in SECTION_COLUMNS.items():
        _put_cell(job, section, base, path, _Where(ITEMS, number, column, column), cells[column])
    section["items"] = []
    sections.append(section)


def _check_section_title(
    job: _Import, index: int, section: dict[str, Any], number: int, cells: dict[str, Any]
) -> None:
    """Later rows of a section may leave the title blank, repeat it, or fill in a gap."""
    for column, path in list(SECTION_COLUMNS.items())[1:]:
        value = _cell(cells[column], column)
        given = section["title"].get(path[-1])
        if value is None or value == given:
            continue
        if given is None:
            where = _Where(ITEMS, number, column, column)
            _put_cell(job, section, ("sections", index), path, where, cells[column])
        else:
            first = job.places[("sections", index, *path)].row
            job.problem(
                _Where(ITEMS, number, column), f"differs from the section title in row {first}"
            )


def _read_item(
    job: _Import, sections: list[dict[str, Any]], number: int, cells: dict[str, Any]
) -> None:
    items = sections[-1]["items"]
    base = ("sections", len(sections) - 1, "items", len(items))
    job.places[base] = _Where(ITEMS, number)
    item: dict[str, Any] = {"prompt": {}}
    for column, path in ITEM_COLUMNS.items():
        _put_cell(job, item, base, path, _Where(ITEMS, number, column, column), cells[column])
    items.append(item)


def _put_cell(
    job: _Import, target: dict[str, Any], base: Path, path: Path, where: _Where, value: Any
) -> None:
    """Read one cell into target[path], remembering where base+path came from."""
    column = where.label
    job.places[base + path] = where
    try:
        parsed = _cell(value, column)
        if column == "scale_labels" and parsed is not None:
            parsed = _parse_labels(str(parsed))
        elif column == "choices" and parsed is not None:
            parsed = _parse_choices(str(parsed))
    except _CellError as exc:
        job.bad_cell(where, str(exc))
        return
    if isinstance(parsed, list):
        for index in range(len(parsed)):
            job.places[base + path + (index,)] = _Where(
                where.sheet, where.row, where.column, f"{column} entry {index + 1}"
            )
    if parsed is not None:
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = parsed


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(value: Any, column: str) -> Any:
    """A cell's value as the model expects it; None when blank (meaning the default).

    Values of the wrong type pass through so the model names the problem.
    """
    if _empty(value):
        return None
    if column in INT_CELLS or column in FLOAT_CELLS:
        return _number(value, integer=column in INT_CELLS)
    if column in BOOL_CELLS:
        return _bool(value)
    if column in MONTH_DAY_CELLS and isinstance(value, date):
        return f"{value.month:02d}-{value.day:02d}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = _number_text(value) if math.isfinite(value) else str(value)
    if isinstance(value, str) and column not in RAW_CELLS:
        return value.strip()
    return value


def _number(value: Any, integer: bool) -> Any:
    if isinstance(value, bool):
        raise _CellError("must be a number, not TRUE or FALSE")
    if isinstance(value, str) and NUMBER_RE.fullmatch(value.strip()):
        value = float(value) if not INT_RE.fullmatch(value.strip()) else int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _CellError("must be a finite number")
        if integer and value.is_integer():
            return int(value)
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = _number_text(value) if isinstance(value, int | float) else str(value)
    word = word.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _CellError("must be TRUE or FALSE")


def _text(zh: str, en: str) -> dict[str, str]:
    return {k: v for k, v in (("zh-CN", _unescape(zh)), ("en", _unescape(en))) if v}


def _entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """Yield (before '=', parts after '=' split on '|') for each ';'-separated entry."""
    for entry in _split(text, ";"):
        if not entry.strip():
            continue
        head = _split(entry, "=", maxsplit=1)
        if len(head) != 2 or len(_split(head[1], "=")) > 1:
            raise _CellError(
                f"{entry.strip()!r} should be one entry like key=中文|English;"
                " separate entries with ';'"
            )
        yield _unescape(head[0]), _split(head[1], "|")


def _parse_labels(text: str) -> dict[int, dict[str, str]]:
    labels: dict[int, dict[str, str]] = {}
    for value, parts in _entries(text):
        if not INT_RE.fullmatch(value):
            raise _CellError(f"scale label value {value!r} is not a whole number")
        if len(parts) != 2:
            raise _CellError(f"scale label {value} should look like {value}=中文|English")
        if int(value) in labels:
            raise _CellError(f"scale label {value} is given twice")
        labels[int(value)] = _text(*parts)
    return labels


def _parse_choices(text: str) -> str | list[dict[str, Any]]:
    if len(_split(text, "=")) == 1:
        return _unescape(text)  # the name of a choice list
    choices: list[dict[str, Any]] = []
    for choice_id, parts in _entries(text):
        if not 2 <= len(parts) <= 4:
            raise _CellError(f"choice {choice_id!r} should look like id=中文|English|points|fails")
        choice: dict[str, Any] = {"id": choice_id, "label": _text(parts[0], parts[1])}
        points = _unescape(parts[2]) if len(parts) > 2 else ""
        if points:
            if not NUMBER_RE.fullmatch(points):
                raise _CellError(f"choice {choice_id!r}: points {points!r} is not a number")
            choice["points"] = float(points)
        fails = _unescape(parts[3]) if len(parts) > 3 else ""
        if fails:
            try:
                choice["fails"] = fails.lower() == "fails" or _bool(fails)
            except _CellError:
                raise _CellError(f"choice {choice_id!r}: write 'fails' or leave it out") from None
        choices.append(choice)
    return choices


# --- validation --------------------------------------------------------------------


def _validate(job: _Import) -> Checklist | None:
    try:
        checklist = Checklist.model_validate(job.raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            _model_problem(job, error)
        return None
    except RecursionError:
        job.problem(_Where(META), "the workbook is nested too deeply")
        return None
    for path, message in cross_check(checklist):
        where, _ = _place(job, path)
        job.problem(where, message)
    return checklist


def _model_problem(job: _Import, error: dict[str, Any]) -> None:
    path, relevant = clean_loc(job.raw, tuple(error["loc"]))
    if not relevant:
        return
    where, rest = _place(job, path)
    if (where.sheet, where.row, where.column) in job.bad_cells:
        return
    if error["type"] == "too_short" and path and path[-1] in ("sections", "items"):
        message = "there are no items" if path == ("sections",) else "the section has no items"
    else:
        label = ".".join(str(p) for p in (where.label, *rest) if p != "")
        message = error_message(error, label)
    job.problem(where, message)


def _place(job: _Import, path: Sequence[Any]) -> tuple[_Where, Path]:
    """The workbook place of the longest known prefix of path, and the rest of path."""
    path = tuple(path)
    for end in range(len(path), -1, -1):
        where = job.places.get(path[:end])
        if where is not None:
            return where, path[end:]
    return _Where(META), path
