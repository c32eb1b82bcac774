"""What the directory's pages and API take."""

from __future__ import annotations

from datetime import date

from msgspec import Struct


class UnitIn(Struct):
    """A department. From the API, `parent` and `head` may also be given as a code / login
    (parent_code, head_login)."""

    code: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    parent: int | None = None
    head: int | None = None
    active: bool | None = None
    parent_code: str | None = None
    head_login: str | None = None
    reason: str = ""


class ProjectIn(Struct):
    code: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    org_unit: int | None = None
    client: str | None = None
    manager: int | None = None
    quality_owner: int | None = None
    members: list[int] | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    active: bool | None = None
    department: str | None = None  # a department's code (API, files)
    manager_login: str | None = None
    quality_owner_login: str | None = None
    reason: str = ""


class PhaseMove(Struct):
    to: str = ""
    reason: str = ""


class LocationIn(Struct):
    code: str | None = None
    name: str | None = None
    building: str | None = None
    floor: str | None = None
    room: str | None = None
    org_unit: int | None = None
    active: bool | None = None
    reason: str = ""


class ListQuery(Struct):
    q: str = ""
    active: str = ""  # "" all, "1" active only, "0" inactive only
    page: int = 1
