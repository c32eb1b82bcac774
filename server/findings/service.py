"""Changing NCs: load, check with the plain rules (workflow.py), write through the
change log in one transaction. Routes and the API call these and only translate
WorkflowError into HTTP statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from server import clock
from server.accounts.tables import User
from server.changelog import record
from server.changelog.tables import ChangeLog
from server.db.engine import write_transaction
from server.findings import policy as pol
from server.findings.access import can_see
from server.findings.raising import merged_items, merged_severity
from server.findings.tables import CorrectiveAction, NcSourceItem, Nonconformance, loads
from server.findings.workflow import (
    Context,
    Decision,
    NcFacts,
    Who,
    WorkflowError,
    check_action_done,
    check_action_input,
    check_concession,
    check_concession_done,
    check_edit_draft,
    check_plan_change,
    check_reassign,
    check_severity_change,
    decide,
    int_of,
    text_of,
)
from server.i18n import gettext as _

CLOCK_ACTIONS = ("issue", "reopen", "verify_not_effective")


async def get_row(nc_id: int) -> Nonconformance | None:
    return await Nonconformance.objects().get(Nonconformance.id == nc_id)


def row_dict(nc: Nonconformance) -> dict[str, Any]:
    return {c._meta.name: getattr(nc, c._meta.name) for c in nc._meta.columns}


async def load_visible(nc_id: int, user: Any) -> Nonconformance:
    """The NC if this person may see it; 404 otherwise (its existence is not revealed)."""
    nc = await get_row(nc_id)
    if nc is None or not await can_see(user, row_dict(nc)):
        raise WorkflowError(404, _("No such nonconformance."))
    return nc


async def action_counts(nc_id: int) -> tuple[int, int]:
    rows = await CorrectiveAction.select(CorrectiveAction.status).where(
        CorrectiveAction.nc == nc_id
    )
    statuses = [r["status"] for r in rows]
    return statuses.count("open"), statuses.count("done")


async def facts_of(nc: Nonconformance) -> NcFacts:
    open_, done = await action_counts(nc.id)
    return NcFacts(
        state=nc.state,
        severity=nc.severity,
        owner_id=nc.owner,
        raised_by=nc.raised_by,
        source=nc.source,
        verification_standard=nc.verification_standard or "",
        actions_open=open_,
        actions_done=done,
        concession=loads(nc.concession),
        reopen_count=nc.reopen_count or 0,
    )


async def clock_start(nc: Nonconformance) -> date | None:
    """The day the NC's deadlines count from: its issue, or the last restart
    (reopened on recurrence, or a fix found not effective)."""
    row = (
        await ChangeLog.select(ChangeLog.at, ChangeLog.action)
        .where(
            (ChangeLog.record_table == "nonconformance")
            & (ChangeLog.record_id == str(nc.id))
            & ChangeLog.action.is_in([*CLOCK_ACTIONS, "create"])
        )
        .order_by(ChangeLog.id, ascending=False)
        .first()
    )
    # Rows before the record's "create" belong to an earlier record with the same id
    # (possible only where rows were deleted, as in tests).
    if row is not None and row["action"] != "create":
        return clock.local_date(row["at"])
    return clock.local_date(nc.issued_at) if nc.issued_at else None


def since_creation(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A record's log rows from its (last) creation on, oldest first."""
    starts = [i for i, r in enumerate(rows) if r["action"] == "create"]
    return rows[starts[-1]:] if starts else rows


async def context_for(nc: Nonconformance, now: datetime | None = None) -> Context:
    moment = now or datetime.now(UTC)
    return Context(
        now=moment,
        today=clock.local_date(moment),
        policy=await pol.load_policy(),
        clock_start=await clock_start(nc),
    )


async def active_user_ids(ids: Iterable[int | None]) -> set[int]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return set()
    rows = await User.select(User.id).where(User.id.is_in(wanted) & (User.active == True))  # noqa: E712
    return {r["id"] for r in rows}


def _check_version(nc: Nonconformance, expected: Any) -> None:
    version = int_of(expected)
    if expected not in (None, "") and version != (nc.version or 0):
        raise WorkflowError(
            409, _("Someone changed this NC in the meantime. Reload it and try again.")
        )


def _refuse_if_final(nc: Nonconformance) -> None:
    if nc.state in ("closed", "cancelled"):
        raise WorkflowError(409, _("A closed or cancelled NC is evidence; it cannot change."))


async def _write(nc: Nonconformance, actor: Any, values: dict[str, Any], reason: str,
                 action: str) -> None:
    values = {**values, "version": (nc.version or 0) + 1}
    await record.update(nc, actor, values, reason, action=action)


# --- transitions -------------------------------------------------------------


async def transition(
    nc_id: int,
    actor: Any,
    to: str,
    fields: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Decision:
    """Move an NC to another state (see workflow.TRANSITIONS)."""
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        _check_version(nc, fields.get("version"))
        facts = await facts_of(nc)
        ctx = await context_for(nc, now)
        known = await active_user_ids([int_of(fields.get("owner")), nc.owner])
        decision = decide(facts, Who.of(actor), to, fields, ctx, lambda i: i in known)
        await _write(nc, actor, decision.values, decision.comment, decision.transition.name)
        return decision


# --- drafts ------------------------------------------------------------------


async def edit(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> Nonconformance:
    """Edit a draft under review (title, description, verification standard, owner),
    and change the severity with a reason (drafts and, by the QM, issued NCs)."""
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        _check_version(nc, fields.get("version"))
        facts = await facts_of(nc)
        who = Who.of(actor)
        severity = text_of(fields, "severity")
        changing_severity = bool(severity) and severity != nc.severity
        other = [k for k in ("title", "description", "verification_standard", "owner")
                 if k in fields]
        if other:
            check_edit_draft(facts, who)
        if changing_severity:
            check_severity_change(facts, who, severity, text_of(fields, "severity_reason"))
        values: dict[str, Any] = {}
        missing: list[str] = []
        for name in ("title", "description", "verification_standard"):
            if name in fields:
                values[name] = text_of(fields, name)[: 300 if name == "title" else 10_000]
        if "title" in values and not values["title"]:
            missing.append("title")
        if "owner" in fields:
            owner = int_of(fields.get("owner"))
            if owner is not None and owner not in await active_user_ids([owner]):
                raise WorkflowError(422, _("No active user with this id."),
                                    invalid={"owner": _("No active user with this id.")})
            values["owner"] = owner
        if missing:
            raise WorkflowError(422, _("A title is required."), missing=missing)
        reason = ""
        if changing_severity:
            reason = text_of(fields, "severity_reason")
            values["severity"] = severity
            values["severity_reason"] = reason
            if nc.state != "draft":
                ctx = await context_for(nc)
                values["due_date"] = pol.deadline_in_force(
                    ctx.policy, nc.state, severity, ctx.clock_start, loads(nc.concession)
                )
        if values:
            await _write(nc, actor, values, reason, "severity" if changing_severity else "edit")
        return nc


async def merge(keep_id: int, other_id: int, actor: Any) -> Nonconformance:
    """Merge two drafts: `other`'s failed items, requirement and evidence join `keep`;
    the higher severity wins; `other` is cancelled with a note (its number stays
    accounted for)."""
    if keep_id == other_id:
        raise WorkflowError(422, _("Choose two different drafts."),
                            invalid={"other": _("Choose two different drafts.")})
    async with write_transaction():
        keep = await load_visible(keep_id, actor)
        other = await load_visible(other_id, actor)
        who = Who.of(actor)
        for nc in (keep, other):
            check_edit_draft(await facts_of(nc), who)
        if keep.audit != other.audit:
            raise WorkflowError(409, _("Only drafts of the same audit can be merged."))
        for link in await NcSourceItem.objects().where(NcSourceItem.nc == other.id):
            await record.update(link, actor, {"nc": keep.id}, action="merge")
        description = "\n\n".join(d for d in (keep.description, other.description) if d)
        values = {
            "requirement": merged_items(keep.requirement, other.requirement),
            "evidence": merged_items(keep.evidence, other.evidence),
            "severity": merged_severity(keep.severity, other.severity),
            "description": description,
        }
        if keep.owner is None and other.owner is not None:
            values["owner"] = other.owner
        reason = _("Merged with %(ref)s", ref=other.ref)
        await _write(keep, actor, values, reason, "merge")
        await _write(
            other,
            actor,
            {"state": "cancelled", "cancel_reason": _("Merged into %(ref)s", ref=keep.ref)},
            _("Merged into %(ref)s", ref=keep.ref),
            "merge",
        )
        return keep


# --- owner, concession -------------------------------------------------------


async def reassign(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> None:
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        _check_version(nc, fields.get("version"))
        owner = int_of(fields.get("owner"))
        known = await active_user_ids([owner])
        reason = text_of(fields, "reason")
        check_reassign(await facts_of(nc), Who.of(actor), owner, reason, lambda i: i in known)
        await _write(nc, actor, {"owner": owner}, reason, "reassign")


async def grant_concession(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> None:
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        _check_version(nc, fields.get("version"))
        on = clock.today()
        concession = check_concession(await facts_of(nc), Who.of(actor), fields, on)
        concession["granted_by"] = getattr(actor, "login", "")
        await _write(
            nc,
            actor,
            {"concession": concession, "due_date": date.fromisoformat(concession["until"])},
            text_of(fields, "comment"),
            "concession",
        )


async def complete_concession(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> None:
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        _check_version(nc, fields.get("version"))
        on = clock.today()
        note = text_of(fields, "note")
        done = check_concession_done(await facts_of(nc), Who.of(actor), note, on)
        ctx = await context_for(nc)
        due = pol.deadline_in_force(ctx.policy, nc.state, nc.severity, ctx.clock_start, None)
        await _write(nc, actor, {"concession": done, "due_date": due}, note, "concession_done")


# --- actions -----------------------------------------------------------------


async def add_action(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> CorrectiveAction:
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        check_plan_change(await facts_of(nc), Who.of(actor))
        known = await active_user_ids([int_of(fields.get("owner"))])
        values = check_action_input(fields, clock.today(), lambda i: i in known)
        action = await record.create(
            CorrectiveAction(nc=nc.id, created_by=getattr(actor, "id", None), **values), actor
        )
        await _write(nc, actor, {}, "", "action_added")
        return action


async def _action(nc: Nonconformance, action_id: int) -> CorrectiveAction:
    action = await CorrectiveAction.objects().get(
        (CorrectiveAction.id == action_id) & (CorrectiveAction.nc == nc.id)
    )
    if action is None:
        raise WorkflowError(404, _("No such action."))
    return action


async def withdraw_action(nc_id: int, action_id: int, actor: Any, reason: str) -> None:
    """Take an action out of a plan that is still being drafted."""
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        check_plan_change(await facts_of(nc), Who.of(actor))
        action = await _action(nc, action_id)
        if action.status != "open":
            raise WorkflowError(409, _("This action is already %(status)s.",
                                       status=action.status))
        await record.update(action, actor, {"status": "cancelled"}, reason, action="withdraw")
        await _write(nc, actor, {}, reason, "action_withdrawn")


async def complete_action(nc_id: int, action_id: int, actor: Any, note: str) -> None:
    async with write_transaction():
        nc = await load_visible(nc_id, actor)
        action = await _action(nc, action_id)
        check_action_done(await facts_of(nc), Who.of(actor), action.owner, action.status)
        await record.update(
            action,
            actor,
            {"status": "done", "done_at": datetime.now(UTC), "done_note": note.strip()[:10_000]},
            note,
            action="done",
        )
        await _write(nc, actor, {}, note, "action_done")
