"""What the histories of NCs, their actions and the NC policy say."""

from __future__ import annotations

from typing import Any

from server.changelog.record import history
from server.checklists.labels import label
from server.core.i18n import gettext as _
from server.findings.labels import (
    action_kind_label,
    action_status_label,
    incident_level_label,
    source_label,
)
from server.findings.policy import POLICY_KEY
from server.findings.tables import AppSetting, CorrectiveAction, Nonconformance
from server.findings.workflow import (
    BY_NAME,
    cause_label,
    field_label,
    state_label,
    transition_label,
)
from server.history import readable
from server.history.readable import Entry, Vocabulary

# What each step of the workflow reads as, once done.
DONE = {
    "issue": lambda: _("issued the NC"),
    "contain": lambda: _("recorded the containment"),
    "analyse": lambda: _("recorded the root cause"),
    "plan": lambda: _("submitted the action plan"),
    "approve_plan": lambda: _("approved the plan"),
    "reject_plan": lambda: _("sent the plan back"),
    "start": lambda: _("started implementing"),  # a step of records from before approval did it
    "fix_on_spot": lambda: _("corrected the NC on the spot, verified it and closed it"),
    "attach": lambda: _("attached a file"),
    "request_verification": lambda: _("asked for verification"),
    "verify_effective": lambda: _("verified the actions as effective and closed the NC"),
    "verify_not_effective": lambda: _("found the actions not effective"),
    "close_observation": lambda: _("closed the observation with a disposition"),
    "cancel": lambda: _("cancelled the NC"),
    "reopen": lambda: _("reopened the NC on recurrence"),
    "action_added": lambda: _("added an action"),
    "merge": lambda: _("merged the NCs"),
}


def _step(name: str) -> Any:
    return DONE.get(name) or (lambda: transition_label(name))


NC_FIELDS = {
    "ref": lambda: _("Reference"),
    "raised_by": lambda: _("Raised by"),
    "raised_at": lambda: _("Raised"),
    "issued_at": lambda: _("Issued"),
    "state": lambda: _("State"),
    "plan_approved_by": lambda: _("Plan approved by"),
    "plan_approved_at": lambda: _("Plan approved"),
    "verified_by": lambda: _("Verified by"),
    "verified_at": lambda: _("Verified"),
    "closed_at": lambda: _("Closed"),
    "cancel_reason": lambda: _("Reason for cancelling"),
    "recurrence_of": lambda: _("Recurrence of"),
    "reopen_count": lambda: _("Times reopened"),
    "concession": lambda: _("Concession"),
    "title_zh": lambda: _("Title in Chinese"),
    "title_en": lambda: _("Title in English"),
    **{name: (lambda name=name: field_label(name)) for name in (
        "owner", "containment", "root_cause", "cause_category", "five_whys",
        "similar_elsewhere", "verification_standard", "verification_note", "disposition",
        "description", "title", "severity", "severity_reason", "due_date", "source",
        "incident_level", "requirement", "evidence")},
}
NC = Vocabulary(
    Nonconformance,
    fields=NC_FIELDS,
    values={
        "state": lambda v: state_label(str(v)),
        "severity": lambda v: label("severity", v),
        "source": lambda v: source_label(str(v)),
        "cause_category": lambda v: cause_label(str(v)),
        "incident_level": lambda v: incident_level_label(v),
    },
    actions={name: _step(name) for name in [*BY_NAME, *DONE]},
    hidden=frozenset({"evidence", "requirement"}),  # shown in full on the NC itself
)


def _action_subject(row: dict[str, Any]) -> str:
    return _("Action #%(n)s", n=row["record_id"])


ACTION = Vocabulary(
    CorrectiveAction,
    fields={"nc": lambda: _("Nonconformance"), "done_at": lambda: _("Done"),
            "done_note": lambda: _("What was done")},
    values={"kind": lambda v: action_kind_label(str(v)),
            "status": lambda v: action_status_label(str(v))},
    subject=_action_subject,
)


def policy_text(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    parts = []
    for severity in ("major", "minor", "observation"):
        rule = value.get(severity)
        if not isinstance(rule, dict):
            continue
        words = [_("action required") if rule.get("corrective_action") else _("no action")]
        if rule.get("plan_days") is not None:
            words.append(_("plan within %(n)s days", n=rule["plan_days"]))
        if rule.get("close_days") is not None:
            words.append(_("closed within %(n)s days", n=rule["close_days"]))
        if rule.get("working_days"):
            words.append(_("counted in working days"))
        parts.append(f"{label('severity', severity)}: {', '.join(words)}")
    if value.get("remind_days_before") is not None:
        parts.append(_("reminders %(n)s days before", n=value["remind_days_before"]))
    if value.get("days_off"):
        parts.append(_("extra days off: %(days)s", days=", ".join(map(str, value["days_off"]))))
    return "; ".join(parts)


POLICY = Vocabulary(AppSetting, fields={"value": lambda: _("NC policy")},
                    values={"value": policy_text}, hidden=frozenset({"key", "updated_at"}))


async def nc_history(nc_id: int, action_ids: list[int]) -> list[Entry]:
    """The NC's history with its actions' entries, in order."""
    rows = [(NC, r) for r in await history("nonconformance", nc_id)]
    for action_id in action_ids:
        rows += [(ACTION, r) for r in await history("corrective_action", action_id)]
    return await readable.readable(rows)


async def policy_history() -> list[Entry]:
    row = await AppSetting.select(AppSetting.id).where(AppSetting.key == POLICY_KEY).first()
    return await readable.of(POLICY, row["id"]) if row else []
