"""Changing NCs: load, check with the plain rules (workflow.py), write through the
change log in one transaction. Routes and the API call these and only translate
WorkflowError into HTTP statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from server.accounts.users import active_user_ids
from server.changelog import record
from server.changelog.tables import ChangeLog
from server.core import clock
from server.core.i18n import gettext as _
from server.db.engine import row_lock, write_transaction
from server.findings import attachments as files
from server.findings import policy as pol
from server.findings.access import can_see
from server.findings.attachments import Upload
from server.findings.queries import visible_ids_of_audit
from server.findings.raising import merged_items, merged_severity, raise_manual
from server.findings.tables import CorrectiveAction, NcSourceItem, Nonconformance, loads
from server.findings.workflow import (
    FILE_OF,
    MAX_TEXT,
    Context,
    Decision,
    NcFacts,
    Who,
    WorkflowError,
    check_action_done,
    check_action_input,
    check_attach,
    check_concession,
    check_concession_done,
    check_edit_draft,
    check_plan_change,
    check_reassign,
    check_severity_change,
    decide,
    due_reason,
    find,
    int_of,
    text_of,
)

CLOCK_ACTIONS = ("issue", "reopen", "verify_not_effective")


async def get_row(nc_id: int, *, lock: bool = False) -> Nonconformance | None:
    """The NC; with `lock` (in a write transaction) held until commit, so that its version
    check and its write see the same NC (see db.engine.row_lock)."""
    query = Nonconformance.objects().where(Nonconformance.id == nc_id)
    if lock and row_lock():
        query = query.lock_rows()
    return await query.first()


def row_dict(nc: Nonconformance) -> dict[str, Any]:
    return {c._meta.name: getattr(nc, c._meta.name) for c in nc._meta.columns}


async def load_visible(nc_id: int, user: Any, *, lock: bool = False) -> Nonconformance:
    """The NC if this person may see it; 404 otherwise (its existence is not revealed)."""
    nc = await get_row(nc_id, lock=lock)
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
        incident_level=nc.incident_level,
        attachment_steps=await files.steps_of(nc.id),
    )


async def clock_start(nc: Nonconformance) -> date | None:
    """The day the NC's deadlines count from: its issue, or the last restart
    (reopened on recurrence, or a fix found not effective)."""
    row = (
        await ChangeLog.select(ChangeLog.at)
        .where(
            (ChangeLog.record_table == "nonconformance")
            & (ChangeLog.record_id == str(nc.id))
            & ChangeLog.action.is_in(list(CLOCK_ACTIONS))
        )
        .order_by(ChangeLog.id, ascending=False)
        .first()
    )
    if row is not None:
        return clock.local_date(row["at"])
    return clock.local_date(nc.issued_at) if nc.issued_at else None


async def context_for(nc: Nonconformance, now: datetime | None = None) -> Context:
    moment = now or datetime.now(UTC)
    return Context(
        now=moment,
        today=clock.local_date(moment),
        policy=await pol.load_policy(),
        clock_start=await clock_start(nc),
    )


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


# --- attachments -------------------------------------------------------------


@asynccontextmanager
async def _with_file(upload: Upload | None, data_dir: Path | None, nc_id: int
                     ) -> AsyncIterator[tuple[Any, str]]:
    """Check an upload before the write transaction (CPU work outside it), write its file,
    and remove the file again if the step it came with is refused or fails."""
    if upload is None or data_dir is None:
        yield None, ""
        return
    checked = await files.prepare(upload)
    path = files.write_file(data_dir, nc_id, checked)
    try:
        yield checked, path
    except BaseException:
        files.remove_file(data_dir, path)
        raise


async def _attach(nc: Nonconformance, actor: Any, step: str, checked: Any, path: str,
                  action_id: int | None = None, action_owner: int | None = None) -> int:
    """Record an attachment of `step` (checked against who may attach it, now)."""
    check_attach(await facts_of(nc), Who.of(actor), step, action_owner)
    row = await files.create_row(nc, actor, step, checked, path, action_id)
    await _write(nc, actor, {}, checked.filename, "attach")
    return row.id


async def attach(nc_id: int, actor: Any, step: str, upload: Upload, data_dir: Path,
                 action_id: int | None = None) -> int:
    """Attach a file to a step on its own (the API: upload first, then take the step)."""
    await load_visible(nc_id, actor)  # 404 before the file is even read
    async with _with_file(upload, data_dir, nc_id) as (checked, path), write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
        owner = None
        if step == "action":
            if action_id is None:
                raise WorkflowError(422, _("Say which action the file belongs to."),
                                    missing=["action"])
            owner = (await _action(nc, action_id)).owner
        return await _attach(nc, actor, step, checked, path, action_id, owner)


async def attachment_for(nc_id: int, attachment_id: int, actor: Any, data_dir: Path
                         ) -> tuple[Any, Path]:
    """An attachment and its file, for someone who may see the NC (404 otherwise)."""
    await load_visible(nc_id, actor)
    row = await files.get(nc_id, attachment_id)
    if row is None:
        raise WorkflowError(404, _("No such attachment."))
    try:
        path = files.file_path(data_dir, row)
    except ValueError:
        path = None
    if path is None or not path.is_file():
        raise WorkflowError(404, _("The file of this attachment is missing."))
    return row, path


# --- transitions -------------------------------------------------------------


async def transition(
    nc_id: int,
    actor: Any,
    to: str,
    fields: Mapping[str, Any],
    *,
    now: datetime | None = None,
    upload: Upload | None = None,
    data_dir: Path | None = None,
) -> Decision:
    """Move an NC to another state (see workflow.TRANSITIONS), with the step's file
    when one is sent (containment, verification, fixed on the spot): both or neither."""
    if upload is not None:
        await load_visible(nc_id, actor)
    async with _with_file(upload, data_dir, nc_id) as (checked, path), write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
        _check_version(nc, fields.get("version"))
        if checked is not None:
            # The step is decided first only to know which step the file is for.
            facts = await facts_of(nc)
            step = FILE_OF.get(find(facts, to, text_of(fields, "step")).name)
            if step is None:
                raise WorkflowError(422, _("This step takes no file."),
                                    invalid={"file": _("This step takes no file.")})
            await _attach(nc, actor, step, checked, path)
        facts = await facts_of(nc)
        ctx = await context_for(nc, now)
        known = await active_user_ids([int_of(fields.get("owner")), nc.owner])
        decision = decide(facts, Who.of(actor), to, fields, ctx, lambda i: i in known)
        reason = decision.comment
        if "due_date" in decision.values:
            moved = due_reason(decision.transition.name, facts, ctx.policy, nc.due_date,
                               decision.values["due_date"])
            if moved and nc.state != "draft":  # issuing sets the first due date
                reason = f"{reason}\n{moved}".strip()
        await _write(nc, actor, decision.values, reason, decision.transition.name)
        return decision


# --- drafts ------------------------------------------------------------------


async def edit(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> Nonconformance:
    """Edit a draft under review (title, description, verification standard, owner),
    and change the severity with a reason (drafts and, by the QM, issued NCs)."""
    async with write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
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
                values[name] = text_of(fields, name)
                limit = 300 if name == "title" else MAX_TEXT
                if len(values[name]) > limit:  # refused, never cut
                    raise WorkflowError(422, _("At most %(n)s characters.", n=limit),
                                        invalid={name: _("At most %(n)s characters.", n=limit)})
        if "title" in values and not values["title"]:
            missing.append("title")
        if values.get("title"):
            if values["title"] in {nc.title, nc.title_zh, nc.title_en}:
                del values["title"]  # the form sends back the title it showed
            else:
                # A rewritten title is the writer's, in their language: the item's two
                # generated ones no longer describe it.
                values.update(title_zh="", title_en="")
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
                    ctx.policy, nc.state, severity, ctx.clock_start, loads(nc.concession),
                    nc.incident_level,
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
        # Locked in id order, so two merges of the same pair cannot deadlock.
        first, second = sorted((keep_id, other_id))
        rows = {first: await load_visible(first, actor, lock=True),
                second: await load_visible(second, actor, lock=True)}
        keep, other = rows[keep_id], rows[other_id]
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
        nc = await load_visible(nc_id, actor, lock=True)
        _check_version(nc, fields.get("version"))
        owner = int_of(fields.get("owner"))
        known = await active_user_ids([owner])
        reason = text_of(fields, "reason")
        check_reassign(await facts_of(nc), Who.of(actor), owner, reason, lambda i: i in known)
        await _write(nc, actor, {"owner": owner}, reason, "reassign")


async def _approval_file(nc: Nonconformance, fields: Mapping[str, Any]) -> int | None:
    """The id of the signed approval named by `approval_attachment`, if it is a
    concession file of this NC not already used by an earlier concession."""
    wanted = int_of(fields.get("approval_attachment"))
    if wanted is None:
        return None
    row = await files.get(nc.id, wanted)
    earlier = loads(nc.concession) or {}
    if row is None or row.step != "concession" or earlier.get("approval_attachment") == wanted:
        raise WorkflowError(422, _("Attach the signed approval to this NC first (step: "
                                   "concession)."),
                            invalid={"approval_attachment": _("No such concession file.")})
    return row.id


async def grant_concession(nc_id: int, actor: Any, fields: Mapping[str, Any], *,
                           upload: Upload | None = None, data_dir: Path | None = None) -> None:
    """Record a concession with the client's signed approval: a file sent with it (the
    page), or one attached before and named by `approval_attachment` (the API)."""
    await load_visible(nc_id, actor)
    async with _with_file(upload, data_dir, nc_id) as (checked, path), write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
        _check_version(nc, fields.get("version"))
        on = clock.today()
        facts = await facts_of(nc)
        approval = await _approval_file(nc, fields)
        if checked is not None:
            # Checked before the file is recorded, so a refusal leaves no stray attachment.
            check_concession(facts, Who.of(actor), fields, on, approval_ok=True)
            approval = await _attach(nc, actor, "concession", checked, path)
        concession = check_concession(facts, Who.of(actor), fields, on,
                                      approval_ok=approval is not None)
        concession["approval_attachment"] = approval
        concession["granted_by"] = getattr(actor, "login", "")
        concession["entered_by"] = getattr(actor, "login", "")
        concession["entered_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        await _write(
            nc,
            actor,
            {"concession": concession, "due_date": date.fromisoformat(concession["until"])},
            text_of(fields, "comment"),
            "concession",
        )


async def complete_concession(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> None:
    """Record that a concession's agreed plan is done (the NC then moves on as usual)."""
    async with write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
        _check_version(nc, fields.get("version"))
        on = clock.today()
        note = text_of(fields, "note")
        done = check_concession_done(await facts_of(nc), Who.of(actor), note, on)
        ctx = await context_for(nc)
        due = pol.deadline_in_force(ctx.policy, nc.state, nc.severity, ctx.clock_start, None,
                                    nc.incident_level)
        await _write(nc, actor, {"concession": done, "due_date": due}, note, "concession_done")


# --- actions -----------------------------------------------------------------


async def add_action(nc_id: int, actor: Any, fields: Mapping[str, Any]) -> CorrectiveAction:
    async with write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
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
        nc = await load_visible(nc_id, actor, lock=True)
        check_plan_change(await facts_of(nc), Who.of(actor))
        action = await _action(nc, action_id)
        if action.status != "open":
            raise WorkflowError(409, _("This action is already %(status)s.",
                                       status=action.status))
        await record.update(action, actor, {"status": "cancelled"}, reason, action="withdraw")
        await _write(nc, actor, {}, reason, "action_withdrawn")


async def complete_action(nc_id: int, action_id: int, actor: Any, note: str, *,
                          upload: Upload | None = None, data_dir: Path | None = None) -> None:
    """Mark an action done, with a file showing its implementation when one is sent."""
    if upload is not None:
        await load_visible(nc_id, actor)
    async with _with_file(upload, data_dir, nc_id) as (checked, path), write_transaction():
        nc = await load_visible(nc_id, actor, lock=True)
        action = await _action(nc, action_id)
        check_action_done(await facts_of(nc), Who.of(actor), action.owner, action.status)
        if checked is not None:
            await _attach(nc, actor, "action", checked, path, action.id, action.owner)
        await record.update(
            action,
            actor,
            {"status": "done", "done_at": datetime.now(UTC), "done_note": note.strip()[:10_000]},
            note,
            action="done",
        )
        await _write(nc, actor, {}, note, "action_done")


async def edit_and_issue(nc_id: int, actor: Any, fields: Mapping[str, Any], *,
                         issue: bool = False) -> None:
    """The review form: edit a draft and, when asked, issue it. The edit stands even when
    issuing is refused (the form then says what is still missing)."""
    await edit(nc_id, actor, fields)
    if issue:
        await transition(nc_id, actor, "open", {"comment": fields.get("comment", "")})


async def concession(nc_id: int, actor: Any, fields: Mapping[str, Any], *,
                     upload: Upload | None = None, data_dir: Path | None = None) -> None:
    """Grant a concession, or (with "done") record that its agreed plan is done."""
    if fields.get("done"):
        await complete_concession(nc_id, actor, fields)
    else:
        await grant_concession(nc_id, actor, fields, upload=upload, data_dir=data_dir)


async def merge_fields(fields: Mapping[str, Any], actor: Any) -> Nonconformance:
    """merge() of the drafts a form or request names as "keep" and "other"."""
    keep, other = fields.get("keep"), fields.get("other")
    if not isinstance(keep, int) or not isinstance(other, int):
        raise WorkflowError(422, _("Choose the two drafts to merge."),
                            missing=[n for n in ("keep", "other")
                                     if not isinstance(fields.get(n), int)])
    return await merge(keep, other, actor)


# --- several at once ---------------------------------------------------------


async def raise_and_issue(fields: Mapping[str, Any], actor: Any) -> Nonconformance:
    """Raise an NC by hand and, when asked ("issue"), issue it: both or neither."""
    async with write_transaction():
        nc = await raise_manual(dict(fields), actor)
        if fields.get("issue"):
            await transition(nc.id, actor, "open", fields)
    return nc


async def issue_ready_drafts(audit_id: int, actor: Any) -> None:
    """Issue every draft of the audit that is ready (has an owner, or is an observation).
    A refusal names the draft (`nc` in its details)."""
    for nc_id in await visible_ids_of_audit(audit_id, actor, state="draft"):
        nc = await get_row(nc_id)
        if nc is None or (nc.owner is None and nc.severity != "observation"):
            continue
        try:
            await transition(nc_id, actor, "open", {})
        except WorkflowError as exc:
            raise WorkflowError(exc.status, exc.message, exc.missing, exc.invalid,
                                nc=nc_id) from exc
