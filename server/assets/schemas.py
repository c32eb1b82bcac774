"""What the asset pages and the asset API take."""

from __future__ import annotations

from datetime import date

from msgspec import Struct


class AssetForm(Struct):
    """An asset as its page's form sends it (department and project by id)."""

    code: str = ""
    name: str = ""
    category: str = ""
    site: str = ""
    location: str = ""
    org_unit: int | None = None
    project: int | None = None
    serial_number: str = ""
    status: str = "in_service"
    place: int | None = None
    reason: str = ""


class AssetJson(Struct, forbid_unknown_fields=True):
    """An asset through the API: department and project by code, as in import files."""

    code: str | None = None
    name: str | None = None
    category: str | None = None
    site: str | None = None
    location: str | None = None
    department: str | None = None
    project: str | None = None
    serial_number: str | None = None
    status: str | None = None


class ScheduleForm(Struct):
    checklist_key: str = ""
    frequency: str = ""  # blank: as the checklist says
    start_date: date | None = None
    asset_code: str = ""
    category: str = ""
    every_n_days: int | None = None
    grace_days: int | None = None
    assignee: int | None = None
    assignee_org_unit: int | None = None
    active: bool = False
    reason: str = ""


class InspectForm(Struct):
    checklist: str = ""


class LabelForm(Struct):
    """The label sheet form: chosen codes, or every asset matching the list's filters."""

    codes: list[str] = []
    all: bool = False
    q: str = ""
    category: str = ""
    site: str = ""
    status: str = ""
    layout: str = ""
    skip: int | None = None


class LabelRequest(Struct, forbid_unknown_fields=True):
    """POST /api/v1/assets/labels.pdf."""

    codes: list[str] = []
    layout: str = ""
    skip: int = 0
