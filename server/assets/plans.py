"""Inspection schedules: the rules for one schedule's fields, creating and changing one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from server.assets import schedule as cadence_rules
from server.assets.categories import category_label
from server.assets.tables import InspectionSchedule
from server.changelog import record
from server.db.engine import write_transaction
from server.i18n import gettext as _


class PlanError(ValueError):
    """A refused schedule change; `problems` maps field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass
class ScheduleInput:
    checklist_key: str
    frequency: str
    start_date: date | None
    asset: int | None = None
    category: str | None = None
    every_n_days: int | None = None
    grace_days: int = 0
    assignee: int | None = None
    assignee_org_unit: int | None = None
    active: bool = True

    def values(self) -> dict[str, Any]:
        return asdict(self)


def check_schedule(
    data: ScheduleInput,
    checklist_categories: dict[str, str],
    asset_category: str | None,
) -> dict[str, str]:
    """Problems with a schedule's values (field -> message).

    `checklist_categories` maps each inspection checklist to its asset category;
    `asset_category` is the category of `data.asset` (None when there is no such asset).
    """
    problems: dict[str, str] = {}
    if (data.asset is None) == (not data.category):
        problems["target"] = _("Choose one asset or one category.")
    elif data.asset is not None and asset_category is None:
        problems["asset"] = _("No such asset.")
    target_category = asset_category if data.asset is not None else data.category
    wanted = checklist_categories.get(data.checklist_key)
    if wanted is None:
        problems["checklist_key"] = _("Choose an inspection checklist.")
    elif target_category is not None and wanted != target_category:
        problems["checklist_key"] = _(
            "This checklist is for %(category)s assets.", category=category_label(wanted)
        )
    if data.category and data.category not in set(checklist_categories.values()):
        problems["category"] = _("No inspection checklist applies to this category.")
    if data.frequency not in cadence_rules.FREQUENCIES:
        problems["frequency"] = _("Choose a frequency.")
    elif data.frequency == "every_n_days":
        n = data.every_n_days
        if n is None or not 1 <= n <= cadence_rules.MAX_EVERY_N_DAYS:
            problems["every_n_days"] = _(
                "Enter a number of days from 1 to %(max)s.", max=cadence_rules.MAX_EVERY_N_DAYS
            )
    if data.start_date is None:
        problems["start_date"] = _("A start date is required.")
    if not 0 <= data.grace_days <= cadence_rules.MAX_GRACE_DAYS:
        problems["grace_days"] = _(
            "Enter a number of days from 0 to %(max)s.", max=cadence_rules.MAX_GRACE_DAYS
        )
    if data.assignee is not None and data.assignee_org_unit is not None:
        problems["assignee"] = _("Assign a person or a department, not both.")
    return problems


def normalised(data: ScheduleInput) -> ScheduleInput:
    """Every-N-days only keeps its N when that is the frequency."""
    if data.frequency != "every_n_days":
        data.every_n_days = None
    if data.asset is not None:
        data.category = None
    return data


async def duplicate_of(data: ScheduleInput, except_id: int | None = None) -> int | None:
    """Another active schedule of the same checklist for the same asset or category."""
    if not data.active:
        return None
    query = InspectionSchedule.select(InspectionSchedule.id).where(
        (InspectionSchedule.checklist_key == data.checklist_key)
        & (InspectionSchedule.active == True)  # noqa: E712
    )
    if data.asset is not None:
        query = query.where(InspectionSchedule.asset == data.asset)
    else:
        query = query.where(
            InspectionSchedule.asset.is_null() & (InspectionSchedule.category == data.category)
        )
    if except_id is not None:
        query = query.where(InspectionSchedule.id != except_id)
    row = await query.first()
    return row["id"] if row else None


async def create_schedule(
    data: ScheduleInput,
    checklist_categories: dict[str, str],
    asset_category: str | None,
    actor: Any,
) -> InspectionSchedule:
    data = normalised(data)
    problems = check_schedule(data, checklist_categories, asset_category)
    async with write_transaction():
        if not problems and await duplicate_of(data):
            problems["checklist_key"] = _("This checklist is already scheduled here.")
        if problems:
            raise PlanError(problems)
        return await record.create(InspectionSchedule(**data.values()), actor)


async def update_schedule(
    row: InspectionSchedule,
    data: ScheduleInput,
    checklist_categories: dict[str, str],
    asset_category: str | None,
    actor: Any,
    reason: str = "",
) -> dict[str, list[Any]]:
    data = normalised(data)
    problems = check_schedule(data, checklist_categories, asset_category)
    async with write_transaction():
        if not problems and await duplicate_of(data, except_id=row.id):
            problems["checklist_key"] = _("This checklist is already scheduled here.")
        if problems:
            raise PlanError(problems)
        return await record.update(row, actor, data.values(), reason)


def input_of(row: InspectionSchedule) -> ScheduleInput:
    return ScheduleInput(
        checklist_key=row.checklist_key,
        frequency=row.frequency,
        start_date=row.start_date,
        asset=row.asset,
        category=row.category,
        every_n_days=row.every_n_days,
        grace_days=row.grace_days,
        assignee=row.assignee,
        assignee_org_unit=row.assignee_org_unit,
        active=row.active,
    )
