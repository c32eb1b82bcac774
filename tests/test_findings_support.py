"""Helpers for the findings tests (no tests here): audits with failed items, NCs
driven to a given state through the real service functions, reminders to mail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.accounts.identity import load_user
from server.accounts.tables import User
from server.audits.service import start_audit
from server.audits.tables import Answer, Audit
from server.core import clock
from server.findings import service
from server.findings.raising import raise_drafts_for_audit
from server.findings.tables import Nonconformance
from server.org.tables import OrgUnit, Project
from tests.support import new_user

UPS = "inspection.ups.weekly"  # UP1.01, UP1.02 and UP1.04 fail as "major"
QM_AUDIT = "org.quality_management"
ROLES = ("admin", "quality_manager", "auditor", "engineer", "owner")
PATH = ("open", "containment", "root_cause", "action_plan", "implementing",
        "verification", "closed")


async def user_ids() -> dict[str, int]:
    return {r["login"]: r["id"] for r in await User.select(User.login, User.id)}


async def actor(login: str) -> Any:
    ids = await user_ids()
    user = await load_user(ids[login])
    assert user is not None
    return user


async def org_ids() -> dict[str, int]:
    return {r["code"]: r["id"] for r in await OrgUnit.select(OrgUnit.code, OrgUnit.id)}


async def project_ids() -> dict[str, int]:
    return {r["code"]: r["id"] for r in await Project.select(Project.code, Project.id)}


async def last_seq(year: int) -> int:
    """The highest NC number of a year so far (the demo's NCs and other tests' count)."""
    rows = await Nonconformance.raw(
        "SELECT max(seq) AS top FROM nonconformance WHERE year = {}", year)
    return int(rows[0]["top"] or 0)


async def submitted_audit(
    key: str,
    lead: str,
    fails: dict[str, tuple[Any, str]],
    *,
    org_unit: str | None = "OPS",
    project: str | None = None,
    score: float = 70.0,
    submitted_at: datetime | None = None,
    raise_ncs: bool = True,
) -> tuple[int, list[int]]:
    """An audit of checklist `key` led by `lead`, with the given failed items
    (item id -> (value, comment)), submitted; its drafts raised as on submit."""
    who = await actor(lead)
    orgs, projects = await org_ids(), await project_ids()
    audit = await start_audit(
        key, who, org_unit=orgs.get(org_unit or ""), project=projects.get(project or "")
    )
    for item_id, (value, comment) in fails.items():
        await Answer.insert(Answer(audit=audit.id, item_id=item_id, value=json.dumps(value),
                                   comment=comment, result="fail", version=1))
    await Answer.insert(Answer(audit=audit.id, item_id="UP1.03", value="50", result="pass",
                               version=1))
    await Audit.update({
        Audit.status: "submitted",
        Audit.submitted_at: submitted_at or datetime.now(UTC),
        Audit.score_percent: score,
        Audit.passed: score >= 80,
    }).where(Audit.id == audit.id)
    ncs = await raise_drafts_for_audit(audit.id, who) if raise_ncs else []
    return audit.id, ncs


FIELDS: dict[str, dict[str, Any]] = {
    "containment": {"containment": "Replaced the faulty breaker at once."},
    "root_cause": {"root_cause": "No periodic check of the breaker.",
                   "cause_category": "method", "five_whys": ["a", "b"],
                   "similar_elsewhere": "No, checked the two other rooms."},
    "action_plan": {"verification_standard": "Three weekly readings inside the limits."},
    "implementing": {},
    "verification": {},
    "closed": {"verification_note": "Readings fine for three weeks."},
}
WHO_MOVES = {"open": "auditor", "containment": "owner", "root_cause": "owner",
             "action_plan": "owner", "implementing": "quality_manager",
             "verification": "owner", "closed": "quality_manager"}


async def drive(nc_id: int, target: str, owner: str = "owner") -> None:
    """Take a draft (or an NC further along) to `target` along the main path."""
    ids = await user_ids()
    row = await Nonconformance.select(Nonconformance.state, Nonconformance.raised_by).where(
        Nonconformance.id == nc_id).first()
    raiser = next(login for login, i in ids.items() if i == row["raised_by"])
    start = 0 if row["state"] == "draft" else PATH.index(row["state"]) + 1
    for state in PATH[start: PATH.index(target) + 1]:
        mover = WHO_MOVES[state]
        if mover == "owner":
            mover = owner
        if state == "open":
            await service.transition(nc_id, await actor(raiser), "open",
                                     {"owner": ids[owner]})
            continue
        if state == "action_plan":
            await service.add_action(nc_id, await actor(owner), {
                "kind": "corrective", "description": "Add the breaker to the weekly round",
                "owner": ids[owner], "due_date": (clock.today() + timedelta(days=10)).isoformat(),
            })
        if state == "verification":
            from server.findings.tables import CorrectiveAction

            for a in await CorrectiveAction.select(CorrectiveAction.id).where(
                (CorrectiveAction.nc == nc_id) & (CorrectiveAction.status == "open")
            ):
                await service.complete_action(nc_id, a["id"], await actor(owner), "done")
        await service.transition(nc_id, await actor(mover), state, FIELDS[state])


class Inbox:
    """What a local SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, msg))
        return "250 OK"


async def reminders_due(today: date) -> dict[str, Any]:
    """An overdue NC of an owner, an action of an engineer due in two days, an NC due in
    three weeks (no reminder yet). Reminders go to everyone with an address, so these
    two people are new: nobody else's reminders are theirs. Returns the NC ids and the
    people's logins (their addresses are login@example.com)."""
    from server.findings.tables import CorrectiveAction

    owner = await new_user("owner", with_address=True)
    engineer = await new_user("engineer", with_address=True, language="en")
    _audit, ncs = await submitted_audit(QM_AUDIT, "auditor", {
        "QM1.01": ("no", ""), "QM1.02": ("no", ""), "QM1.03": ("no", "")})
    late, planned, later = ncs
    await drive(late, "open", owner)
    await drive(planned, "implementing", owner)
    await drive(later, "open", owner)
    ids = await user_ids()
    await Nonconformance.update({Nonconformance.due_date: today - timedelta(days=3)}).where(
        Nonconformance.id == late)
    await Nonconformance.update({Nonconformance.due_date: today + timedelta(days=20)}).where(
        Nonconformance.id.is_in([planned, later]))
    await CorrectiveAction.update({CorrectiveAction.owner: ids[engineer],
                                   CorrectiveAction.due_date: today + timedelta(days=2)}
                                  ).where(CorrectiveAction.nc == planned)
    return {"late": late, "planned": planned, "later": later, "owner": owner,
            "engineer": engineer}
