"""What the NC pages show: the detail page's context (the NC, what this person may
do with it, the forms), shared by the page and by re-rendering after a refusal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server import clock
from server.accounts.tables import User
from server.findings import policy as pol
from server.findings.queries import detail
from server.findings.workflow import (
    ACTION_KINDS,
    CAUSE_CATEGORIES,
    DRAFT_EDITORS,
    PLANNING_STATES,
    NcFacts,
    Who,
    WorkflowError,
    available,
    cause_label,
    field_label,
    may,
    state_label,
    transition_label,
)
from server.i18n import gettext as _

# The fields each transition's form asks for (comment is always offered).
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "issue": ("owner", "description", "verification_standard"),
    "contain": ("containment",),
    "analyse": ("root_cause", "cause_category", "five_whys", "similar_elsewhere"),
    "plan": ("verification_standard",),
    "verify_effective": ("verification_note",),
    "verify_not_effective": ("verification_note",),
    "close_observation": ("disposition",),
}
PRIMARY = {"issue", "contain", "analyse", "plan", "approve_plan", "start",
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
    def of(cls, exc: WorkflowError, form: str, values: Mapping[str, Any]) -> Problem:
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


async def active_users() -> list[dict[str, Any]]:
    return await User.select(User.id, User.name, User.login).where(
        User.active == True  # noqa: E712
    ).order_by(User.name)


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
    preview_due = pol.plan_due(policy, nc["severity"], today) if nc["state"] == "draft" else None
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
            a["id"]: nc["state"] == "implementing" and a["status"] == "open"
            and user.id in (a["owner"], nc.get("owner"))
            for a in nc["actions"]
        },
        "history": nc["history"],
        "severities": ("major", "minor", "observation"),
    }
