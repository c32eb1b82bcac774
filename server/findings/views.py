"""What the NC pages show: the detail page's context (the NC, what this person may
do with it, the forms), shared by the page and by re-rendering after a refusal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server.accounts.users import active_users
from server.assets.views import asset_choices
from server.core import clock
from server.core.errors import DomainError
from server.core.i18n import gettext as _
from server.findings import policy as pol
from server.findings.access import audit_of
from server.findings.history import nc_history
from server.findings.labels import incident_level_definition, incident_level_label
from server.findings.queries import detail, visible_ids_of_audit
from server.findings.service import clock_start
from server.findings.tables import Nonconformance
from server.findings.workflow import (
    ACTION_KINDS,
    CAUSE_CATEGORIES,
    DRAFT_EDITORS,
    FILE_OF,
    FORM_FIELDS,
    IMPLEMENTING,
    MANUAL_SOURCES,
    PLANNING_STATES,
    SEVERITIES,
    Context,
    NcFacts,
    Who,
    WorkflowError,
    approval_due,
    attachment_label,
    available,
    cause_label,
    due_reason,
    field_label,
    may,
    state_label,
    transition_label,
)
from server.org.queries import org_units, projects

PRIMARY = {"issue", "contain", "analyse", "plan", "approve_plan",
           "request_verification", "verify_effective", "close_observation"}


@dataclass(frozen=True)
class Problem:
    """A refused form: its status, message, the fields at fault, what was typed."""

    status: int
    message: str
    missing: tuple[str, ...] = ()
    invalid: tuple[tuple[str, str], ...] = ()
    form: str = ""  # which form failed ("transition:<name>", "action", "edit"...)
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, exc: DomainError, form: str, values: Mapping[str, Any]) -> Problem:
        return cls(
            exc.status,
            exc.message,
            tuple(exc.missing),
            tuple(exc.invalid.items()),
            form,
            tuple((k, str(v)) for k, v in values.items() if k not in ("_csrf",)),
        )

    def value(self, name: str, default: Any = "") -> Any:
        for key, val in self.values:
            if key == name:
                return val
        return default

    def error(self, name: str) -> str:
        if name in self.missing:
            return _("Required.")
        return dict(self.invalid).get(name, "")


def facts_from(nc: dict[str, Any]) -> NcFacts:
    actions = nc.get("actions", [])
    return NcFacts(
        state=nc["state"],
        severity=nc["severity"],
        owner_id=nc.get("owner"),
        raised_by=nc.get("raised_by"),
        source=nc.get("source") or "manual",
        verification_standard=nc.get("verification_standard") or "",
        actions_open=sum(1 for a in actions if a["status"] == "open"),
        actions_done=sum(1 for a in actions if a["status"] == "done"),
        concession=nc.get("concession"),
        reopen_count=nc.get("reopen_count") or 0,
        incident_level=nc.get("incident_level"),
        attachment_steps=frozenset(a["step"] for a in nc.get("attachments", [])),
    )


async def detail_context(nc_id: int, user: Any, problem: Problem | None = None
                         ) -> dict[str, Any]:
    today = clock.today()
    nc = await detail(nc_id, today)
    if nc is None:
        raise WorkflowError(404, _("No such nonconformance."))
    facts = facts_from(nc)
    who = Who.of(user)
    transitions = available(facts, who)
    policy = await pol.load_policy()
    preview_due = pol.issue_due(policy, nc["severity"], nc.get("incident_level"), today
                                ) if nc["state"] == "draft" else None
    is_owner = user.id == nc.get("owner")
    return {
        "nc": nc,
        "today": today,
        "transitions": transitions,
        "form_fields": FORM_FIELDS,
        "primary": PRIMARY,
        "transition_label": transition_label,
        "state_label": state_label,
        "field_label": field_label,
        "cause_label": cause_label,
        "cause_categories": CAUSE_CATEGORIES,
        "action_kinds": ACTION_KINDS,
        "users": await active_users(),
        "problem": problem,
        "preview_due": preview_due,
        "form_key": form_key,
        "transition_keys": [form_key(t) for t in transitions],
        "approval": await approval_preview(nc_id, facts, nc, policy, transitions),
        "file_of": FILE_OF,
        "attachment_label": attachment_label,
        "fixed_on_spot": any(h.get("action") == "fix_on_spot" for h in nc.get("history", [])),
        "incident_label": incident_level_label(nc["incident_level"])
        if nc.get("incident_level") else "",
        "incident_definition": incident_level_definition(nc.get("incident_level")),
        "can_edit_draft": nc["state"] == "draft" and may(DRAFT_EDITORS, who, facts),
        "can_change_severity": nc["state"] not in ("closed", "cancelled") and (
            who.has("quality_manager")
            or (nc["state"] == "draft" and may(DRAFT_EDITORS, who, facts))
        ),
        "can_reassign": nc["state"] in pol.ACTIVE_STATES and who.has("quality_manager"),
        "can_concession": nc["state"] in pol.ACTIVE_STATES and who.has("quality_manager"),
        "concession_active": pol.concession_until(nc.get("concession")) is not None,
        "can_plan": nc["state"] in PLANNING_STATES and is_owner,
        "can_complete": {
            a["id"]: nc["state"] in IMPLEMENTING and a["status"] == "open"
            and user.id in (a["owner"], nc.get("owner"))
            for a in nc["actions"]
        },
        "history": await nc_history(nc["id"], [a["id"] for a in nc["actions"]]),
        "severities": ("major", "minor", "observation"),
    }


def form_key(t: Any) -> str:
    """Which form a refusal belongs to: the page posts a step by name or by its target."""
    return f"step:{t.name}" if t.by_name else f"to:{t.target}"


async def approval_preview(nc_id: int, facts: NcFacts, nc: dict[str, Any], policy: pol.Policy,
                           transitions: list[Any]) -> dict[str, Any] | None:
    """For the quality manager about to approve a plan: the due date now, the one approval
    sets, and why (the change log records the same reason)."""
    if not any(t.name == "approve_plan" for t in transitions):
        return None
    row = await Nonconformance.objects().get(Nonconformance.id == nc_id)
    start = await clock_start(row) if row is not None else None
    ctx = Context(now=datetime.now(UTC), today=clock.today(), policy=policy, clock_start=start)
    new = approval_due(facts, ctx)
    old = nc.get("due_date")
    return {"old": old, "new": new,
            "reason": due_reason("approve_plan", facts, policy, old, new)}


async def new_context(values: Mapping[str, Any], problem: Problem | None) -> dict[str, Any]:
    """The form for raising an NC by hand."""
    return {
        "values": values, "problem": problem, "sources": MANUAL_SOURCES,
        "severities": SEVERITIES, "users": await active_users(),
        "org_units": await org_units(), "projects": await projects(),
        "assets": await asset_choices(),
        "incident_label": incident_level_label, "incident_definition": incident_level_definition,
    }


async def review_context(audit_id: int, user: Any, problem: Problem | None = None
                         ) -> dict[str, Any]:
    """The auditor's review of an audit's draft NCs (and those already issued)."""
    audit = await audit_of(audit_id)
    if audit is None:
        raise WorkflowError(404, _("No audit with this number."))
    rows = await visible_ids_of_audit(audit_id, user)
    if not rows and not user.sees_everything and audit["lead_auditor"] != user.id:
        raise WorkflowError(404, _("No audit with this number."))
    today = clock.today()
    policy = await pol.load_policy()
    who = Who.of(user)
    drafts, issued = [], []
    for nc_id in rows:
        nc = await detail(nc_id, today)
        if nc is None:
            continue
        nc["preview_due"] = pol.plan_due(policy, nc["severity"], today)
        nc["can_edit"] = nc["state"] == "draft" and may(DRAFT_EDITORS, who, facts_from(nc))
        (drafts if nc["state"] == "draft" else issued).append(nc)
    return {"audit": audit, "drafts": drafts, "issued": issued, "users": await active_users(),
            "severities": SEVERITIES, "state_label": state_label, "problem": problem,
            "can_review": any(d["can_edit"] for d in drafts)}
