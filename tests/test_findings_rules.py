"""The NC rules as plain functions: every transition against every role, every
state pair, required fields, guards, and the due-date arithmetic across month and
year ends and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from server.core import clock
from server.core.settings import Settings
from server.findings import policy as pol
from server.findings.workflow import (
    STATES,
    TRANSITIONS,
    Context,
    NcFacts,
    Who,
    WorkflowError,
    available,
    check_action_done,
    check_action_input,
    check_concession,
    check_concession_done,
    check_edit_draft,
    check_plan_change,
    check_reassign,
    check_severity_change,
    decide,
)

# Demo-like people: one role each; the NC is owned by "owner" and raised by "auditor".
IDS = {"admin": 1, "quality_manager": 2, "auditor": 3, "engineer": 4, "owner": 5}
ROLES = tuple(IDS)
OWNER, RAISER = IDS["owner"], IDS["auditor"]

# Written out by hand (not derived from the code): who may make each transition.
ALLOWED = {
    "issue": {"quality_manager", "auditor"},
    "contain": {"owner"},
    "analyse": {"owner"},
    "plan": {"owner"},
    "approve_plan": {"quality_manager"},
    "reject_plan": {"quality_manager"},
    "request_verification": {"owner"},
    "fix_on_spot": {"auditor"},  # the auditor here is also the NC's raiser
    "verify_effective": {"quality_manager", "auditor"},
    "verify_not_effective": {"quality_manager", "auditor"},
    "close_observation": {"quality_manager"},
    "cancel": {"quality_manager"},
    "reopen": {"quality_manager", "auditor"},
}
ACTIVE = ("open", "containment", "root_cause", "action_plan", "plan_approved", "implementing",
          "verification")
# The legal (from, to) pairs and the transition each one is.
LEGAL = {
    ("draft", "open"): "issue",
    ("open", "containment"): "contain",
    ("containment", "root_cause"): "analyse",
    ("root_cause", "action_plan"): "plan",
    ("action_plan", "implementing"): "approve_plan",  # approving starts the implementation
    ("action_plan", "root_cause"): "reject_plan",
    ("plan_approved", "verification"): "request_verification",  # records from before
    ("implementing", "verification"): "request_verification",
    ("verification", "closed"): "verify_effective",
    ("verification", "root_cause"): "verify_not_effective",
    ("closed", "open"): "reopen",
    **{(s, "cancelled"): "cancel" for s in ("draft", *ACTIVE)},
}
OBSERVATION_CLOSE = {(s, "closed") for s in ACTIVE if s != "verification"}
# Complete, valid fields for each transition.
GOOD: dict[str, dict[str, Any]] = {
    "issue": {"owner": OWNER},
    "contain": {"containment": "Isolated the unit"},
    "analyse": {"root_cause": "No check", "cause_category": "method",
                "similar_elsewhere": "No", "five_whys": ["w1", "w2"]},
    "plan": {"verification_standard": "Three readings in range"},
    "approve_plan": {},
    "reject_plan": {"comment": "Too vague"},
    "request_verification": {},
    "fix_on_spot": {"step": "fix_on_spot", "containment": "Relabelled the breaker",
                    "verification_note": "Label checked against the drawing"},
    "verify_effective": {"verification_note": "Fine for three weeks"},
    "verify_not_effective": {"verification_note": "Failed again"},
    "close_observation": {"disposition": "Noted; no action"},
    "cancel": {"comment": "Raised twice"},
    "reopen": {"comment": "Happened again on 3 May"},
}
REQUIRED = {
    "issue": ["owner"],
    "contain": ["containment"],
    "analyse": ["root_cause", "cause_category", "similar_elsewhere"],
    "plan": ["verification_standard"],
    "reject_plan": ["comment"],
    "verify_effective": ["verification_note"],
    "verify_not_effective": ["verification_note"],
    "close_observation": ["disposition"],
    "cancel": ["comment"],
    "reopen": ["comment"],
}
NOW = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CTX = Context(now=NOW, today=date(2026, 1, 31), policy=pol.DEFAULT,
              clock_start=date(2026, 1, 31))


def who(role: str) -> Who:
    return Who(IDS[role], frozenset({role}))


def facts(state: str, severity: str = "major", **extra: Any) -> NcFacts:
    base: dict[str, Any] = {"owner_id": OWNER, "raised_by": RAISER, "actions_open": 0,
                            "actions_done": 1}
    base.update(extra)
    return NcFacts(state=state, severity=severity, **base)


def status_of(fn: Any, *args: Any, **kwargs: Any) -> int:
    try:
        fn(*args, **kwargs)
    except WorkflowError as exc:
        return exc.status
    return 200


def test_the_transition_table_matches_the_hand_written_one() -> None:
    assert {t.name for t in TRANSITIONS} == set(ALLOWED)
    for t in TRANSITIONS:
        for source in t.sources:
            if t.name == "close_observation":
                assert (source, t.target) in OBSERVATION_CLOSE
            elif t.by_name:  # taken only by name: no (from, to) pair reaches it
                assert t.name == "fix_on_spot" and (source, t.target) not in LEGAL
            else:
                assert LEGAL[(source, t.target)] == t.name


@pytest.mark.parametrize("transition", sorted(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_every_transition_against_every_role(transition: str, role: str) -> None:
    t = next(x for x in TRANSITIONS if x.name == transition)
    severity = {"close_observation": "observation", "fix_on_spot": "minor"}.get(transition,
                                                                                "major")
    for source in t.sources:
        nc = facts(source, severity, attachment_steps=frozenset({"on_the_spot"}))
        if role in ALLOWED[transition]:
            decision = decide(nc, who(role), t.target, GOOD[transition], CTX)
            assert decision.transition.name == transition
            assert decision.values["state"] == t.target
            assert t in available(nc, who(role))
        else:
            with pytest.raises(WorkflowError) as refused:
                decide(nc, who(role), t.target, GOOD[transition], CTX)
            assert refused.value.status == 403, (transition, role, source)
            assert refused.value.message
            assert t not in available(nc, who(role))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("severity", ["major", "observation"])
def test_every_state_pair_for_every_role(role: str, severity: str) -> None:
    """Illegal pairs are 409 for everyone; legal ones 200 or 403 by role."""
    for source in STATES:
        for target in STATES:
            pair = (source, target)
            name = LEGAL.get(pair)
            if name is None and severity == "observation" and pair in OBSERVATION_CLOSE:
                name = "close_observation"
            fields = GOOD.get(name or "", {})
            got = status_of(decide, facts(source, severity), who(role), target, fields, CTX)
            if name is None:
                assert got == 409, (pair, role, severity)
            else:
                assert got == (200 if role in ALLOWED[name] else 403), (pair, role, name)


def test_unknown_target_and_final_states_explain_themselves() -> None:
    with pytest.raises(WorkflowError) as unknown:
        decide(facts("open"), who("owner"), "done", {}, CTX)
    assert unknown.value.status == 409 and "done" in unknown.value.message
    with pytest.raises(WorkflowError) as final:
        decide(facts("cancelled"), who("quality_manager"), "open", {}, CTX)
    assert final.value.status == 409
    with pytest.raises(WorkflowError) as skip:
        decide(facts("open"), who("quality_manager"), "closed", {}, CTX)
    assert skip.value.status == 409 and "verified" in skip.value.message


@pytest.mark.parametrize("transition", sorted(REQUIRED))
def test_missing_fields_are_listed_with_422(transition: str) -> None:
    t = next(x for x in TRANSITIONS if x.name == transition)
    role = sorted(ALLOWED[transition])[0]
    severity = "observation" if transition == "close_observation" else "major"
    nc = facts(t.sources[0], severity, owner_id=None if transition == "issue" else OWNER,
               verification_standard="")
    mover = Who(IDS[role], frozenset({role}))
    if transition in ("contain", "analyse", "plan", "request_verification"):
        mover = who("owner")
    with pytest.raises(WorkflowError) as refused:
        decide(nc, mover, t.target, {}, CTX)
    assert refused.value.status == 422
    assert refused.value.missing == REQUIRED[transition]


def test_invalid_values_are_422_with_the_reason() -> None:
    with pytest.raises(WorkflowError) as bad:
        decide(facts("containment"), who("owner"), "root_cause",
               {**GOOD["analyse"], "cause_category": "luck"}, CTX)
    assert bad.value.status == 422 and "cause_category" in bad.value.invalid
    with pytest.raises(WorkflowError) as nobody:
        decide(facts("draft", owner_id=None), who("auditor"), "open", {"owner": 99}, CTX,
               user_exists=lambda i: i != 99)
    assert nobody.value.status == 422 and "owner" in nobody.value.invalid


def test_issue_uses_the_drafts_owner_and_observations_need_none() -> None:
    decision = decide(facts("draft"), who("auditor"), "open", {}, CTX)
    assert decision.values["owner"] == OWNER
    observation = decide(facts("draft", "observation", owner_id=None), who("auditor"), "open",
                         {}, CTX)
    assert observation.values["owner"] is None and observation.values["due_date"] is None


def test_the_raiser_of_a_manual_nc_may_issue_it_whatever_their_role() -> None:
    nc = facts("draft", raised_by=IDS["engineer"], source="random_check")
    assert decide(nc, who("engineer"), "open", {"owner": OWNER}, CTX).values["state"] == "open"


def test_the_owner_never_verifies_their_own_nc() -> None:
    qm_owner = facts("verification", owner_id=IDS["quality_manager"])
    with pytest.raises(WorkflowError) as refused:
        decide(qm_owner, who("quality_manager"), "closed", GOOD["verify_effective"], CTX)
    assert refused.value.status == 403 and "owner" in refused.value.message.lower()
    auditor_owner = facts("verification", owner_id=IDS["auditor"])
    assert status_of(decide, auditor_owner, who("auditor"), "root_cause",
                     GOOD["verify_not_effective"], CTX) == 403
    # ...but another verifier may.
    assert status_of(decide, auditor_owner, who("quality_manager"), "closed",
                     GOOD["verify_effective"], CTX) == 200


def test_a_plan_needs_an_action_and_verification_needs_every_action_done() -> None:
    empty = facts("root_cause", actions_done=0)
    with pytest.raises(WorkflowError) as no_action:
        decide(empty, who("owner"), "action_plan", GOOD["plan"], CTX)
    assert no_action.value.status == 409
    assert status_of(decide, facts("root_cause", actions_open=1, actions_done=0), who("owner"),
                     "action_plan", GOOD["plan"], CTX) == 200
    with pytest.raises(WorkflowError) as open_left:
        decide(facts("implementing", actions_open=2), who("owner"), "verification", {}, CTX)
    assert open_left.value.status == 409 and "2" in open_left.value.message
    assert status_of(decide, facts("implementing", actions_done=0), who("owner"),
                     "verification", {}, CTX) == 409


def test_the_plan_keeps_an_existing_verification_standard() -> None:
    nc = facts("root_cause", verification_standard="Set at issue")
    assert status_of(decide, nc, who("owner"), "action_plan", {}, CTX) == 200


def test_values_written_by_each_step() -> None:
    closed = decide(facts("verification"), who("auditor"), "closed",
                    GOOD["verify_effective"], CTX).values
    assert closed["verified_by"] == IDS["auditor"] and closed["closed_at"] == NOW
    assert closed["verification_note"] == "Fine for three weeks"
    analysed = decide(facts("containment"), who("owner"), "root_cause",
                      {**GOOD["analyse"], "five_whys": ["1", " ", "2", "3", "4", "5", "6"]},
                      CTX).values
    assert analysed["five_whys"] == ["1", "2", "3", "4", "5"]
    approved = decide(facts("action_plan"), who("quality_manager"), "implementing", {},
                      CTX).values
    assert approved["plan_approved_by"] == IDS["quality_manager"]
    reopened = decide(facts("closed", reopen_count=1), who("auditor"), "open",
                      GOOD["reopen"], CTX).values
    assert reopened["reopen_count"] == 2 and reopened["closed_at"] is None
    cancelled = decide(facts("open"), who("quality_manager"), "cancelled", GOOD["cancel"],
                       CTX).values
    assert cancelled["cancel_reason"] == "Raised twice"


# --- due dates ---------------------------------------------------------------


def ctx_on(day: date, start: date | None = None) -> Context:
    moment = datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)
    return Context(now=moment, today=day, policy=pol.DEFAULT, clock_start=start or day)


@pytest.mark.parametrize(("issued", "severity", "plan", "close"), [
    (date(2026, 1, 31), "major", date(2026, 2, 7), date(2026, 3, 2)),
    (date(2026, 1, 31), "minor", date(2026, 3, 2), date(2026, 4, 1)),
    (date(2028, 1, 31), "major", date(2028, 2, 7), date(2028, 3, 1)),  # leap year
    (date(2026, 12, 28), "major", date(2027, 1, 4), date(2027, 1, 27)),
    (date(2026, 2, 28), "minor", date(2026, 3, 30), date(2026, 4, 29)),
    (date(2026, 8, 31), "major", date(2026, 9, 7), date(2026, 9, 30)),
])
def test_deadlines_across_month_and_year_ends(issued: date, severity: str, plan: date,
                                              close: date) -> None:
    issue = decide(facts("draft", severity), who("auditor"), "open", {"owner": OWNER},
                   ctx_on(issued))
    assert issue.values["due_date"] == plan
    later = ctx_on(date(2026, 6, 1) if issued.year == 2026 else date(2028, 2, 5), issued)
    approve = decide(facts("action_plan", severity), who("quality_manager"), "implementing",
                     {}, later)
    assert approve.values["due_date"] == close
    assert pol.deadline_in_force(pol.DEFAULT, "open", severity, issued) == plan
    assert pol.deadline_in_force(pol.DEFAULT, "implementing", severity, issued) == close
    assert pol.deadline_in_force(pol.DEFAULT, "closed", severity, issued) is None


def test_observations_have_no_deadline() -> None:
    assert pol.plan_due(pol.DEFAULT, "observation", date(2026, 1, 31)) is None
    assert pol.deadline_in_force(pol.DEFAULT, "open", "observation", date(2026, 1, 31)) is None


def test_a_fix_not_effective_or_a_reopening_restarts_the_clock() -> None:
    on = ctx_on(date(2026, 4, 30), date(2026, 1, 2))
    again = decide(facts("verification"), who("auditor"), "root_cause",
                   GOOD["verify_not_effective"], on)
    assert again.values["due_date"] == date(2026, 5, 7)
    reopened = decide(facts("closed", "minor"), who("quality_manager"), "open",
                      GOOD["reopen"], ctx_on(date(2026, 11, 30)))
    assert reopened.values["due_date"] == date(2026, 12, 30)
    # A plan sent back keeps the original clock.
    back = decide(facts("action_plan"), who("quality_manager"), "root_cause",
                  GOOD["reject_plan"], on)
    assert back.values["due_date"] == date(2026, 1, 9)


def test_overdue_starts_the_day_after_the_due_date() -> None:
    due = date(2026, 1, 31)
    assert not pol.is_overdue(due, "open", date(2026, 1, 31))
    assert pol.is_overdue(due, "open", date(2026, 2, 1))
    assert pol.is_overdue(due, "verification", date(2026, 3, 1))
    assert not pol.is_overdue(due, "closed", date(2026, 3, 1))
    assert not pol.is_overdue(due, "cancelled", date(2026, 3, 1))
    assert not pol.is_overdue(due, "draft", date(2026, 3, 1))
    assert not pol.is_overdue(None, "open", date(2026, 3, 1))
    assert pol.days_overdue(date(2026, 2, 28), date(2026, 3, 1)) == 1
    assert pol.days_overdue(date(2028, 2, 28), date(2028, 3, 1)) == 2
    assert pol.days_overdue(date(2026, 12, 31), date(2027, 1, 1)) == 1
    assert pol.due_soon(date(2026, 2, 2), "open", date(2026, 1, 31), 3)
    assert not pol.due_soon(date(2026, 2, 4), "open", date(2026, 1, 31), 3)


def test_today_is_the_local_date() -> None:
    def zone(name: str) -> None:
        clock.configure(Settings.from_env({"AUDITRAIL_TIMEZONE": name}).timezone)

    try:
        zone("Asia/Shanghai")
        # 31 January 23:59 in Shanghai is still the 31st; 00:00 on the 1st is February.
        assert clock.today(datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == date(2026, 1, 31)
        assert clock.today(datetime(2026, 1, 31, 16, 0, tzinfo=UTC)) == date(2026, 2, 1)
        assert pol.is_overdue(date(2026, 1, 31), "open",
                              clock.today(datetime(2026, 1, 31, 16, 0, tzinfo=UTC)))
        zone("UTC")
        assert clock.today(datetime(2026, 1, 31, 16, 0, tzinfo=UTC)) == date(2026, 1, 31)
        zone("Nowhere/Atlantis")
        assert clock.today(datetime(2026, 1, 31, 23, 0, tzinfo=UTC)) == date(2026, 1, 31)
    finally:
        clock.configure(clock.DEFAULT_ZONE)


def test_a_concession_replaces_the_deadline() -> None:
    concession = {"status": "active", "until": "2026-09-30", "plan": "p"}
    assert pol.deadline_in_force(pol.DEFAULT, "open", "major", date(2026, 1, 1),
                                 concession) == date(2026, 9, 30)
    assert pol.deadline_in_force(pol.DEFAULT, "open", "major", date(2026, 1, 1),
                                 {**concession, "status": "done"}) == date(2026, 1, 8)
    approve = decide(facts("action_plan", concession=concession), who("quality_manager"),
                     "implementing", {}, CTX)
    assert approve.values["due_date"] == date(2026, 9, 30)
    closed = decide(facts("verification", concession=concession), who("quality_manager"),
                    "closed", GOOD["verify_effective"], CTX)
    assert closed.values["concession"]["status"] == "done"


def test_policy_parsing_and_its_problems() -> None:
    assert pol.parse_policy(pol.DEFAULT_POLICY) == pol.DEFAULT
    assert pol.DEFAULT.rule("major").plan_days == 7 and pol.DEFAULT.rule("major").close_days == 30
    assert pol.DEFAULT.rule("minor").plan_days == 30
    assert not pol.DEFAULT.rule("observation").corrective_action
    custom = pol.parse_policy({"major": {"corrective_action": True, "plan_days": "5",
                                         "close_days": 20}, "remind_days_before": 1})
    assert custom.rule("major").plan_days == 5 and custom.rule("minor").plan_days == 30
    assert pol.parse_policy(custom.as_json()) == custom
    with pytest.raises(pol.PolicyError) as bad:
        pol.parse_policy({"major": {"corrective_action": True, "plan_days": 10,
                                    "close_days": 5},
                          "minor": {"corrective_action": True, "plan_days": "x",
                                    "close_days": 9},
                          "observation": {"corrective_action": True, "plan_days": 0,
                                          "close_days": 1000},
                          "remind_days_before": 99})
    assert set(bad.value.problems) == {"major.close_days", "minor.plan_days",
                                       "observation.plan_days", "observation.close_days",
                                       "remind_days_before"}
    with pytest.raises(pol.PolicyError):
        pol.parse_policy([1, 2])
    no_action = pol.parse_policy({"observation": {"corrective_action": False,
                                                  "plan_days": 3, "close_days": 4}})
    assert no_action.rule("observation").plan_days is None


# --- changes that are not transitions ----------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_edits_concessions_reassignment_by_role(role: str) -> None:
    me = who(role)
    draft_editor = role in ("quality_manager", "auditor")  # the auditor raised it
    assert status_of(check_edit_draft, facts("draft"), me) == (200 if draft_editor else 403)
    assert status_of(check_edit_draft, facts("open"), me) == 409
    assert status_of(check_severity_change, facts("draft"), me, "minor", "why") == (
        200 if draft_editor else 403)
    assert status_of(check_severity_change, facts("implementing"), me, "minor", "why") == (
        200 if role == "quality_manager" else 403)
    assert status_of(check_severity_change, facts("closed"), me, "minor", "why") == 409
    assert status_of(check_reassign, facts("open"), me, 4, "holiday", lambda i: True) == (
        200 if role == "quality_manager" else 403)
    assert status_of(check_reassign, facts("draft"), me, 4, "x", lambda i: True) == 409
    grant = {"plan": "Fix in the May window", "until": "2026-05-31", "client_name": "Ms Li",
             "approved_on": "2026-01-30"}
    assert status_of(check_concession, facts("open"), me, grant, date(2026, 2, 1),
                     approval_ok=True) == (
        200 if role == "quality_manager" else 403)
    active = facts("open", concession={"status": "active", "until": "2026-05-31"})
    assert status_of(check_concession_done, active, me, "done", date(2026, 5, 1)) == (
        200 if role == "quality_manager" else 403)
    assert status_of(check_plan_change, facts("root_cause"), me) == (
        200 if role == "owner" else 403)
    assert status_of(check_action_done, facts("implementing"), me, IDS["engineer"], "open") == (
        200 if role in ("owner", "engineer") else 403)


def test_field_problems_of_the_other_changes() -> None:
    qm = who("quality_manager")
    with pytest.raises(WorkflowError) as severity:
        check_severity_change(facts("draft"), qm, "critical", "")
    assert severity.value.status == 422
    assert severity.value.missing == ["severity_reason"] and "severity" in severity.value.invalid
    with pytest.raises(WorkflowError) as reassign:
        check_reassign(facts("open"), qm, None, "", lambda i: True)
    assert reassign.value.missing == ["owner", "reason"]
    with pytest.raises(WorkflowError) as concession:
        check_concession(facts("open"), qm, {"until": "2026-01-01"}, date(2026, 2, 1))
    assert concession.value.missing == ["plan", "client_name", "approved_on", "file"]
    assert "until" in concession.value.invalid
    with pytest.raises(WorkflowError) as twice:
        check_concession(facts("open", concession={"status": "active", "until": "2026-03-01"}),
                         qm, {}, date(2026, 2, 1))
    assert twice.value.status == 409
    assert status_of(check_concession, facts("closed"), qm, {}, date(2026, 2, 1)) == 409
    assert status_of(check_concession_done, facts("open"), qm, "x", date(2026, 2, 1)) == 409
    with pytest.raises(WorkflowError) as action:
        check_action_input({"kind": "magic", "due_date": "2026-01-01", "owner": "7"},
                           date(2026, 2, 1), lambda i: False)
    assert action.value.missing == ["description"]
    assert set(action.value.invalid) == {"kind", "due_date", "owner"}
    good = check_action_input({"kind": "preventive", "description": "Train", "owner": 5,
                               "due_date": "2026-02-28"}, date(2026, 2, 1), lambda i: True)
    assert good == {"kind": "preventive", "description": "Train", "owner": 5,
                    "due_date": date(2026, 2, 28)}
    assert status_of(check_plan_change, facts("implementing"), who("owner")) == 409
    # An NC approved before approval started the work (plan_approved) completes its actions.
    assert status_of(check_action_done, facts("plan_approved"), who("owner"), OWNER,
                     "open") == 200
    assert status_of(check_action_done, facts("action_plan"), who("owner"), OWNER,
                     "open") == 409
    assert status_of(check_action_done, facts("implementing"), who("owner"), OWNER,
                     "done") == 409
