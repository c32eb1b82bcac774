"""The asset register: the rules for one asset's fields, and creating or changing one.

Every write goes through the change log. Codes are printed on labels and typed by hand
on site, so they are upper-case ASCII letters, digits, dots, dashes and underscores
(lower case typed in is upper-cased).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from server.accounts.current import CurrentUser
from server.assets import access
from server.assets.categories import STATUSES, known_categories
from server.assets.schemas import AssetJson
from server.assets.tables import Asset
from server.changelog import record
from server.core.errors import Conflict, Forbidden, Invalid
from server.core.i18n import gettext as _
from server.db.engine import write_transaction
from server.org.queries import organisation, unknown_refs
from server.org.tables import Location

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,59}$")
LIMITS = {"name": 200, "site": 200, "location": 200, "serial_number": 100}
REQUIRED = ("code", "name", "category")


@dataclass
class AssetInput:
    """One asset's own values: the register's fields (FIELDS), as stored."""

    code: str
    name: str
    category: str
    site: str = ""
    location: str = ""
    org_unit: int | None = None
    project: int | None = None
    serial_number: str = ""
    status: str = "in_service"
    place: int | None = None  # a location of the register

    def values(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = tuple(f.name for f in fields(AssetInput))


def normalise_code(raw: object) -> str:
    """What a typed or scanned code means: trimmed, upper case."""
    return str(raw or "").strip().upper()


def clean(data: AssetInput) -> AssetInput:
    """Trimmed text; the code upper-cased."""
    return AssetInput(
        code=normalise_code(data.code),
        name=data.name.strip(),
        category=data.category.strip(),
        site=data.site.strip(),
        location=data.location.strip(),
        org_unit=data.org_unit,
        project=data.project,
        serial_number=data.serial_number.strip(),
        status=data.status.strip() or "in_service",
        place=data.place,
    )


def check_asset(data: AssetInput, categories: Collection[str]) -> dict[str, str]:
    """Problems with one asset's values (field -> message); empty when valid."""
    problems: dict[str, str] = {}
    if not data.code:
        problems["code"] = _("A code is required.")
    elif not CODE_RE.match(data.code):
        problems["code"] = _(
            "Use up to 60 letters, digits, dots, dashes or underscores (e.g. UPS-B2-001)."
        )
    if not data.name:
        problems["name"] = _("A name is required.")
    if not data.category:
        problems["category"] = _("A category is required.")
    elif data.category not in categories:
        problems["category"] = _(
            "Unknown category; use one of: %(known)s", known=", ".join(sorted(categories))
        )
    if data.status not in STATUSES:
        problems["status"] = _("Use one of: %(known)s", known=", ".join(STATUSES))
    for name, limit in LIMITS.items():
        if len(getattr(data, name)) > limit:
            problems.setdefault(name, _("At most %(n)s characters.", n=limit))
    return problems


async def code_taken(code: str, except_id: int | None = None) -> bool:
    query = Asset.exists().where(Asset.code == code)
    if except_id is not None:
        query = query.where(Asset.id != except_id)
    return bool(await query)


def refusal(data: AssetInput, problems: dict[str, str]) -> Invalid:
    """The 422 for an asset's problems: blank required fields listed as missing."""
    missing = [f for f in REQUIRED if f in problems and not getattr(data, f)]
    return Invalid(_("Some values are not valid"), missing=missing, invalid=problems)


async def _problems(data: AssetInput, current: Asset | None = None) -> dict[str, str]:
    """Everything wrong with these values; an asset may stay where it is, but not move
    into (or be registered in) a department or project that is no longer active."""
    moved = current is None or (data.org_unit, data.project) != (current.org_unit,
                                                                 current.project)
    problems = {**check_asset(data, await known_categories()),
                **await unknown_refs(org_unit=data.org_unit, project=data.project, new=moved)}
    if data.place is not None and not await Location.exists().where(
            (Location.id == data.place) & (Location.active == True)):  # noqa: E712
        problems["place"] = _("No such location in use.")
    return problems


def taken() -> Conflict:
    return Conflict(_("An asset with this code exists already."),
                    invalid={"code": _("This code is taken.")})


async def create_asset(data: AssetInput, actor: Any) -> Asset:
    """Register an asset; a taken code is a 409 (the asset exists already)."""
    data = clean(data)
    problems = await _problems(data)
    async with write_transaction():
        if problems:
            raise refusal(data, problems)
        if await code_taken(data.code):
            raise taken()
        return await record.create(Asset(**data.values()), actor)


async def update_asset(asset: Asset, data: AssetInput, actor: Any, reason: str = ""
                       ) -> dict[str, list[Any]]:
    """Change an asset; returns the fields that really changed."""
    data = clean(data)
    problems = await _problems(data, asset)
    async with write_transaction():
        if problems:
            raise refusal(data, problems)
        if await code_taken(data.code, asset.id):
            raise taken()
        return await record.update(asset, actor, data.values(), reason[:500])


def input_of(asset: Asset | dict[str, Any]) -> AssetInput:
    """The editable values of a stored asset."""
    get = asset.get if isinstance(asset, dict) else lambda name: getattr(asset, name)
    return AssetInput(**{name: get(name) for name in FIELDS})


async def register_from_json(data: AssetJson, actor: CurrentUser) -> Asset:
    """An asset registered through the API: its department and project given by code
    (or name), within what the person may own."""
    org = await organisation()
    units = keyed(org.units.values())
    projects = keyed(org.projects.values())
    problems: dict[str, str] = {}
    unit = project = None
    if data.department:
        unit = units.get(data.department.strip().lower())
        if unit is None:
            problems["department"] = _("Unknown department.")
    if data.project:
        project = projects.get(data.project.strip().lower())
        if project is None:
            problems["project"] = _("Unknown project.")
    if problems:
        raise Invalid(_("Some values are not valid"), invalid=problems)
    if not access.can_edit(actor, unit, project):
        raise Forbidden(_("You can register assets only for your own department or projects."))
    return await create_asset(AssetInput(
        code=data.code or "", name=data.name or "", category=data.category or "",
        site=data.site or "", location=data.location or "", org_unit=unit, project=project,
        serial_number=data.serial_number or "", status=data.status or "in_service",
    ), actor)


def keyed(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """What a department or project may be called in a file or a request: its code and
    its names in both languages (lower case) -> its id."""
    index: dict[str, int] = {}
    for row in rows:
        for key in ("code", "name_zh", "name_en"):
            if row.get(key):
                index.setdefault(str(row[key]).strip().lower(), row["id"])
    return index
