"""Asset import and export as CSV and XLSX.

Import reads every row, checks them all, and reports each problem by row, column and
message; only a file without problems is written, in one transaction (existing codes
are updated, new ones created), so nothing is ever half-imported. Export writes the
same columns, so an exported file can be edited and imported again.

Headers may be the column names below or their Chinese names; categories, statuses,
departments and projects may be given by code or by name in either language.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from server.assets.categories import STATUSES, category_names, status_names
from server.assets.register import AssetInput, check_asset, clean, normalise_code
from server.i18n import gettext as _

MAX_BYTES = 5_000_000
MAX_ROWS = 10_000

COLUMNS = (
    "code",
    "name",
    "category",
    "site",
    "location",
    "department",
    "project",
    "serial_number",
    "status",
)
REQUIRED = ("code", "name", "category")
HEADER_ALIASES = {
    "编号": "code",
    "资产编号": "code",
    "名称": "name",
    "资产名称": "name",
    "类别": "category",
    "站点": "site",
    "地点": "site",
    "位置": "location",
    "部门": "department",
    "department_code": "department",
    "org_unit": "department",
    "项目": "project",
    "project_code": "project",
    "序列号": "serial_number",
    "serial": "serial_number",
    "状态": "status",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMN_OF_FIELD = {"org_unit": "department"}
FIELD_OF_COLUMN = {"department": "org_unit"}


@dataclass(frozen=True)
class Problem:
    row: int  # the row number as the spreadsheet shows it (the header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Parsed:
    """Rows read from a file: (spreadsheet row number, {column: text})."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # the columns the file has

    def fields(self) -> set[str]:
        """The asset fields the file sets: on update, the others are left as they are."""
        return {FIELD_OF_COLUMN.get(c, c) for c in self.columns}


@dataclass
class Lookups:
    """What names in a file may refer to: codes and names in both languages -> ids."""

    categories: Collection[str]
    org_units: dict[str, int]  # code / name_zh / name_en (lower-case) -> id
    projects: dict[str, int]

    @staticmethod
    def keyed(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
        index: dict[str, int] = {}
        for row in rows:
            for key in ("code", "name_zh", "name_en"):
                if row.get(key):
                    index.setdefault(str(row[key]).strip().lower(), row["id"])
        return index


@dataclass
class Checked:
    """Valid rows ready to write, or the problems that stop the import."""

    assets: list[tuple[int, AssetInput]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --- reading files -----------------------------------------------------------------


def _header(raw: object) -> str:
    text = str(raw or "").strip()
    key = text.lower().replace(" ", "_").replace("-", "_")
    return HEADER_ALIASES.get(text, HEADER_ALIASES.get(key, key))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a serial number typed as a number
    text = str(value).strip()
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]  # what _safe_cell added on export
    return text


def _rows_to_parsed(table: Iterable[Sequence[object]]) -> Parsed:
    parsed = Parsed()
    iterator = iter(table)
    try:
        header_row = next(iterator)
    except StopIteration:
        parsed.problems.append(Problem(1, "", _("The file is empty.")))
        return parsed
    headers = [_header(h) for h in header_row]
    missing = [c for c in REQUIRED if c not in headers]
    for column in missing:
        parsed.problems.append(Problem(1, column, _("This column is missing.")))
    unknown = [h for h in headers if h and h not in COLUMNS]
    for column in unknown:
        parsed.problems.append(
            Problem(1, column, _("Unknown column; use: %(known)s", known=", ".join(COLUMNS)))
        )
    seen = [h for h in headers if h]
    for column in sorted({h for h in seen if seen.count(h) > 1}):
        parsed.problems.append(Problem(1, column, _("This column appears twice.")))
    if parsed.problems:
        return parsed
    parsed.columns = {h for h in headers if h}
    for number, values in enumerate(iterator, start=2):
        row = {h: _cell(v) for h, v in zip(headers, values, strict=False) if h}
        if not any(row.values()):
            continue  # blank lines are not rows
        if len(parsed.rows) >= MAX_ROWS:
            parsed.problems.append(
                Problem(number, "", _("At most %(n)s rows per file.", n=MAX_ROWS))
            )
            break
        parsed.rows.append((number, row))
    if not parsed.rows and not parsed.problems:
        parsed.problems.append(Problem(2, "", _("The file has no asset rows.")))
    return parsed


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: what Excel saves on Chinese Windows."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_csv(data: bytes) -> Parsed:
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        return Parsed(problems=[Problem(1, "", _("The file is not readable text (UTF-8 or GBK)."))])
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return _rows_to_parsed(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        return Parsed(problems=[Problem(1, "", _("The CSV file is malformed: %(e)s", e=str(exc)))])


def read_xlsx(data: bytes) -> Parsed:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return Parsed(problems=[Problem(1, "", _("The file is not an Excel workbook (.xlsx)."))])
    try:
        sheet = book["assets"] if "assets" in book.sheetnames else book.worksheets[0]
        return _rows_to_parsed(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def read_file(filename: str, data: bytes) -> Parsed:
    if len(data) > MAX_BYTES:
        return Parsed(problems=[Problem(1, "", _("The file is larger than 5 MB."))])
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return read_xlsx(data)
    return read_csv(data)


# --- checking rows -----------------------------------------------------------------


def _names(names: Callable[[], dict[str, str]]) -> dict[str, list[str]]:
    """Each code's names in every language the app speaks (files come from either)."""
    from server import i18n

    by_code: dict[str, list[str]] = {}
    for lang in i18n.LANGUAGES:
        token = i18n.current_language.set(lang)
        try:
            for code, name in names().items():
                by_code.setdefault(code, []).append(name)
        finally:
            i18n.current_language.reset(token)
    return by_code


def _match(value: str, codes: Collection[str], names: dict[str, list[str]]) -> str:
    lowered = value.strip().lower()
    for code in codes:
        if lowered == code.lower():
            return code
    for code, options in names.items():
        if any(lowered == option.lower() for option in options):
            return code
    return value.strip()


def check_rows(
    rows: Sequence[tuple[int, dict[str, str]]],
    lookups: Lookups,
    may_own: Callable[[int | None, int | None], bool] = lambda unit, project: True,
) -> Checked:
    """Every problem of every row; the valid assets when there is none.

    `may_own(org_unit, project)` says whether the importing user may register an asset
    with that owner (engineers: their own department and projects).
    """
    checked = Checked()
    category_options = _names(category_names)
    status_options = _names(status_names)
    first_row_of: dict[str, int] = {}
    for number, row in rows:
        problems: list[Problem] = []
        unit_text, project_text = row.get("department", ""), row.get("project", "")
        org_unit = lookups.org_units.get(unit_text.lower()) if unit_text else None
        project = lookups.projects.get(project_text.lower()) if project_text else None
        if unit_text and org_unit is None:
            problems.append(Problem(number, "department", _("Unknown department.")))
        if project_text and project is None:
            problems.append(Problem(number, "project", _("Unknown project.")))
        data = clean(
            AssetInput(
                code=row.get("code", ""),
                name=row.get("name", ""),
                category=_match(row.get("category", ""), lookups.categories, category_options),
                site=row.get("site", ""),
                location=row.get("location", ""),
                org_unit=org_unit,
                project=project,
                serial_number=row.get("serial_number", ""),
                status=_match(row.get("status", ""), STATUSES, status_options) or "in_service",
            )
        )
        for name, message in check_asset(data, lookups.categories).items():
            problems.append(Problem(number, COLUMN_OF_FIELD.get(name, name), message))
        if data.code and data.code in first_row_of:
            problems.append(
                Problem(
                    number,
                    "code",
                    _("The same code is on row %(row)s.", row=first_row_of[data.code]),
                )
            )
        elif data.code:
            first_row_of[data.code] = number
        if not problems and not may_own(org_unit, project):
            problems.append(
                Problem(
                    number,
                    "department",
                    _("You can register assets only for your own department or projects."),
                )
            )
        checked.problems.extend(problems)
        if not problems:
            checked.assets.append((number, data))
    if checked.problems:
        checked.assets = []
    return checked


# --- export ------------------------------------------------------------------------


def export_rows(
    assets: Iterable[dict[str, Any]], unit_codes: dict[int, str], project_codes: dict[int, str]
) -> list[list[str]]:
    rows = [list(COLUMNS)]
    for a in assets:
        rows.append(
            [
                a["code"],
                a["name"],
                a["category"],
                a.get("site") or "",
                a.get("location") or "",
                unit_codes.get(a.get("org_unit") or 0, ""),
                project_codes.get(a.get("project") or 0, ""),
                a.get("serial_number") or "",
                a.get("status") or "in_service",
            ]
        )
    return rows


def _safe_cell(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV/formula injection); import strips the quote."""
    return "'" + text if text[:1] and text[:1] in FORMULA_STARTS else text


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe_cell(c) for c in row])
    # The BOM makes Excel open the file as UTF-8 (Chinese names intact).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "assets"
    for row in rows:
        sheet.append([_safe_cell(c) for c in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = {"code": 18, "name": 36, "site": 20, "location": 20, "serial_number": 20}
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(column, 14)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


__all__ = [
    "COLUMNS",
    "Checked",
    "Lookups",
    "Parsed",
    "Problem",
    "check_rows",
    "export_rows",
    "normalise_code",
    "read_file",
    "to_csv",
    "to_xlsx",
]
