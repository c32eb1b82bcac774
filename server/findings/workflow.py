"""The NC workflow as plain functions: which transitions exist, who may make them,
what they require, and the field values they write.

    draft -> open -> containment -> root_cause -> action_plan -> implementing
          -> verification -> closed
    draft | open -> closed          (a minor NC fixed on the spot and verified by the auditor)
    action_plan -> root_cause       (plan rejected by the quality manager)
    verification -> root_cause      (fix not effective)
    any active -> closed            (observations, with a disposition, by the QM)
    any not closed -> cancelled     (with a reason, by the QM)
    closed -> open                  (reopened on recurrence)

Approving the plan starts its implementation (there is no separate "start" step); an NC
approved before that change may still be in `plan_approved`, which reads and moves on
exactly like `implementing`.

`decide()` checks in a fixed order so every refusal has one clear status:
409 the transition does not exist from this state; 403 this person may not make it;
409 a condition on the NC is not met (e.g. actions still open); 422 fields missing
or invalid (all of them listed). Who counts as what is decided from roles and from
the NC itself (its owner, who raised it); which NCs a person can see at all is
decided elsewhere (access.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from server.core import inputs
from server.core.errors import DomainError
from server.core.i18n import gettext as _
from server.findings.policy import (
    ACTIVE_STATES,
    Policy,
    close_due,
    concession_until,
    issue_due,
    plan_due,
)

STATES = (
    "draft",
    "open",
    "containment",
    "root_cause",
    "action_plan",
    "plan_approved",
    "implementing",
    "verification",
    "closed",
    "cancelled",
)
SEVERITIES = ("major", "minor", "observation")
CAUSE_CATEGORIES = (
    "people",
    "method",
    "machine",
    "material",
    "measurement",
    "environment",
    "management",
)
ACTION_KINDS = ("correction", "corrective", "preventive")
SOURCES = ("audit", "inspection", "manual", "random_check", "complaint", "incident")
MANUAL_SOURCES = ("manual", "random_check", "complaint", "incident")
MAX_TEXT = 10_000


class Party(StrEnum):
    """Who may act: by role, or by their relation to the NC."""

    quality_manager = "quality_manager"
    auditor = "auditor"
    raiser = "raiser"  # the person who raised the NC
    owner = "owner"  # the NC's owner, whatever their role
    verifier = "verifier"  # an auditor, a quality specialist or the QM, not the owner


class WorkflowError(DomainError):
    """A refused NC operation: 403, 404, 409 or 422 (with the fields missing or invalid).
    The API lets it propagate; pages catch it to show the problem beside the form that
    caused it."""

    def __init__(
        self,
        status: int,
        message: str,
        missing: list[str] | None = None,
        invalid: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, status=status, missing=missing, invalid=invalid, **details)


@dataclass(frozen=True)
class Who:
    id: int | None
    roles: frozenset[str]

    @classmethod
    def of(cls, user: Any) -> Who:
        return cls(getattr(user, "id", None), frozenset(getattr(user, "roles", ())))

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class NcFacts:
    """What the rules need to know about an NC (nothing else)."""

    state: str
    severity: str
    owner_id: int | None = None
    raised_by: int | None = None
    source: str = "manual"
    verification_standard: str = ""
    actions_open: int = 0
    actions_done: int = 0
    concession: Any = None
    reopen_count: int = 0
    incident_level: int | None = None
    attachment_steps: frozenset[str] = frozenset()  # the steps that have a file attached


@dataclass(frozen=True)
class Context:
    """The moment of the decision and the policy in force."""

    now: datetime
    today: date
    policy: Policy
    clock_start: date | None = None  # the day the NC's deadlines count from


@dataclass(frozen=True)
class Transition:
    """One step of the workflow. `form` lists the fields its form asks for (a comment is
    always offered), `required` those of them that must be filled in."""

    name: str
    sources: tuple[str, ...]
    target: str
    parties: frozenset[Party]
    form: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    comment_required: bool = False
    only_severity: str | None = None
    by_name: bool = False  # chosen only when asked for by name ("step"), never by target


def _t(
    name: str,
    sources: tuple[str, ...] | str,
    target: str,
    parties: set[Party],
    form: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
    comment_required: bool = False,
    only_severity: str | None = None,
    by_name: bool = False,
) -> Transition:
    return Transition(
        name,
        (sources,) if isinstance(sources, str) else sources,
        target,
        frozenset(parties),
        form,
        required,
        comment_required,
        only_severity,
        by_name,
    )


P = Party
NOT_DISPOSED = ("open", "containment", "root_cause", "action_plan", "plan_approved",
                "implementing")
IMPLEMENTING = ("plan_approved", "implementing")  # plan_approved: records from before
TRANSITIONS: tuple[Transition, ...] = (
    # The owner is required unless the NC is an observation (which nobody has to fix).
    _t("issue", "draft", "open", {P.quality_manager, P.auditor, P.raiser},
       ("owner", "description", "verification_standard"), ("owner",)),
    _t("contain", "open", "containment", {P.owner}, ("containment",), ("containment",)),
    _t(
        "analyse",
        "containment",
        "root_cause",
        {P.owner},
        ("root_cause", "cause_category", "five_whys", "similar_elsewhere"),
        ("root_cause", "cause_category", "similar_elsewhere"),
    ),
    # The standard is required unless the NC already has one (set when it was issued).
    _t("plan", "root_cause", "action_plan", {P.owner}, ("verification_standard",),
       ("verification_standard",)),
    _t("approve_plan", "action_plan", "implementing", {P.quality_manager}),
    _t("reject_plan", "action_plan", "root_cause", {P.quality_manager}, comment_required=True),
    _t("request_verification", IMPLEMENTING, "verification", {P.owner}),
    _t("verify_effective", "verification", "closed", {P.verifier}, ("verification_note",),
       ("verification_note",)),
    _t("verify_not_effective", "verification", "root_cause", {P.verifier},
       ("verification_note",), ("verification_note",)),
    # Procedure 002 5.3.1: a simple, one-off problem is corrected on the spot and verified
    # again; no plan cycle. Only for minor NCs, and only with evidence attached.
    _t("fix_on_spot", ("draft", "open"), "closed", {P.auditor, P.raiser},
       ("containment", "verification_note"), ("containment", "verification_note"),
       only_severity="minor", by_name=True),
    _t("close_observation", NOT_DISPOSED, "closed", {P.quality_manager}, ("disposition",),
       ("disposition",), only_severity="observation"),
    _t("cancel", ("draft", *ACTIVE_STATES), "cancelled", {P.quality_manager},
       comment_required=True),
    _t("reopen", "closed", "open", {P.quality_manager, P.auditor}, comment_required=True),
)
BY_NAME = {t.name: t for t in TRANSITIONS}
# The steps that take a file, and the attachment step the file is filed under.
ATTACHMENT_STEPS = ("containment", "action", "verification", "concession", "on_the_spot")
FILE_OF = {"contain": "containment", "verify_effective": "verification",
           "verify_not_effective": "verification", "fix_on_spot": "on_the_spot"}
FORM_FIELDS = {t.name: t.form for t in TRANSITIONS if t.form}
# The states in which the NC's owner has the next step.
OWNER_STATES = tuple(s for s in STATES if any(
    s in t.sources and P.owner in t.parties for t in TRANSITIONS))


def transition_label(name: str) -> str:
    return {
        "issue": _("Issue"),
        "contain": _("Record the containment"),
        "analyse": _("Record the root cause"),
        "plan": _("Submit the action plan"),
        "approve_plan": _("Approve the plan"),
        "reject_plan": _("Send the plan back"),
        "fix_on_spot": _("Fixed on the spot: close"),
        "request_verification": _("Ask for verification"),
        "verify_effective": _("Effective: close"),
        "verify_not_effective": _("Not effective: back to root cause"),
        "close_observation": _("Close with a disposition"),
        "cancel": _("Cancel the NC"),
        "reopen": _("Reopen on recurrence"),
    }.get(name, name)


def state_label(state: str) -> str:
    return {
        "draft": _("Draft"),
        "open": _("Issued to the owner"),
        "containment": _("Contained"),
        "root_cause": _("Root cause found"),
        "action_plan": _("Plan submitted"),
        "plan_approved": _("Plan approved"),
        "implementing": _("Implementing"),
        "verification": _("Awaiting verification"),
        "closed": _("Closed"),
        "cancelled": _("Cancelled"),
    }.get(state, state)


def field_label(name: str) -> str:
    return {
        "owner": _("Owner"),
        "containment": _("Immediate correction (containment)"),
        "root_cause": _("Root cause"),
        "cause_category": _("Cause category"),
        "five_whys": _("Five whys"),
        "similar_elsewhere": _("Similar problems elsewhere?"),
        "verification_standard": _("Verification standard"),
        "verification_note": _("Verification result"),
        "disposition": _("Disposition"),
        "comment": _("Comment"),
        "description": _("Description"),
        "title": _("Title"),
        "severity": _("Severity"),
        "severity_reason": _("Reason for the severity"),
        "kind": _("Kind"),
        "due_date": _("Due date"),
        "plan": _("Agreed plan"),
        "until": _("Agreed date"),
        "client_contact": _("Client contact"),
        "note": _("Note"),
        "reason": _("Reason"),
        "source": _("Source"),
        "incident_level": _("Incident level"),
        "requirement": _("Requirement"),
        "evidence": _("Evidence"),
        "client_name": _("Client (who approved)"),
        "approved_on": _("Approval date"),
        "file": _("Attachment"),
    }.get(name, name)


def cause_label(code: str) -> str:
    return {
        "people": _("People"),
        "method": _("Method"),
        "machine": _("Machine / equipment"),
        "material": _("Material"),
        "measurement": _("Measurement"),
        "environment": _("Environment"),
        "management": _("Management"),
    }.get(code, code)


# --- who is who --------------------------------------------------------------


def parties_of(who: Who, nc: NcFacts) -> set[Party]:
    found: set[Party] = set()
    if who.has("quality_manager"):
        found.add(P.quality_manager)
    if who.has("auditor"):
        found.add(P.auditor)
    if who.id is not None and who.id == nc.raised_by:
        found.add(P.raiser)
    if who.id is not None and who.id == nc.owner_id:
        found.add(P.owner)
    if (who.has("quality_manager") or who.has("auditor") or who.has("quality_specialist")
            ) and who.id != nc.owner_id:
        found.add(P.verifier)
    return found


def may(parties: frozenset[Party] | set[Party], who: Who, nc: NcFacts) -> bool:
    return bool(set(parties) & parties_of(who, nc))


# --- finding the transition --------------------------------------------------


def _named(nc: NcFacts, step: str, to: str) -> Transition:
    t = BY_NAME.get(step)
    if t is None or (to and to != t.target):
        raise WorkflowError(409, _("Unknown step: %(step)s", step=step))
    if t.name == "fix_on_spot" and nc.severity != "minor":
        raise WorkflowError(409, _(
            "Only a minor NC can be fixed on the spot. A major NC needs a corrective plan "
            "approved by the quality manager; an observation is closed with a disposition."))
    if t.only_severity and nc.severity != t.only_severity:
        raise WorkflowError(409, _("This step does not apply to an NC of this severity."))
    if nc.state not in t.sources:
        raise WorkflowError(409, _(
            "An NC in state %(state)s cannot take this step (%(step)s).",
            state=state_label(nc.state), step=transition_label(t.name)))
    return t


def find(nc: NcFacts, to: str, step: str = "") -> Transition:
    """The transition from the NC's state to `to` (or the one named `step`), or 409
    with the reason."""
    if step:
        return _named(nc, step, to)
    if to not in STATES:
        raise WorkflowError(409, _("Unknown state: %(state)s", state=to))
    for t in TRANSITIONS:
        if t.by_name:
            continue
        if nc.state in t.sources and t.target == to:
            if t.only_severity and nc.severity != t.only_severity:
                continue
            return t
    if nc.state in ("closed", "cancelled") and to != "open":
        raise WorkflowError(
            409, _("This NC is %(state)s; it can no longer change.", state=state_label(nc.state))
        )
    if to == "closed" and nc.state in NOT_DISPOSED:
        raise WorkflowError(
            409,
            _("Only observations can be closed without verification; this NC must be "
              "verified first."),
        )
    raise WorkflowError(
        409,
        _(
            "An NC in state %(state)s cannot move to %(to)s.",
            state=state_label(nc.state),
            to=state_label(to),
        ),
    )


def _party_refusal(t: Transition, who: Who, nc: NcFacts) -> str:
    if t.parties == {P.verifier} and who.id == nc.owner_id and (
        who.has("quality_manager") or who.has("auditor") or who.has("quality_specialist")
    ):
        return _("The owner of an NC cannot verify it; another auditor or the quality "
                 "manager must.")
    names = {
        P.quality_manager: _("the quality manager"),
        P.auditor: _("an auditor"),
        P.raiser: _("the person who raised it"),
        P.owner: _("the NC's owner"),
        P.verifier: _("an auditor, a quality specialist or the quality manager who is not "
                      "the owner"),
    }
    allowed = ", ".join(names[p] for p in sorted(t.parties))
    return _("Only %(who)s may do this.", who=allowed)


def _guards(t: Transition, nc: NcFacts) -> None:
    if t.name == "plan" and nc.actions_open + nc.actions_done == 0:
        raise WorkflowError(
            409, _("Add at least one action (correction, corrective or preventive) first.")
        )
    if t.name == "request_verification":
        if nc.actions_open:
            raise WorkflowError(
                409,
                _("%(n)s action(s) are not done yet; verification starts once every action "
                  "is done.", n=nc.actions_open),
            )
        if not nc.actions_done:
            raise WorkflowError(409, _("There is no completed action to verify."))
    if t.name == "issue" and nc.severity not in SEVERITIES:
        raise WorkflowError(409, _("Choose a severity first."))
    if t.name == "fix_on_spot" and "on_the_spot" not in nc.attachment_steps:
        raise WorkflowError(409, _("Attach the evidence of the correction (a photo or a "
                                   "document) to close the NC on the spot."),
                            missing=["file"])


# --- field checks ------------------------------------------------------------


def text_of(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return value.strip()


def int_of(value: Any) -> int | None:
    """A whole number, or None for anything else (the rules then say what is missing)."""
    try:
        return inputs.integer(value)
    except (TypeError, ValueError):
        return None


def date_of(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    try:
        return inputs.day(value)
    except (TypeError, ValueError):
        return None


def five_whys_of(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        return []
    return [str(v).strip()[:1000] for v in value if str(v).strip()][:5]


@dataclass
class Checked:
    """Collects missing and invalid fields, then raises one 422 listing them all."""

    missing: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)

    def text(self, fields: Mapping[str, Any], name: str, required: bool = True) -> str:
        value = text_of(fields, name)
        if required and not value:
            self.missing.append(name)
        elif len(value) > MAX_TEXT:
            self.invalid[name] = _("At most %(n)s characters.", n=MAX_TEXT)
        return value

    def raise_if_any(self) -> None:
        if self.missing or self.invalid:
            if self.missing:
                names = ", ".join(field_label(n) for n in self.missing)
                message = _("Please complete: %(fields)s", fields=names)
            else:
                names = ", ".join(field_label(n) for n in self.invalid)
                message = _("Please correct: %(fields)s", fields=names)
            raise WorkflowError(422, message, missing=self.missing, invalid=self.invalid)


UserCheck = Callable[[int], bool]


def _inputs(t: Transition, nc: NcFacts, fields: Mapping[str, Any], c: Checked,
            user_exists: UserCheck) -> dict[str, Any]:
    """The values of the fields `t` takes, checked: required ones present, others written
    only when sent."""
    values: dict[str, Any] = {}
    for name in t.form:
        required = name in t.required
        if name == "owner":
            owner = int_of(fields.get("owner"))
            if owner is None and nc.owner_id is not None and "owner" not in fields:
                owner = nc.owner_id
            if owner is None:
                if nc.severity != "observation":
                    c.missing.append("owner")
            elif not user_exists(owner):
                c.invalid["owner"] = _("No active user with this id.")
            values["owner"] = owner
        elif name == "cause_category":
            category = text_of(fields, name)
            if not category:
                c.missing.append(name)
            elif category not in CAUSE_CATEGORIES:
                c.invalid[name] = _("Choose one of: %(list)s", list=", ".join(CAUSE_CATEGORIES))
            values[name] = category
        elif name == "five_whys":
            values[name] = five_whys_of(fields.get(name))
        elif name == "verification_standard" and t.name == "plan":
            standard = c.text(fields, name, required=False)
            if not standard and not nc.verification_standard.strip():
                c.missing.append(name)
            if standard:
                values[name] = standard
        elif required or name in fields:
            values[name] = c.text(fields, name, required=required)
    return values


def _effects(t: Transition, nc: NcFacts, ctx: Context, who: Who, comment: str
             ) -> dict[str, Any]:
    """What a transition sets besides its fields: deadlines, who and when."""
    sev = nc.severity
    start = ctx.clock_start or ctx.today
    concession = concession_until(nc.concession)
    if t.name == "issue":
        return {"issued_at": ctx.now,
                "due_date": issue_due(ctx.policy, sev, nc.incident_level, ctx.today)}
    if t.name == "fix_on_spot":
        issued = {"issued_at": ctx.now} if nc.state == "draft" else {}
        return {**issued, "verified_by": who.id, "verified_at": ctx.now, "closed_at": ctx.now,
                "due_date": None}
    if t.name == "approve_plan":
        return {"plan_approved_by": who.id, "plan_approved_at": ctx.now,
                "due_date": concession or close_due(ctx.policy, sev, start)}
    if t.name == "reject_plan":
        return {"due_date": concession or plan_due(ctx.policy, sev, start)}
    if t.name == "verify_effective":
        done = {"concession": {**nc.concession, "status": "done",
                               "done_at": ctx.today.isoformat()}} if concession else {}
        return {"verified_by": who.id, "verified_at": ctx.now, "closed_at": ctx.now, **done}
    if t.name == "verify_not_effective":
        # The fix did not work: the plan clock starts again today.
        return {"verified_by": who.id, "verified_at": ctx.now,
                "due_date": concession or plan_due(ctx.policy, sev, ctx.today)}
    if t.name == "close_observation":
        return {"closed_at": ctx.now}
    if t.name == "cancel":
        return {"cancel_reason": comment}
    if t.name == "reopen":
        return {"reopen_count": nc.reopen_count + 1, "closed_at": None, "verified_by": None,
                "verified_at": None,
                "due_date": issue_due(ctx.policy, sev, nc.incident_level, ctx.today)}
    return {}


def _values(
    t: Transition,
    nc: NcFacts,
    fields: Mapping[str, Any],
    ctx: Context,
    who: Who,
    user_exists: UserCheck,
) -> dict[str, Any]:
    c = Checked()
    comment = c.text(fields, "comment", required=t.comment_required)
    values = {"state": t.target, **_inputs(t, nc, fields, c, user_exists)}
    c.raise_if_any()
    return {**values, **_effects(t, nc, ctx, who, comment)}


@dataclass(frozen=True)
class Decision:
    transition: Transition
    values: dict[str, Any]
    comment: str


def decide(
    nc: NcFacts,
    who: Who,
    to: str,
    fields: Mapping[str, Any],
    ctx: Context,
    user_exists: UserCheck = lambda _id: True,
) -> Decision:
    """Check one requested transition; returns the values to write or raises. A step
    that is taken only by name (fix_on_spot) is asked for with fields["step"]."""
    t = find(nc, to, text_of(fields, "step"))
    if not may(t.parties, who, nc):
        raise WorkflowError(403, _party_refusal(t, who, nc))
    _guards(t, nc)
    values = _values(t, nc, fields, ctx, who, user_exists)
    return Decision(t, values, text_of(fields, "comment"))


def available(nc: NcFacts, who: Who) -> list[Transition]:
    """The transitions this person could make now (fields aside), for the forms."""
    out = []
    for t in TRANSITIONS:
        if nc.state not in t.sources:
            continue
        if t.only_severity and nc.severity != t.only_severity:
            continue
        if may(t.parties, who, nc):
            out.append(t)
    return out


def approval_due(nc: NcFacts, ctx: Context) -> date | None:
    """The due date approving the plan would set: the closure deadline, or an active
    concession's agreed date (shown before approving, so the move is never silent)."""
    return concession_until(nc.concession) or close_due(
        ctx.policy, nc.severity, ctx.clock_start or ctx.today)


def due_reason(step: str, nc: NcFacts, policy: Policy, old: date | None, new: date | None
               ) -> str:
    """Why a step moved the due date, in words, for the change log's reason."""
    if old == new:
        return ""
    rule = policy.rule(nc.severity)
    unit = _("working days") if rule.working_days else _("calendar days")
    if concession_until(nc.concession) and new == concession_until(nc.concession):
        why = _("the date agreed in the concession")
    elif step == "approve_plan":
        why = _("closure is due %(n)s %(unit)s after the NC was issued",
                n=rule.close_days, unit=unit)
    else:
        why = _("the corrective plan is due %(n)s %(unit)s after the deadline clock started",
                n=rule.plan_days, unit=unit)
    return _("Due date moved from %(old)s to %(new)s: %(why)s.",
             old=old.isoformat() if old else "—", new=new.isoformat() if new else "—", why=why)


# --- changes that are not transitions ----------------------------------------

EDITABLE_IN_DRAFT = ("title", "description", "verification_standard", "owner")
DRAFT_EDITORS = frozenset({P.quality_manager, P.auditor, P.raiser})


def check_edit_draft(nc: NcFacts, who: Who) -> None:
    if nc.state != "draft":
        raise WorkflowError(409, _("Only drafts can be edited this way; this NC is issued."))
    if not may(DRAFT_EDITORS, who, nc):
        raise WorkflowError(403, _("Only the auditor or the quality manager may edit a draft."))


def check_severity_change(nc: NcFacts, who: Who, severity: str, reason: str) -> None:
    if nc.state in ("closed", "cancelled"):
        raise WorkflowError(409, _("A closed or cancelled NC is evidence; it cannot change."))
    if nc.state == "draft":
        if not may(DRAFT_EDITORS, who, nc):
            raise WorkflowError(403, _("Only the auditor or the quality manager may change "
                                       "the severity of a draft."))
    elif not who.has("quality_manager"):
        raise WorkflowError(403, _("Only the quality manager may change the severity of an "
                                   "issued NC."))
    c = Checked()
    if severity not in SEVERITIES:
        c.invalid["severity"] = _("Choose major, minor or observation.")
    if not reason.strip():
        c.missing.append("severity_reason")
    c.raise_if_any()


def check_reassign(nc: NcFacts, who: Who, owner: int | None, reason: str,
                   user_exists: UserCheck) -> None:
    if nc.state not in ACTIVE_STATES:
        raise WorkflowError(409, _("Only an issued, open NC can be given to another owner."))
    if not who.has("quality_manager"):
        raise WorkflowError(403, _("Only the quality manager may change the owner."))
    c = Checked()
    if owner is None:
        c.missing.append("owner")
    elif not user_exists(owner):
        c.invalid["owner"] = _("No active user with this id.")
    if not reason.strip():
        c.missing.append("reason")
    c.raise_if_any()


def check_concession(nc: NcFacts, who: Who, fields: Mapping[str, Any], on: date,
                     approval_ok: bool = False) -> dict[str, Any]:
    """A concession (procedure 002 5.3.1 (3)): the client (or its supervisor) approves
    delivering with the deviation for now, with a plan and a date. Recorded with who
    approved, when, and their signed approval attached (`approval_ok`: the file is
    there, checked by the caller)."""
    if nc.state not in ACTIVE_STATES:
        raise WorkflowError(409, _("A concession applies to an issued NC that is not closed."))
    if not who.has("quality_manager"):
        raise WorkflowError(403, _("Only the quality manager may record a concession."))
    if concession_until(nc.concession) is not None:
        raise WorkflowError(409, _("This NC already has an active concession."))
    c = Checked()
    plan = c.text(fields, "plan")
    client = c.text(fields, "client_name")
    contact = c.text(fields, "client_contact", required=False)
    approved = date_of(fields.get("approved_on"))
    if text_of(fields, "approved_on") == "" and not isinstance(fields.get("approved_on"), date):
        c.missing.append("approved_on")
    elif approved is None:
        c.invalid["approved_on"] = _("Enter a date (YYYY-MM-DD).")
    elif approved > on:
        c.invalid["approved_on"] = _("The approval date cannot be in the future.")
    if not approval_ok:
        c.missing.append("file")
    until = date_of(fields.get("until"))
    if text_of(fields, "until") == "" and not isinstance(fields.get("until"), date):
        c.missing.append("until")
    elif until is None:
        c.invalid["until"] = _("Enter a date (YYYY-MM-DD).")
    elif until < on:
        c.invalid["until"] = _("The agreed date cannot be in the past.")
    c.raise_if_any()
    assert until is not None and approved is not None
    return {"status": "active", "plan": plan, "client_name": client, "client_contact": contact,
            "approved_on": approved.isoformat(), "until": until.isoformat(),
            "granted_on": on.isoformat()}


def check_concession_done(nc: NcFacts, who: Who, note: str, on: date) -> dict[str, Any]:
    if concession_until(nc.concession) is None:
        raise WorkflowError(409, _("This NC has no active concession."))
    if not who.has("quality_manager"):
        raise WorkflowError(403, _("Only the quality manager may record that the agreed "
                                   "plan is done."))
    c = Checked()
    if not note.strip():
        c.missing.append("note")
    c.raise_if_any()
    return {**nc.concession, "status": "done", "done_at": on.isoformat(), "note": note.strip()}


# --- actions -----------------------------------------------------------------

PLANNING_STATES = ("root_cause",)


def check_action_input(fields: Mapping[str, Any], on: date, user_exists: UserCheck
                       ) -> dict[str, Any]:
    c = Checked()
    kind = text_of(fields, "kind")
    if not kind:
        c.missing.append("kind")
    elif kind not in ACTION_KINDS:
        c.invalid["kind"] = _("Choose correction, corrective or preventive.")
    description = c.text(fields, "description")
    owner = int_of(fields.get("owner"))
    if owner is None:
        c.missing.append("owner")
    elif not user_exists(owner):
        c.invalid["owner"] = _("No active user with this id.")
    due = date_of(fields.get("due_date"))
    if not text_of(fields, "due_date") and not isinstance(fields.get("due_date"), date):
        c.missing.append("due_date")
    elif due is None:
        c.invalid["due_date"] = _("Enter a date (YYYY-MM-DD).")
    elif due < on:
        c.invalid["due_date"] = _("The due date cannot be in the past.")
    c.raise_if_any()
    return {"kind": kind, "description": description, "owner": owner, "due_date": due}


def check_plan_change(nc: NcFacts, who: Who) -> None:
    """Adding, editing or withdrawing actions: the owner, while drafting the plan."""
    if nc.state not in PLANNING_STATES:
        raise WorkflowError(
            409,
            _("Actions are planned after the root cause is recorded and before the plan is "
              "submitted; this NC is %(state)s.", state=state_label(nc.state)),
        )
    if not may({P.owner}, who, nc):
        raise WorkflowError(403, _("Only the NC's owner plans its actions."))


def check_action_done(nc: NcFacts, who: Who, action_owner: int | None, action_status: str
                      ) -> None:
    if nc.state not in IMPLEMENTING:
        raise WorkflowError(
            409,
            _("Actions are completed while the NC is being implemented; this NC is "
              "%(state)s.", state=state_label(nc.state)),
        )
    if action_status != "open":
        raise WorkflowError(409, _("This action is already %(status)s.", status=action_status))
    if who.id is None or who.id not in (action_owner, nc.owner_id):
        raise WorkflowError(403, _("Only the action's owner or the NC's owner may complete it."))


# --- attachments -------------------------------------------------------------


def attachment_label(step: str) -> str:
    return {
        "containment": _("Containment"),
        "action": _("Implementation of an action"),
        "verification": _("Verification"),
        "concession": _("Signed concession approval"),
        "on_the_spot": _("Fixed on the spot"),
    }.get(step, step)


def check_attach(nc: NcFacts, who: Who, step: str, action_owner: int | None = None) -> None:
    """Who may attach a file to which step, and when: the person who does the step,
    while it is (about to be) done. Closed and cancelled NCs take no more files."""
    if step not in ATTACHMENT_STEPS:
        raise WorkflowError(422, _("Choose the step the file belongs to."),
                            invalid={"step": _("Choose one of: %(list)s",
                                               list=", ".join(ATTACHMENT_STEPS))})
    if nc.state in ("closed", "cancelled"):
        raise WorkflowError(409, _("A closed or cancelled NC is evidence; it cannot change."))
    rules: dict[str, tuple[tuple[str, ...], set[Party]]] = {
        "containment": (("open", "containment"), {P.owner}),
        "action": (IMPLEMENTING, {P.owner}),
        "verification": (("verification",), {P.verifier}),
        "concession": (ACTIVE_STATES, {P.quality_manager}),
        "on_the_spot": (("draft", "open"), {P.auditor, P.raiser}),
    }
    states, parties = rules[step]
    if step == "on_the_spot" and nc.severity != "minor":
        raise WorkflowError(409, _(
            "Only a minor NC can be fixed on the spot. A major NC needs a corrective plan "
            "approved by the quality manager; an observation is closed with a disposition."))
    if nc.state not in states:
        raise WorkflowError(409, _("Files for this step (%(step)s) are attached while the NC "
                                   "is at that step; this NC is %(state)s.",
                                   step=attachment_label(step), state=state_label(nc.state)))
    allowed = may(parties, who, nc) or (
        step == "action" and who.id is not None and who.id == action_owner)
    if not allowed:
        raise WorkflowError(403, _("Only the person who does this step may attach its files."))
