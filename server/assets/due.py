"""Which inspections are due: schedules x assets x the last completed inspection.

`compute_due` is a plain function over plain rows (tested directly); `load_due` reads
the rows it needs in four queries, whatever the number of assets.

Rules: a schedule for one asset applies to that asset; a category schedule applies to
every asset of the category, except where the asset has its own schedule for the same
checklist (the asset's own one wins). Only assets in service are due. The last completed
inspection is the newest submitted (or closed) run of the schedule's checklist on the
asset; a run still in progress is offered to continue rather than starting another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from piccolo.query.methods.select import Max

from server.accounts.current import CurrentUser
from server.accounts.identity import load_user
from server.accounts.roles import Role
from server.accounts.users import user_id_of
from server.assets import access
from server.assets import schedule as cadence_rules
from server.assets.assignment import Person, Responsible, is_for, responsible
from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Audit
from server.core.clock import stored_date
from server.core.errors import Forbidden, Invalid, NotFound
from server.core.i18n import gettext as _

COMPLETED = ("submitted", "closed")


@dataclass(frozen=True)
class AssetRow:
    id: int
    code: str
    name: str
    category: str
    site: str = ""
    location: str = ""
    org_unit: int | None = None
    project: int | None = None
    status: str = "in_service"


@dataclass(frozen=True)
class ScheduleRow:
    id: int
    checklist_key: str
    frequency: str
    start_date: date
    asset: int | None = None
    category: str | None = None
    every_n_days: int | None = None
    grace_days: int = 0
    assignee: int | None = None
    assignee_org_unit: int | None = None

    @property
    def cadence(self) -> cadence_rules.Cadence:
        return cadence_rules.Cadence(self.frequency, self.every_n_days)


@dataclass(frozen=True)
class DueItem:
    asset: AssetRow
    schedule: ScheduleRow
    due_date: date
    status: str
    days_overdue: int
    last_done: date | None
    open_run: int | None
    responsible: Responsible

    @property
    def checklist_key(self) -> str:
        return self.schedule.checklist_key

    def sort_key(self) -> tuple[Any, ...]:
        return (
            cadence_rules.STATUS_RANK[self.status],
            self.due_date,
            self.asset.code,
            self.schedule.checklist_key,
        )


def compute_due(
    assets: Iterable[AssetRow],
    schedules: Iterable[ScheduleRow],
    last_done: dict[tuple[int, str], date],
    open_runs: dict[tuple[int, str], int],
    today: date,
) -> list[DueItem]:
    """The next due inspection of every (asset, schedule) pair, most urgent first."""
    schedules = list(schedules)
    own: dict[int, list[ScheduleRow]] = {}
    by_category: dict[str, list[ScheduleRow]] = {}
    for s in schedules:
        if s.asset is not None:
            own.setdefault(s.asset, []).append(s)
        elif s.category:
            by_category.setdefault(s.category, []).append(s)
    items: list[DueItem] = []
    for asset in assets:
        if asset.status != "in_service":
            continue
        mine = own.get(asset.id, [])
        keys = {s.checklist_key for s in mine}
        shared = [s for s in by_category.get(asset.category, []) if s.checklist_key not in keys]
        chosen = mine + shared
        for s in chosen:
            key = (asset.id, s.checklist_key)
            done = last_done.get(key)
            due = cadence_rules.next_due(s.start_date, s.cadence, done)
            items.append(
                DueItem(
                    asset=asset,
                    schedule=s,
                    due_date=due,
                    status=cadence_rules.status_on(due, s.grace_days, today),
                    days_overdue=cadence_rules.days_overdue(due, s.grace_days, today),
                    last_done=done,
                    open_run=open_runs.get(key),
                    responsible=responsible(
                        s.assignee, s.assignee_org_unit, asset.org_unit, asset.project
                    ),
                )
            )
    items.sort(key=DueItem.sort_key)
    return items


def filter_due(
    items: Iterable[DueItem],
    today: date,
    *,
    person: Person | None = None,
    within_days: int | None = None,
    overdue_only: bool = False,
    include_upcoming: bool = False,
) -> list[DueItem]:
    """Narrow a due list: whose it is, how far ahead, overdue only.

    Without `within_days` (and without `include_upcoming`) only what is due by today.
    """
    horizon: date | None = today
    if within_days is not None:
        horizon = today + timedelta(days=max(within_days, 0))
    elif include_upcoming:
        horizon = None
    chosen = []
    for item in items:
        if overdue_only and item.status != cadence_rules.OVERDUE:
            continue
        if horizon is not None and item.due_date > horizon:
            continue
        if person is not None and not is_for(item.responsible, person):
            continue
        chosen.append(item)
    return chosen


# --- reading the rows -------------------------------------------------------------


ASSET_COLUMNS = (
    Asset.id,
    Asset.code,
    Asset.name,
    Asset.category,
    Asset.site,
    Asset.location,
    Asset.org_unit,
    Asset.project,
    Asset.status,
)


ASSET_FIELDS = tuple(c._meta.name for c in ASSET_COLUMNS)  # AssetRow's fields, in order


def asset_row(row: dict[str, Any]) -> AssetRow:
    return AssetRow(*[row[name] for name in ASSET_FIELDS])


def schedule_row(row: dict[str, Any]) -> ScheduleRow:
    return ScheduleRow(
        id=row["id"],
        checklist_key=row["checklist_key"],
        frequency=row["frequency"],
        start_date=row["start_date"],
        asset=row["asset"],
        category=row["category"],
        every_n_days=row["every_n_days"],
        grace_days=row["grace_days"] or 0,
        assignee=row["assignee"],
        assignee_org_unit=row["assignee_org_unit"],
    )


async def active_schedules() -> list[ScheduleRow]:
    rows = await InspectionSchedule.select().where(InspectionSchedule.active == True)  # noqa: E712
    result = []
    for row in rows:
        item = schedule_row(row)
        try:
            item.cadence  # noqa: B018  (a corrupt frequency must not break the whole list)
        except cadence_rules.CadenceError:
            continue
        result.append(item)
    return result


async def run_state(
    asset_ids: list[int] | None = None,
) -> tuple[dict[tuple[int, str], date], dict[tuple[int, str], int]]:
    """Last completed inspection day and the open run, per (asset, checklist)."""
    done_query = (
        Audit.select(Audit.asset, Audit.checklist_key, Max(Audit.submitted_at).as_alias("last"))
        .where(Audit.asset.is_not_null() & Audit.status.is_in(list(COMPLETED)))
        .group_by(Audit.asset, Audit.checklist_key)
    )
    open_query = (
        Audit.select(Audit.asset, Audit.checklist_key, Max(Audit.id).as_alias("run"))
        .where(Audit.asset.is_not_null() & (Audit.status == "in_progress"))
        .group_by(Audit.asset, Audit.checklist_key)
    )
    if asset_ids is not None:
        if not asset_ids:
            return {}, {}
        done_query = done_query.where(Audit.asset.is_in(asset_ids))
        open_query = open_query.where(Audit.asset.is_in(asset_ids))
    last_done: dict[tuple[int, str], date] = {}
    for row in await done_query:
        day = stored_date(row["last"])
        if day is not None:
            last_done[(row["asset"], row["checklist_key"])] = day
    open_runs = {(r["asset"], r["checklist_key"]): int(r["run"]) for r in await open_query}
    return last_done, open_runs


async def load_due(
    today: date, asset_filter: Any | None = None, asset_id: int | None = None
) -> list[DueItem]:
    """Every applicable (asset, schedule) with its next due date, most urgent first."""
    query = Asset.select(*ASSET_COLUMNS).where(Asset.status == "in_service")
    if asset_filter is not None:
        query = query.where(asset_filter)
    if asset_id is not None:
        query = query.where(Asset.id == asset_id)
    assets = [asset_row(r) for r in await query]
    schedules = await active_schedules()
    last_done, open_runs = await run_state([asset_id] if asset_id is not None else None)
    return compute_due(assets, schedules, last_done, open_runs, today)




# --- the lists people read ---------------------------------------------------------

DEFAULT_WITHIN_DAYS = 7
MAX_WITHIN_DAYS = 366
MAX_SHOWN = 500


def clamp_days(value: int | None) -> int | None:
    return None if value is None else max(0, min(value, MAX_WITHIN_DAYS))


@dataclass
class DueList:
    view: str  # mine | all | overdue
    views_allowed: list[str]
    items: list[DueItem]  # what the view shows
    sites: list[str]  # sites among the items before the view narrowed them
    counts: dict[str, int]


async def due_page(user: CurrentUser, view: str, within: int, site: str, category: str,
                   today: date) -> DueList:
    """Engineers see what falls to them; quality managers also everything and overdue."""
    planner = access.can_plan(user)
    allowed = ["mine", "all", "overdue"] if planner else ["mine"]
    if view not in allowed:
        view = "overdue" if planner and not user.has(Role.engineer) else "mine"
    items = _by_place(await load_due(today), site, category)
    within = clamp_days(within) or 0
    if view == "mine":
        chosen = filter_due(items, today, person=Person.of(user), within_days=within)
    elif view == "overdue":
        chosen = filter_due(items, today, overdue_only=True)
    else:
        chosen = filter_due(items, today, within_days=within)
    counts = {status: sum(1 for i in chosen if i.status == status)
              for status in ("overdue", "due", "upcoming")}
    return DueList(view, allowed, chosen, sorted({i.asset.site for i in items if i.asset.site}),
                   counts)


def _by_place(items: list[DueItem], site: str, category: str) -> list[DueItem]:
    if site:
        items = [i for i in items if i.asset.site == site]
    if category:
        items = [i for i in items if i.asset.category == category]
    return items


async def due_for(viewer: CurrentUser, assignee: str, today: date, *,
                  within_days: int | None = None, overdue: bool = False, site: str = "",
                  category: str = "") -> list[DueItem]:
    """The API's due list: "me" (default), a login or user id, or "all" (quality
    managers, whose default it is); without `within_days` only what is due by today."""
    if within_days is not None and not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise Invalid(_("Some values are not valid"), invalid={
            "within_days": _("Enter a number of days from 0 to %(max)s.", max=MAX_WITHIN_DAYS)})
    if not assignee and access.can_plan(viewer):
        assignee = "all"
    person = await _person(viewer, assignee)
    items = _by_place(await load_due(today), site, category)
    return filter_due(items, today, person=person, within_days=clamp_days(within_days),
                      overdue_only=overdue)


async def _person(viewer: CurrentUser, assignee: str) -> Person | None:
    if assignee in ("", "me"):
        return Person.of(viewer)
    if assignee == "all":
        if not access.can_plan(viewer):
            raise Forbidden(_("Only quality managers see everyone's list."))
        return None
    user_id = await user_id_of(assignee)
    if user_id is None:
        raise NotFound(_("No such user."))
    if user_id != viewer.id and not access.can_plan(viewer):
        raise Forbidden(_("Only quality managers see other people's lists."))
    other = await load_user(user_id)
    if other is None:
        raise NotFound(_("No such user."))
    return Person.of(other)


async def next_due(user: CurrentUser, today: date, after_asset: int | None = None
                   ) -> DueItem | None:
    """The person's most urgent inspection due within a week, other than the asset they
    have just inspected."""
    items = filter_due(await load_due(today), today, person=Person.of(user),
                       within_days=DEFAULT_WITHIN_DAYS)
    return next((i for i in items if i.asset.id != after_asset), None)
