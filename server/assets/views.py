"""Reading what the asset pages and the API show: one asset with its due inspections,
history and open NCs; lists; the organisation's names. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.accounts.current import CurrentUser
from server.assets import access, categories, due
from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Audit
from server.checklists import store
from server.db.engine import engine_name
from server.findings.tables import Nonconformance
from server.i18n import current_language
from server.org.tables import OrgUnit, Project

CLOSED_NC_STATES = ("closed", "cancelled", "draft")
PAGE_SIZE = 50


@dataclass
class Organisation:
    """Departments and projects by id, for names and choices."""

    units: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)

    def unit_name(self, unit_id: int | None) -> str:
        return _name(self.units.get(unit_id or 0))

    def project_name(self, project_id: int | None) -> str:
        return _name(self.projects.get(project_id or 0))

    def unit_code(self, unit_id: int | None) -> str:
        row = self.units.get(unit_id or 0)
        return str(row["code"]) if row else ""

    def project_code(self, project_id: int | None) -> str:
        row = self.projects.get(project_id or 0)
        return str(row["code"]) if row else ""


def _name(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    return str(row["name_zh"] if current_language.get() == "zh_CN" else row["name_en"])


async def organisation() -> Organisation:
    units = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name_zh, OrgUnit.name_en)
    projects = await Project.select(Project.id, Project.code, Project.name_zh, Project.name_en)
    return Organisation(
        units={u["id"]: u for u in sorted(units, key=lambda u: u["code"])},
        projects={p["id"]: p for p in sorted(projects, key=lambda p: p["code"])},
    )


async def checklist_titles() -> dict[str, str]:
    lang = current_language.get()
    return {s.key: s.title(lang) for s in await store.latest_summaries("inspection")}


async def find_asset(code: str) -> Asset | None:
    return await Asset.objects().get(Asset.code == code)


@dataclass
class ListQuery:
    q: str = ""
    category: str = ""
    site: str = ""
    status: str = ""
    page: int = 1


async def list_assets(
    user: CurrentUser, query: ListQuery, limit: int | None = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """One page of the assets the user sees, and how many match in all."""
    select = Asset.select().order_by(Asset.code)
    count = Asset.count()
    conditions: list[Any] = []
    visible = await access.visible_filter(user)
    if visible is not None:
        conditions.append(visible)
    text = query.q.strip()
    if text:
        like = f"%{text}%"
        # LIKE ignores ASCII case on SQLite; PostgreSQL needs ILIKE for that
        how = "ilike" if engine_name() == "postgresql" else "like"
        columns = (Asset.code, Asset.name, Asset.serial_number, Asset.location)
        match: Any = None
        for column in columns:
            part = getattr(column, how)(like)
            match = part if match is None else match | part
        conditions.append(match)
    if query.category:
        conditions.append(Asset.category == query.category)
    if query.site:
        conditions.append(Asset.site == query.site)
    if query.status:
        conditions.append(Asset.status == query.status)
    for condition in conditions:
        select = select.where(condition)
        count = count.where(condition)
    if limit is not None:
        select = select.limit(limit).offset(max(query.page - 1, 0) * limit)
    return await select, await count


async def sites(user: CurrentUser) -> list[str]:
    query = Asset.select(Asset.site).distinct().order_by(Asset.site)
    visible = await access.visible_filter(user)
    if visible is not None:
        query = query.where(visible)
    return [r["site"] for r in await query if r["site"]]


async def history_of(asset_id: int) -> list[dict[str, Any]]:
    """Inspection runs on the asset, newest first."""
    return (
        await Audit.select(
            Audit.id,
            Audit.checklist_key,
            Audit.checklist_version,
            Audit.title,
            Audit.status,
            Audit.score_percent,
            Audit.passed,
            Audit.started_at,
            Audit.submitted_at,
            Audit.lead_auditor.name.as_alias("lead_name"),
        )
        .where(Audit.asset == asset_id)
        .order_by(Audit.id, ascending=False)
        .limit(100)
    )


async def open_ncs_of(asset_id: int) -> list[dict[str, Any]]:
    return (
        await Nonconformance.select(
            Nonconformance.id,
            Nonconformance.ref,
            Nonconformance.title,
            Nonconformance.severity,
            Nonconformance.state,
            Nonconformance.due_date,
        )
        .where(
            (Nonconformance.asset == asset_id) & Nonconformance.state.not_in(list(CLOSED_NC_STATES))
        )
        .order_by(Nonconformance.raised_at, ascending=False)
    )


async def schedules_of(asset: Asset) -> list[dict[str, Any]]:
    """Schedules naming this asset or its category (active ones first)."""
    return (
        await InspectionSchedule.select()
        .where(
            (InspectionSchedule.asset == asset.id)
            | (InspectionSchedule.asset.is_null() & (InspectionSchedule.category == asset.category))
        )
        .order_by(InspectionSchedule.active, ascending=False)
        .order_by(InspectionSchedule.id)
    )


@dataclass
class AssetPage:
    asset: Asset
    due: list[due.DueItem]
    other_checklists: list[store.Summary]
    history: list[dict[str, Any]]
    open_ncs: list[dict[str, Any]]
    schedules: list[dict[str, Any]]
    titles: dict[str, str]


async def asset_page(asset: Asset, today: date) -> AssetPage:
    items = await due.load_due(today, asset_id=asset.id) if asset.status == "in_service" else []
    scheduled = {item.checklist_key for item in items}
    groups = await categories.checklists_by_category()
    others = [s for s in groups.get(asset.category, []) if s.key not in scheduled]
    return AssetPage(
        asset=asset,
        due=items,
        other_checklists=others,
        history=await history_of(asset.id),
        open_ncs=await open_ncs_of(asset.id),
        schedules=await schedules_of(asset),
        titles=await checklist_titles(),
    )


async def open_run(asset_id: int, checklist_key: str) -> int | None:
    row = (
        await Audit.select(Audit.id)
        .where(
            (Audit.asset == asset_id)
            & (Audit.checklist_key == checklist_key)
            & (Audit.status == "in_progress")
        )
        .order_by(Audit.id, ascending=False)
        .first()
    )
    return row["id"] if row else None
