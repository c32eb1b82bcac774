"""Locations where equipment stands: a room on a floor of a building."""

from __future__ import annotations

import re
from typing import Any

from server.accounts.current import CurrentUser
from server.changelog import record
from server.core.errors import Conflict, NotFound, invalid_fields
from server.core.i18n import gettext as _
from server.core.inputs import is_clean
from server.db.engine import write_transaction
from server.directory.schemas import LocationIn
from server.directory.units import normalise_code
from server.org.queries import unknown_refs
from server.org.tables import Location

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,59}$")
LIMITS = {"name": 200, "building": 200, "floor": 40, "room": 100}


async def get_location(location_id: int) -> Location:
    row = await Location.objects().get(Location.id == location_id)
    if row is None:
        raise NotFound(_("No such location."))
    return row


def _values(data: LocationIn, current: Location | None) -> dict[str, Any]:
    def pick(name: str, default: Any) -> Any:
        given = getattr(data, name)
        if given is not None:
            return given.strip() if isinstance(given, str) else given
        return getattr(current, name) if current is not None else default

    values = {name: pick(name, "") for name in ("code", *LIMITS)}
    values["code"] = normalise_code(values["code"])
    values["org_unit"] = pick("org_unit", None)
    values["active"] = pick("active", True)
    return values


async def _problems(values: dict[str, Any]) -> dict[str, str]:
    problems = await unknown_refs(org_unit=values["org_unit"])
    if not CODE_RE.match(values["code"]):
        problems["code"] = _("Use up to 60 upper-case letters, digits, dots, dashes or "
                             "underscores (e.g. A-3F-301).")
    if not values["name"]:
        problems["name"] = _("A name is required.")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit or not is_clean(values[name]):
            problems.setdefault(name, _("At most %(n)s characters, no control characters.",
                                        n=limit))
    return problems


async def save_location(data: LocationIn, actor: CurrentUser, current: Location | None = None
                        ) -> Location:
    """Create a location, or change one."""
    values = _values(data, current)
    problems = await _problems(values)
    async with write_transaction():
        if problems:
            raise invalid_fields(problems)
        taken = Location.exists().where(Location.code == values["code"])
        if current is not None:
            taken = taken.where(Location.id != current.id)
        if await taken:
            raise Conflict(_("A location with this code exists already."),
                           invalid={"code": _("This code is taken.")})
        if current is None:
            return await record.create(Location(**values), actor, data.reason)
        await record.update(current, actor, values, data.reason)
        return current
