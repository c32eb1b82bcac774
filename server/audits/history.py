"""What an audit's (or inspection's) history says: its fields, and each answer by the
item's prompt with the answer in words."""

from __future__ import annotations

from typing import Any

from server.accounts.tables import User
from server.audits.service import meaning_text
from server.audits.tables import Audit, Programme
from server.checklists import store
from server.checklists.labels import label
from server.checklists.model import Checklist
from server.checklists.presenting import answer_text
from server.core import i18n
from server.core.i18n import gettext as _
from server.history import readable
from server.history.readable import Entry, Shows, Vocabulary

FIELDS = {
    "checklist_key": lambda: _("Checklist"),
    "checklist_version": lambda: _("Checklist version"),
    "programme": lambda: _("Programme"),
    "lead_auditor": lambda: _("Lead auditor"),
    "planned_date": lambda: _("Planned date"),
    "cancel_reason": lambda: _("Reason for cancelling"),
    "started_at": lambda: _("Started"),
    "submitted_at": lambda: _("Submitted"),
    "closed_at": lambda: _("Closed"),
    "score_percent": lambda: _("Score"),
    "passed": lambda: _("Passed"),
    "signed_by": lambda: _("Signed by"),
    "signer_name": lambda: _("Signer"),
    "signed_at": lambda: _("Signed"),
    "signature_meaning": lambda: _("Meaning of the signature"),
    "team": lambda: _("Audit team"),
}
PROGRAMME = Vocabulary(Programme, values={"half": lambda v: _("H%(half)s", half=v)})


async def audit_history(audit_id: int) -> list[Entry]:
    row = await Audit.select(Audit.checklist_key, Audit.checklist_version).where(
        Audit.id == audit_id).first()
    checklist = await store.get(row["checklist_key"], row["checklist_version"]) if row else None
    return await readable.of(vocabulary(checklist), audit_id)


def vocabulary(checklist: Checklist | None) -> Vocabulary:
    def titled(key: Any) -> str:
        if checklist is not None and key == checklist.key:
            return checklist.title.get(i18n.current_language.get())
        return str(key)

    return Vocabulary(
        Audit,
        fields=FIELDS,
        values={
            "status": lambda v: label("status", v),
            "kind": lambda v: label("kind", v),
            "checklist_key": titled,
            "score_percent": lambda v: i18n.format_pct(float(v)),
            "signature_meaning": lambda v: meaning_text(str(v)),
        },
        hidden=frozenset({"score"}),
        refs={"team": User},
        dynamic=lambda name: _answer_field(checklist, name),
        reason=meaning_text,  # a submission's reason is the signature's meaning
    )


def _answer_field(checklist: Checklist | None, name: str) -> tuple[str, Shows] | None:
    """"QM1.01.value" / "QM1.01.comment": the item's answer or comment."""
    item_id, _dot, part = name.rpartition(".")
    item = checklist.item(item_id) if checklist and item_id else None
    if item is None:
        return None
    lang = i18n.current_language.get()
    prompt = item.prompt.get(lang)
    short = prompt if len(prompt) <= 60 else prompt[:59] + "…"
    if part == "value":
        return f"{item_id} {short}", lambda v: answer_text(checklist, item, v) or "—"  # type: ignore[arg-type]
    if part == "comment":
        return f"{item_id} {_('Comment')}", str
    return f"{item_id} {_('Other field')}", str
