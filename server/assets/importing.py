"""Asset import and export as CSV and XLSX.

Import reads every row, checks them all, and reports each problem by row, column and
message; only a file without problems is written, in one transaction (existing codes
are updated, new ones created), so nothing is ever half-imported. Export writes the
same columns, so an exported file can be edited and imported again.

Headers may be the column names below or their Chinese names; categories, statuses,
departments and projects may be given by code or by name in either language.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.accounts.current import CurrentUser
from server.assets import access
from server.assets.categories import STATUSES, category_names, known_categories, status_names
from server.assets.register import AssetInput, check_asset, clean, keyed, normalise_code
from server.assets.schemas import AssetJson
from server.assets.tables import Asset
from server.assets.views import ListQuery, list_assets, outside
from server.changelog import record
from server.core import sheets
from server.core.i18n import gettext as _
from server.core.sheets import (
    Choices,
    Parsed,
    Problem,
    Sheet,
    off_loop,
)
from server.db.engine import write_transaction
from server.org.queries import Organisation, organisation

# A file's columns are the API's fields: department and project by code or name.
COLUMNS = tuple(f.encode_name for f in msgspec.structs.fields(AssetJson))
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
COLUMN_OF_FIELD = {"org_unit": "department"}
FIELD_OF_COLUMN = {"department": "org_unit"}


@dataclass
class Lookups:
    """What names in a file may refer to: codes and names in both languages -> ids."""

    categories: Collection[str]
    org_units: dict[str, int]  # code / name_zh / name_en (lower-case) -> id
    projects: dict[str, int]


async def lookups() -> Lookups:
    org = await organisation()
    return Lookups(categories=await known_categories(), org_units=keyed(org.units.values()),
                   projects=keyed(org.projects.values()))


@dataclass
class Checked:
    """Valid rows ready to write, or the problems that stop the import."""

    assets: list[tuple[int, AssetInput]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --- reading files -----------------------------------------------------------------

SHEET = Sheet(COLUMNS, REQUIRED, HEADER_ALIASES, "assets", lambda: _("The file has no asset rows."))
WIDTHS = {"code": 18, "name": 36, "site": 20, "location": 20, "serial_number": 20}


def read_file(filename: str, data: bytes) -> Parsed:
    return sheets.read_file(SHEET, filename, data)


def read_csv(data: bytes) -> Parsed:
    return sheets.read_csv(SHEET, data)


def fields_of(parsed: Parsed) -> set[str]:
    """The asset fields a file sets: on update, the others are left as they are."""
    return {FIELD_OF_COLUMN.get(c, c) for c in parsed.columns}


# --- checking rows -----------------------------------------------------------------


# Other words people write for a status (Chinese ones are the labels' synonyms).
STATUS_ALIASES = {"in use": "in_service", "使用中": "in_service", "out of use": "out_of_service",
                  "停用中": "out_of_service", "scrapped": "retired", "报废": "retired"}


def status_choices() -> Choices:
    return Choices(STATUSES, status_names, STATUS_ALIASES)


def category_choices(categories: Collection[str]) -> Choices:
    return Choices(tuple(categories), category_names)


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
    coded = {"category": category_choices(lookups.categories), "status": status_choices()}
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
        codes: dict[str, str] = {}
        unknown: list[Problem] = []
        for column, choices in coded.items():
            text = row.get(column, "")
            code = choices.match(text)
            if code is None:
                unknown.append(choices.problem(number, column, text))
            codes[column] = text.strip() if code is None else code
        data = clean(
            AssetInput(
                code=row.get("code", ""),
                name=row.get("name", ""),
                category=codes["category"],
                site=row.get("site", ""),
                location=row.get("location", ""),
                org_unit=org_unit,
                project=project,
                serial_number=row.get("serial_number", ""),
                status=codes["status"] or "in_service",
            )
        )
        for name, message in check_asset(data, lookups.categories).items():
            if any(p.column == COLUMN_OF_FIELD.get(name, name) for p in unknown):
                continue  # said below, with the values it takes
            problems.append(Problem(number, COLUMN_OF_FIELD.get(name, name), message))
        problems += unknown
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


# --- writing -----------------------------------------------------------------------

async def apply_import(user: CurrentUser, filename: str, data: bytes
                       ) -> tuple[list[Problem], dict[str, int]]:
    """Check a file and, only when it has no problem, write every row in one transaction
    (new codes created, known ones updated in the columns the file has)."""
    parsed = await off_loop(read_file, filename, data)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    if parsed.problems:
        return parsed.problems, counts
    known = await lookups()
    checked = await off_loop(
        check_rows, parsed.rows, known, lambda unit, project: access.can_edit(user, unit, project))
    if checked.problems:
        return checked.problems, counts
    codes = [item.code for _row, item in checked.assets]
    async with write_transaction():
        existing = (
            {a.code: a for a in await Asset.objects().where(Asset.code.is_in(codes))}
            if codes else {}
        )
        problems = [
            Problem(number, "department",
                    _("You can change assets only of your own department or projects."))
            for number, item in checked.assets
            if item.code in existing
            and not access.can_edit(user, existing[item.code].org_unit,
                                    existing[item.code].project)
        ]
        if problems:
            return problems, counts
        given = fields_of(parsed)
        for _number, item in checked.assets:
            current = existing.get(item.code)
            if current is None:
                await record.create(Asset(**item.values()), user, "import")
                counts["created"] += 1
            elif await record.update(
                current, user, {k: v for k, v in item.values().items() if k in given}, "import"
            ):
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return [], counts


# --- export ------------------------------------------------------------------------


def export_rows(assets: Iterable[dict[str, Any]], org: Organisation) -> list[list[str]]:
    rows = [list(COLUMNS)]
    for asset in assets:
        shown = outside(asset, org)
        rows.append([shown[column] or "" for column in COLUMNS])
    return rows


async def export_file(user: CurrentUser, query: ListQuery, fmt: str) -> bytes:
    """Every asset the list shows with these filters, as CSV or XLSX (importable again)."""
    rows, _total = await list_assets(user, query, limit=None)
    table = export_rows(rows, await organisation())
    return to_csv(table) if fmt == "csv" else to_xlsx(table)


def to_csv(rows: list[list[str]]) -> bytes:
    return sheets.to_csv(rows)


def to_xlsx(rows: list[list[str]]) -> bytes:
    return sheets.to_xlsx(rows, "assets", WIDTHS)


async def template() -> bytes:
    """An empty asset file to fill in: the columns, with drop-downs of the categories and
    statuses by name in the reader's language."""
    return sheets.to_xlsx([list(COLUMNS)], "assets", WIDTHS, {
        "category": category_choices(await known_categories()), "status": status_choices()})


__all__ = [
    "COLUMNS",
    "Checked",
    "Lookups",
    "Parsed",
    "Problem",
    "check_rows",
    "export_rows",
    "normalise_code",
    "read_csv",
    "read_file",
    "to_csv",
    "to_xlsx",
]
