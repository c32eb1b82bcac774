"""The asset register: the rules for one asset's fields, and creating or changing one.

Every write goes through the change log. Codes are printed on labels and typed by hand
on site, so they are upper-case ASCII letters, digits, dots, dashes and underscores
(lower case typed in is upper-cased).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

from server.assets.categories import STATUSES
from server.assets.tables import Asset
from server.changelog import record
from server.db.engine import write_transaction
from server.i18n import gettext as _

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,59}$")
LIMITS = {"name": 200, "site": 200, "location": 200, "serial_number": 100}
FIELDS = (
    "code",
    "name",
    "category",
    "site",
    "location",
    "org_unit",
    "project",
    "serial_number",
    "status",
)


class AssetError(ValueError):
    """A refused asset change; `problems` maps field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass
class AssetInput:
    code: str
    name: str
    category: str
    site: str = ""
    location: str = ""
    org_unit: int | None = None
    project: int | None = None
    serial_number: str = ""
    status: str = "in_service"

    def values(self) -> dict[str, Any]:
        return asdict(self)


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


async def create_asset(data: AssetInput, categories: Collection[str], actor: Any) -> Asset:
    data = clean(data)
    problems = check_asset(data, categories)
    async with write_transaction():
        if "code" not in problems and await code_taken(data.code):
            problems["code"] = _("This code is taken.")
        if problems:
            raise AssetError(problems)
        return await record.create(Asset(**data.values()), actor)


async def update_asset(
    asset: Asset, data: AssetInput, categories: Collection[str], actor: Any, reason: str = ""
) -> dict[str, list[Any]]:
    """Change an asset; returns the fields that really changed."""
    data = clean(data)
    problems = check_asset(data, categories)
    async with write_transaction():
        if "code" not in problems and await code_taken(data.code, asset.id):
            problems["code"] = _("This code is taken.")
        if problems:
            raise AssetError(problems)
        return await record.update(asset, actor, data.values(), reason)


def input_of(asset: Asset | dict[str, Any]) -> AssetInput:
    """The editable values of a stored asset."""
    get = asset.get if isinstance(asset, dict) else lambda name: getattr(asset, name)
    return AssetInput(**{name: get(name) for name in FIELDS})
