"""Who may open a run (audit or inspection): one rule for its page, its photos, its
report and the API. An inspection is seen by whoever sees its asset (an engineer: the
assets of their department and projects, and those scheduled to them), besides the
people who ran it and those who see every run."""

from __future__ import annotations

from typing import Any

from server.accounts.current import CurrentUser
from server.assets import access as asset_access
from server.assets.tables import Asset
from server.audits import access, service
from server.core.errors import Forbidden, NotFound
from server.core.i18n import gettext as _
from server.findings.queries import owns_nc_of


async def visible_run(user: CurrentUser, audit_id: int) -> dict[str, Any]:
    """The run's access columns if `user` may see it; NotFound otherwise (so that ids of
    runs one may not see are not revealed)."""
    try:
        audit = await service.access_row(audit_id)
    except NotFound:
        raise NotFound(_("No audit with this number.")) from None
    if access.can_view(user, audit) and await _sees_subject(user, audit):
        return audit
    if user.id in await service.team_of(audit_id):
        return audit
    if access.can_view(user, audit, True) and await owns_nc_of(user.id, audit_id):
        return audit
    raise NotFound(_("No audit with this number."))


async def _sees_subject(user: CurrentUser, audit: dict[str, Any]) -> bool:
    """An inspection's asset must be visible to whoever is neither its runner nor one of
    those who see every run."""
    if audit["kind"] != "inspection" or audit.get("asset") is None:
        return True
    if user.sees_everything or user.id in (audit.get("lead_auditor"), audit.get("created_by")):
        return True
    asset = await Asset.objects().get(Asset.id == audit["asset"])
    return asset is not None and await asset_access.sees(user, asset.to_dict())


async def editable_run(user: CurrentUser, audit_id: int) -> dict[str, Any]:
    """The run's access columns if `user` may fill it in: the lead, whoever started it,
    the quality manager, and the audit team."""
    audit = await visible_run(user, audit_id)
    if not access.can_edit(user, audit) and user.id not in await service.team_of(audit_id):
        raise Forbidden(_("Only the lead auditor can change this audit."))
    return audit
