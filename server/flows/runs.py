"""Who may open a run (audit or inspection): one rule for its page, its photos, its
report, the API and the list of runs. An inspection is seen by whoever sees its asset
(an engineer: the assets of their department and projects, and those scheduled to
them), besides the people who ran it and those who see every run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from server.accounts.current import CurrentUser
from server.assets import access as asset_access
from server.assets.tables import Asset
from server.audits import access, listing, programme, service
from server.audits.schemas import MAX_PAGE, RunQuery
from server.checklists.model import Kind
from server.core.errors import Forbidden, Invalid, NotFound
from server.core.i18n import gettext as _
from server.findings.queries import owns_nc_of, runs_with_nc_of


class _Facts(Protocol):
    """What the rule needs to know beyond the run's own columns."""

    async def in_team(self, audit_id: int) -> bool: ...
    async def owns_nc(self, audit_id: int) -> bool: ...
    async def sees_asset(self, asset_id: int) -> bool: ...


async def _may_see(user: CurrentUser, audit: dict[str, Any], facts: _Facts) -> bool:
    if access.can_view(user, audit) and await _sees_subject(user, audit, facts):
        return True
    if await facts.in_team(audit["id"]):
        return True
    return access.can_view(user, audit, True) and await facts.owns_nc(audit["id"])


async def _sees_subject(user: CurrentUser, audit: dict[str, Any], facts: _Facts) -> bool:
    """An inspection's asset must be visible to whoever is neither its runner nor one of
    those who see every run."""
    if audit["kind"] != "inspection" or audit.get("asset") is None:
        return True
    if user.sees_everything or user.id in (audit.get("lead_auditor"), audit.get("created_by")):
        return True
    return await facts.sees_asset(audit["asset"])


@dataclass
class _AskPerRun:
    """Facts about one run, each asked of the database only when the rule needs it."""

    user: CurrentUser

    async def in_team(self, audit_id: int) -> bool:
        return self.user.id in await service.team_of(audit_id)

    async def owns_nc(self, audit_id: int) -> bool:
        return await owns_nc_of(self.user.id, audit_id)

    async def sees_asset(self, asset_id: int) -> bool:
        asset = await Asset.objects().get(Asset.id == asset_id)
        return asset is not None and await asset_access.sees(self.user, asset.to_dict())


@dataclass
class _Known:
    """Facts about many runs, gathered in three queries."""

    teams: set[int]
    nc_runs: set[int]
    assets: set[int]

    @classmethod
    async def gather(cls, user: CurrentUser, rows: list[dict[str, Any]]) -> _Known:
        wanted = sorted({r["asset"] for r in rows if r["asset"] is not None})
        assets: set[int] = set()
        if wanted:
            condition = await asset_access.visible_filter(user)
            query = Asset.select(Asset.id).where(Asset.id.is_in(wanted))
            if condition is not None:
                query = query.where(condition)
            assets = {r["id"] for r in await query}
        return cls(await listing.runs_with_member(user.id), await runs_with_nc_of(user.id),
                   assets)

    async def in_team(self, audit_id: int) -> bool:
        return audit_id in self.teams

    async def owns_nc(self, audit_id: int) -> bool:
        return audit_id in self.nc_runs

    async def sees_asset(self, asset_id: int) -> bool:
        return asset_id in self.assets


async def visible_run(user: CurrentUser, audit_id: int) -> dict[str, Any]:
    """The run's access columns if `user` may see it; NotFound otherwise (so that ids of
    runs one may not see are not revealed)."""
    try:
        audit = await service.access_row(audit_id)
    except NotFound:
        raise NotFound(_("No audit with this number.")) from None
    if await _may_see(user, audit, _AskPerRun(user)):
        return audit
    raise NotFound(_("No audit with this number."))


async def editable_run(user: CurrentUser, audit_id: int) -> dict[str, Any]:
    """The run's access columns if `user` may fill it in: the lead, whoever started it,
    the quality manager, and the audit team."""
    audit = await visible_run(user, audit_id)
    if not access.can_edit(user, audit) and user.id not in await service.team_of(audit_id):
        raise Forbidden(_("Only the lead auditor can change this audit."))
    return audit


async def _filter_of(query: RunQuery) -> listing.RunFilter:
    invalid: dict[str, str] = {}
    if query.kind is not None and query.kind not in {k.value for k in Kind}:
        invalid["kind"] = _("Use one of: %(known)s",
                             known=", ".join(k.value for k in Kind))
    if query.status is not None and query.status not in listing.STATUSES:
        invalid["status"] = _("Use one of: %(known)s",
                               known=", ".join(listing.STATUSES))
    half = programme.read_half(query.period) if query.period is not None else None
    if query.period is not None and half is None:
        invalid["period"] = _("Give a half-year, such as 2026-H1.")
    if not 1 <= query.limit <= MAX_PAGE:
        invalid["limit"] = _("Enter a whole number from %(min)s to %(max)s.", min=1,
                             max=MAX_PAGE)
    if query.offset < 0:
        invalid["offset"] = _("Give a number of 0 or more.")
    if invalid:
        raise Invalid(_("Some values are not valid"), invalid=invalid)
    asset: int | None = None
    if query.asset is not None:
        found = await Asset.select(Asset.id).where(Asset.code == query.asset).first()
        asset = found["id"] if found else -1  # an unknown code matches no run
    return listing.RunFilter(kind=query.kind, status=query.status,
                             checklist=query.checklist, org_unit=query.org_unit,
                             project=query.project, asset=asset, half=half,
                             updated_since=query.updated_since)


async def visible_runs(user: CurrentUser, query: RunQuery
                       ) -> tuple[list[dict[str, Any]], int]:
    """One page of the runs `user` may open that match `query`, newest first, each with
    its `updated_at`; and how many match in all."""
    rows = await listing.matching(await _filter_of(query))
    facts = await _Known.gather(user, rows)
    seen = [r for r in rows if await _may_see(user, r, facts)]
    page = seen[query.offset:query.offset + query.limit]
    changed = await listing.last_changed([r["id"] for r in page])
    for row in page:
        at: datetime | None = changed.get(row["id"])
        row["updated_at"] = at or row["created_at"]
    return page, len(seen)
