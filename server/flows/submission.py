"""Submitting a run: it is scored and locked, and each failed item becomes a draft NC,
all in one transaction (a submitted run never lacks its drafts)."""

from __future__ import annotations

from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.users import password_matches
from server.audits import service
from server.audits.scoring import Score
from server.core.errors import Forbidden
from server.core.i18n import gettext as _
from server.db.engine import write_transaction
from server.findings.raising import raise_drafts_for_audit


async def submit_run(audit_id: int, actor: Any, *,
                     meaning: str = service.SIGNATURE_MEANING) -> Score:
    async with write_transaction():
        result = await service.submit(audit_id, actor, meaning=meaning)
        await raise_drafts_for_audit(audit_id, actor)
    return result


async def sign_and_submit(audit_id: int, signer: CurrentUser, password: str) -> Score:
    """Submit from the form: the signer re-enters their password as their signature."""
    if not await password_matches(signer.id, password):
        raise Forbidden(_("The password is not correct; the audit was not submitted."))
    return await submit_run(audit_id, signer)
