"""Starting runs that concern an asset: an inspection from the asset's page, or any run
through the API (which may name an asset by its code)."""

from __future__ import annotations

from typing import Any

from server.accounts.current import CurrentUser
from server.assets import categories, views
from server.assets.tables import Asset
from server.audits import access, service
from server.audits.schemas import StartAudit
from server.audits.tables import Audit
from server.checklists import store
from server.core.errors import Conflict, Forbidden, Invalid, NotFound
from server.core.i18n import gettext as _
from server.db.engine import write_transaction


async def _check_inspectable(asset: Asset, key: str) -> None:
    if asset.status != "in_service":
        raise Conflict(_("Only assets in service are inspected."))
    groups = await categories.checklists_by_category()
    if not any(s.key == key for s in groups.get(asset.category, [])):
        raise Invalid(_("This checklist does not apply to this asset."), invalid={
            "checklist": _("This checklist does not apply to this asset.")})


async def begin_inspection(asset: Asset, key: str, actor: Any) -> tuple[int, bool]:
    """Start (or resume) an inspection of the asset: (audit id, newly started)."""
    await _check_inspectable(asset, key)
    async with write_transaction():
        running = await views.open_run(asset.id, key)
        if running is not None:
            return running, False
        audit = await service.start_audit(
            key, actor, asset=asset.id, org_unit=asset.org_unit, project=asset.project,
            title=f"{asset.code} {asset.name}")
    return audit.id, True


async def start_run(data: StartAudit, user: CurrentUser) -> Audit:
    """A run started through the API; with `asset`, the inspection of that asset."""
    summary = await store.latest_summary(data.checklist)
    if summary is None:
        raise NotFound(_("No checklist with this key"))
    if not access.can_start(user, summary.kind, data.checklist, data.project):
        raise Forbidden(_("You may not start runs of this checklist."))
    if data.asset is None:
        return await service.start_audit(
            data.checklist, user, version=data.version, title=data.title,
            org_unit=data.org_unit, project=data.project)
    # The asset must be one this person sees, and the checklist one that applies to it.
    asset = await views.visible_asset(user, data.asset)
    await _check_inspectable(asset, data.checklist)
    return await service.start_audit(
        data.checklist, user, version=data.version, title=data.title or f"{asset.code} "
        f"{asset.name}", org_unit=asset.org_unit, project=asset.project, asset=asset.id)
