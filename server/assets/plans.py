"""Inspection schedules: the rules for one schedule's fields, creating and changing one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from server.accounts.users import active_user_ids
from server.assets import schedule as cadence_rules
from server.assets.categories import category_label, checklists_by_category
from server.assets.register import normalise_code
from server.assets.schemas import ScheduleForm
from server.assets.tables import Asset, InspectionSchedule
from server.changelog import record
from server.checklists import store
from server.core.errors import NotFound, invalid_fields
from server.core.i18n import gettext as _
from server.db.engine import write_transaction
from server.org.queries import unknown_refs


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


async def checklist_categories() -> dict[str, str]:
    """Inspection checklist key -> the asset category it applies to."""
    groups = await checklists_by_category()
    return {s.key: category for category, summaries in groups.items() for s in summaries}


async def from_form(form: ScheduleForm) -> ScheduleInput:
    """The schedule a form describes; the asset by the code typed (None when there is
    no such asset: the rules then say so), the frequency "as the checklist says" when
    none is chosen."""
    code = normalise_code(form.asset_code)
    asset_id = None
    if code:
        row = await Asset.select(Asset.id).where(Asset.code == code).first()
        asset_id = row["id"] if row else None
    frequency = form.frequency
    if not frequency:
        checklist = await store.get(form.checklist_key) if form.checklist_key else None
        frequency = checklist.scope.frequency.value if checklist and checklist.scope.frequency \
            else ""
    return ScheduleInput(
        checklist_key=form.checklist_key,
        frequency=frequency,
        start_date=form.start_date,
        asset=asset_id,
        category=None if code else (form.category or None),
        every_n_days=form.every_n_days,
        grace_days=form.grace_days or 0,
        assignee=form.assignee,
        assignee_org_unit=form.assignee_org_unit,
        active=form.active,
    )


async def _problems(data: ScheduleInput, asset_code: str, except_id: int | None
                    ) -> dict[str, str]:
    if asset_code and data.asset is None:
        return {"asset": _("No asset with this code.")}
    asset_category = None
    if data.asset is not None:
        row = await Asset.select(Asset.category).where(Asset.id == data.asset).first()
        asset_category = row["category"] if row else None
    problems = check_schedule(data, await checklist_categories(), asset_category)
    problems.update(await unknown_refs(org_unit=data.assignee_org_unit,
                                       unit_field="assignee_org_unit"))
    if data.assignee is not None and not await active_user_ids([data.assignee]):
        problems["assignee"] = _("No active user with this id.")
    if not problems and await duplicate_of(data, except_id):
        problems["checklist_key"] = _("This checklist is already scheduled here.")
    return problems


async def create_schedule(data: ScheduleInput, actor: Any, asset_code: str = ""
                          ) -> InspectionSchedule:
    data = normalised(data)
    async with write_transaction():
        problems = await _problems(data, asset_code, None)
        if problems:
            raise invalid_fields(problems)
        return await record.create(InspectionSchedule(**data.values()), actor)


async def update_schedule(row: InspectionSchedule, data: ScheduleInput, actor: Any,
                          asset_code: str = "", reason: str = "") -> dict[str, list[Any]]:
    data = normalised(data)
    async with write_transaction():
        problems = await _problems(data, asset_code, row.id)
        if problems:
            raise invalid_fields(problems)
        return await record.update(row, actor, data.values(), reason[:500])


async def get_schedule(schedule_id: int) -> InspectionSchedule:
    row = await InspectionSchedule.objects().get(InspectionSchedule.id == schedule_id)
    if row is None:
        raise NotFound(_("No such schedule."))
    return row


async def list_schedules(include_inactive: bool) -> list[dict[str, Any]]:
    query = InspectionSchedule.select(
        InspectionSchedule.all_columns(),
        InspectionSchedule.asset.code.as_alias("asset_code"),
        InspectionSchedule.asset.name.as_alias("asset_name"),
    ).order_by(InspectionSchedule.id)
    if not include_inactive:
        query = query.where(InspectionSchedule.active == True)  # noqa: E712
    return await query


async def asset_code_of(asset_id: int | None) -> str:
    if asset_id is None:
        return ""
    row = await Asset.select(Asset.code).where(Asset.id == asset_id).first()
    return row["code"] if row else ""


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
