"""Reading what the asset pages and the API show: one asset with its due inspections and
history; lists; the shape an asset has outside (API, files). No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.users import names_by_id
from server.assets import access, categories, due
from server.assets.assignment import Responsible
from server.assets.register import normalise_code
from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Audit
from server.checklists import store
from server.core.errors import NotFound
from server.core.i18n import current_language
from server.core.i18n import gettext as _
from server.db.search import contains
from server.org.queries import Organisation, organisation

PAGE_SIZE = 50


async def checklist_titles() -> dict[str, str]:
    lang = current_language.get()
    return {s.key: s.title(lang) for s in await store.latest_summaries("inspection")}


async def find_asset(code: str) -> Asset | None:
    return await Asset.objects().get(Asset.code == code)


async def asset_choices(limit: int = 500) -> list[dict[str, Any]]:
    """Assets to pick from in a form (by code)."""
    return await Asset.select(Asset.id, Asset.code, Asset.name).order_by(Asset.code).limit(limit)


async def visible_asset(user: CurrentUser, code: str) -> Asset:
    """The asset with this (typed or scanned) code if the user may see it; NotFound
    otherwise, so codes one may not see are not revealed."""
    asset = await find_asset(normalise_code(code))
    if asset is None or not await access.sees(user, asset.to_dict()):
        raise NotFound(_("No asset with this code."))
    return asset


async def visible_by_codes(user: CurrentUser, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The assets with these codes that the user sees, by code."""
    query = Asset.select(
        Asset.id, Asset.code, Asset.name, Asset.site, Asset.location, Asset.category
    ).where(Asset.code.is_in(codes))
    visible = await access.visible_filter(user)
    if visible is not None:
        query = query.where(visible)
    return {r["code"]: r for r in await query}


def outside(row: dict[str, Any], org: Organisation) -> dict[str, Any]:
    """An asset as the API and import files show it: department and project by code."""
    return {
        "code": row["code"],
        "name": row["name"],
        "category": row["category"],
        "site": row.get("site") or "",
        "location": row.get("location") or "",
        "department": org.unit_code(row.get("org_unit")) or None,
        "project": org.project_code(row.get("project")) or None,
        "serial_number": row.get("serial_number") or "",
        "status": row.get("status") or "in_service",
    }


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
        conditions.append(contains(
            (Asset.code, Asset.name, Asset.serial_number, Asset.location), text))
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


@dataclass
class People:
    """Names for showing who an inspection falls to."""

    users: dict[int, str]
    org: Organisation

    def describe(self, who: Responsible) -> str:
        if who.user_id is not None:
            return self.users.get(who.user_id, "?")
        names = [n for n in (self.org.unit_name(who.org_unit_id),
                             self.org.project_code(who.project_id)) if n]
        return " / ".join(names) if names else _("Unassigned")


async def people() -> People:
    return People(await names_by_id(), await organisation())
