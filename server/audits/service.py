"""Audit runs: starting, answering, submitting. The rules live here and in
scoring.py / answers.py; routes only translate HTTP to these calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from server.accounts.current import CurrentUser
from server.accounts.users import active_user_ids
from server.audits import access
from server.audits.answers import MAX_TEXT, InvalidAnswer, date_problem, normalize, result_of
from server.audits.schemas import BatchAnswer
from server.audits.scoring import (
    Evaluation,
    Missing,
    Score,
    evaluate,
    missing_of,
    needs_comment,
    score_of,
)
from server.audits.tables import Answer, Audit, AuditMember, Photo
from server.changelog import record
from server.checklists import store
from server.checklists.model import Checklist
from server.core import clock, inputs
from server.core.errors import Conflict, Forbidden, Invalid, NotFound
from server.core.i18n import gettext as _
from server.db.engine import row_lock, write_transaction
from server.evidence import storage
from server.evidence.images import in_decoder, process_photo, process_signature
from server.org.queries import unknown_refs


class Locked(Conflict):
    """The run is submitted: a record of evidence, no longer open to change."""


async def start_audit(
    checklist_key: str,
    actor: Any,
    *,
    version: int | None = None,
    org_unit: int | None = None,
    project: int | None = None,
    asset: int | None = None,
    programme: int | None = None,
    lead_auditor: int | None = None,
    planned_date: date | None = None,
    title: str = "",
    status: str = "in_progress",
) -> Audit:
    """Create a run of the newest (or the given) version of a checklist."""
    checklist = await store.get(checklist_key, version)
    if checklist is None:
        suffix = f" version {version}" if version else ""
        raise NotFound(f"no checklist {checklist_key!r}{suffix}")
    problems = await unknown_refs(org_unit=org_unit, project=project, new=True)
    if not inputs.is_clean(title) or len(title) > 300:
        problems["title"] = _("At most %(n)s characters, no control characters.", n=300)
    if lead_auditor is not None and not await active_user_ids([lead_auditor]):
        problems["lead_auditor"] = _("No active user with this id.")
    if problems:
        raise Invalid(_("Some values are not valid"), invalid=problems)
    audit = Audit(
        checklist_key=checklist.key,
        checklist_version=checklist.version,
        kind=checklist.kind.value,
        title=title.strip(),
        org_unit=org_unit,
        project=project,
        asset=asset,
        programme=programme,
        lead_auditor=lead_auditor if lead_auditor is not None else getattr(actor, "id", None),
        planned_date=planned_date,
        status=status,
        started_at=datetime.now(UTC) if status == "in_progress" else None,
        created_by=getattr(actor, "id", None),
    )
    return await record.create(audit, actor)


async def start_ad_hoc(checklist_key: str, actor: CurrentUser, *, org_unit: int | None = None,
                       project: int | None = None, title: str = "") -> Audit:
    """A run started from the catalogue, outside the programme."""
    summary = await store.latest_summary(checklist_key)
    if summary is None:
        raise NotFound(_("No checklist with this key"))
    if not access.can_start(actor, summary.kind, checklist_key, project):
        raise Forbidden(_("You may not start runs of this checklist."))
    return await start_audit(checklist_key, actor, org_unit=org_unit, project=project,
                             title=title)


async def open_for_work(audit_id: int, actor: CurrentUser) -> None:
    """Someone opens a planned audit: only who may fill it in (it becomes in progress at
    its first answer)."""
    if not access.can_edit(actor, await access_row(audit_id)):
        raise Forbidden(_("Only the lead auditor can change this audit."))


# --- loading -------------------------------------------------------------------

EDITABLE = ("planned", "in_progress")


# What access checks read (access.py), and which checklist version the run uses. Every
# request on a run reads them, so they come in plain statements: building these with
# Piccolo's select cost as much as running them.
RUN_COLUMNS = ("id", "kind", "status", "lead_auditor", "created_by", "checklist_key",
               "checklist_version", "asset", "org_unit", "project", "started_at")
_ACCESS_ROW = f"SELECT {', '.join(RUN_COLUMNS)} FROM audit WHERE id = {{}}"


async def access_row(audit_id: int) -> dict[str, Any]:
    """The columns access.py decides on and the run's checklist version; NotFound if there
    is no such audit."""
    rows = await Audit.raw(_ACCESS_ROW, audit_id)
    if not rows:
        raise NotFound(_("No audit with this number."))
    return rows[0]


async def team_of(audit_id: int) -> set[int]:
    """The audit team's members (the lead auditor aside)."""
    rows = await AuditMember.select(AuditMember.user).where(AuditMember.audit == audit_id)
    return {r["user"] for r in rows}


async def get_audit(audit_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The audit row; NotFound if there is none. With `lock` (in a write transaction) the
    row stays locked until commit, so changes to one run happen one after another."""
    query = Audit.select().where(Audit.id == audit_id)
    if lock and row_lock():
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound(_("No audit with this number."))
    return row


async def get_checklist(audit: dict[str, Any]) -> Checklist:
    checklist = await store.get(audit["checklist_key"], audit["checklist_version"])
    if checklist is None:  # a stored version is never deleted; this means a broken database
        raise NotFound(f"checklist {audit['checklist_key']} v{audit['checklist_version']} missing")
    return checklist


def dump_value(value: Any) -> str | None:
    """Answer values are JSON; Piccolo would take a bare string as JSON text already."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def load_value(raw: Any) -> Any:
    # msgspec decodes to the same Python values as json.loads, several times faster: a
    # 1000-item run decodes 1000 of these on every autosave.
    return msgspec.json.decode(raw) if isinstance(raw, str) else raw


async def answers_of(audit_id: int) -> dict[str, dict[str, Any]]:
    """The stored answers by item id."""
    rows = await Answer.select(
        Answer.id, Answer.item_id, Answer.value, Answer.comment, Answer.result, Answer.version,
        Answer.updated_by, Answer.updated_at,
    ).where(Answer.audit == audit_id)
    for row in rows:
        row["value"] = load_value(row["value"])
    return {r["item_id"]: r for r in rows}


# The run's columns and one current answer in one statement: a save runs it while this
# process's writers queue behind it, and each statement there costs every waiting save.
_STATE_AND_ANSWER = f"""
SELECT {', '.join('audit.' + c for c in RUN_COLUMNS)},
       answer.id AS answer_id, answer.value, answer.comment, answer.result, answer.version,
       answer.updated_by, answer.updated_at
FROM audit LEFT JOIN answer ON answer.audit = audit.id AND answer.item_id = {{}}
WHERE audit.id = {{}}"""


async def state_and_answer(
    audit_id: int, item_id: str, *, lock: bool = False
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The audit's RUN_COLUMNS, and the stored answer to `item_id` (None when
    unanswered); NotFound if there is no such audit. With `lock`, the run's row stays
    locked until commit: the version check and the write then see the same answer."""
    if lock and row_lock():
        # Its own statement: a READ COMMITTED statement that waited for the lock still
        # reads the other tables of a join as they were when it began.
        await Audit.raw(f"SELECT id FROM audit WHERE id = {{}}{row_lock()}", audit_id)
    rows = await Audit.raw(_STATE_AND_ANSWER, item_id, audit_id)
    if not rows:
        raise NotFound(_("No audit with this number."))
    row = rows[0]
    audit = {k: row[k] for k in RUN_COLUMNS}
    if row["answer_id"] is None:
        return audit, None
    answer = {k: row[k] for k in ("value", "comment", "result", "version", "updated_by",
                                  "updated_at")}
    answer.update(id=row["answer_id"], item_id=item_id, value=load_value(row["value"]))
    return audit, answer


async def answer_values(audit_id: int) -> dict[str, Any]:
    """{item id: value} of every answered item: what scoring reads, without the rest."""
    return (await answer_values_and_notes(audit_id))[0]


async def answer_values_and_notes(audit_id: int) -> tuple[dict[str, Any], dict[str, str]]:
    """{item id: value} of every answered item, and {item id: "1"} of every item with a
    written comment: what scoring and the finding rules read, in one statement."""
    rows = await Answer.raw(
        "SELECT item_id, value, CASE WHEN comment <> '' THEN 1 ELSE 0 END AS noted"
        " FROM answer WHERE audit = {} AND (value IS NOT NULL OR comment <> '')", audit_id)
    values = {r["item_id"]: load_value(r["value"]) for r in rows if r["value"] is not None}
    return values, {r["item_id"]: "1" for r in rows if r["noted"]}


def run_date(audit: dict[str, Any]) -> date:
    """The day the run is carried out, for date rules: the day its first answer was saved
    (where the organisation works), or today for a run not started yet."""
    started = clock.stored_date(audit.get("started_at"))
    return started if started is not None else clock.today()


def comments_of(answers: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {k: v["comment"] or "" for k, v in answers.items()}


async def photo_counts(audit_id: int) -> dict[str, int]:
    """{item id: images not removed}; plain SQL, as every autosave asks for it."""
    rows = await Photo.raw(
        "SELECT item_id, COUNT(*) AS n FROM photo WHERE audit = {} AND removed_at IS NULL"
        " GROUP BY item_id", audit_id)
    return {r["item_id"]: int(r["n"]) for r in rows}


def values(answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: v["value"] for k, v in answers.items() if v["value"] is not None}


def _require_editable(audit: dict[str, Any]) -> None:
    if audit["status"] not in EDITABLE:
        raise Locked(_("This audit has been submitted and can no longer be changed."))


# --- answering -------------------------------------------------------------------

async def save_answer(
    audit_id: int,
    item_id: str,
    value: Any,
    actor: Any,
    *,
    comment: str | None = None,
    base_version: int | None = None,
    keep_value: bool = False,
) -> dict[str, Any]:
    """Save one answer (and/or its comment). Returns the stored answer.

    `base_version` is the version the client last saw: a different stored version
    means someone else saved in between, and the save is refused (Conflict) so
    that nothing is overwritten without a person choosing.
    """
    async with write_transaction():
        audit, current = await state_and_answer(audit_id, item_id, lock=True)
        _require_editable(audit)
        checklist = await get_checklist(audit)
        item = checklist.item(item_id)
        if item is None:
            raise NotFound(_("This checklist has no item %(item)s.", item=item_id))
        stored_version = current["version"] if current else 0
        if base_version is not None and stored_version != base_version:
            raise Conflict(
                _("Someone else changed this answer in the meantime."),
                item_id=item_id,
                current={"value": current["value"] if current else None,
                         "comment": current["comment"] if current else "",
                         "version": stored_version},
            )
        if keep_value:
            new_value = current["value"] if current else None
        else:
            try:
                new_value = normalize(checklist, item, value)
            except InvalidAnswer as exc:
                raise Invalid(str(exc), item_id=item_id) from None
        old_comment = current["comment"] if current else ""
        new_comment = _comment(comment, item_id) if comment is not None else old_comment
        old_value = current["value"] if current else None
        changes: dict[str, list[Any]] = {}
        if old_value != new_value:
            changes["value"] = [old_value, new_value]
        if old_comment != new_comment:
            changes["comment"] = [old_comment, new_comment]
        if current is not None and not changes:
            return current
        context: dict[str, Any] | None = None
        if item.date_rule is not None and item.date_rule.item_refs():
            context = await answer_values(audit_id)
        day = run_date(audit)
        result = result_of(checklist, item, new_value, run_date=day, answers=context)
        now = datetime.now(UTC)
        who = getattr(actor, "id", None)
        fields = {"value": new_value, "comment": new_comment, "result": result,
                  "version": stored_version + 1, "updated_by": who, "updated_at": now}
        # Plain SQL, like the reads of every save (see state_and_answer).
        row = (dump_value(new_value), *(fields[k] for k in (
            "comment", "result", "version", "updated_by", "updated_at")))
        if current is None:
            await Answer.raw(
                "INSERT INTO answer (value, comment, result, version, updated_by, updated_at,"
                " audit, item_id) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
                *row, audit_id, item_id)
        else:
            await Answer.raw(
                "UPDATE answer SET value = {}, comment = {}, result = {}, version = {},"
                " updated_by = {}, updated_at = {} WHERE id = {}", *row, current["id"])
        if audit["status"] == "planned":
            await Audit.update({Audit.status: "in_progress", Audit.started_at: now}).where(
                Audit.id == audit_id)
            await record.append(actor, "start", "audit", audit_id,
                                {"status": ["planned", "in_progress"]})
        await record.append(actor, "answer", "audit", audit_id,
                            {f"{item_id}.{k}": v for k, v in changes.items()})
    # What the auditor still has to write or fix; the save itself is never refused for it
    # (an autosave keeps a half-typed answer), submit is.
    return {"item_id": item_id, **fields,
            "needs": needs_comment(checklist, item, result, new_comment),
            "date_problem": date_problem(checklist, item, new_value, run_date=day,
                                         answers=context)}


MAX_BATCH = 1000


async def save_answers(audit_id: int, answers: Sequence[BatchAnswer], actor: Any, *,
                       one_transaction: bool = True) -> list[dict[str, Any]]:
    """A device's queued answers, in order, each through save_answer (its own version
    check and log row), each answered on its own: 200 saved with its new version, 409 a
    conflict with the stored answer, 422 invalid, 404 no such item.

    A replay whose first reply was lost (the stored answer already is this one) is saved,
    not a conflict. A later answer to an item saved earlier in the batch on the same base
    version is the device's own next change, so it goes on top of that save. A submitted
    run refuses the whole batch (Locked). `one_transaction` (the default) commits the
    batch once: docs/performance.md has the figures for both ways.
    """
    if len(answers) > MAX_BATCH:
        raise Invalid(_("At most %(n)s answers at a time.", n=MAX_BATCH),
                      invalid={"answers": _("At most %(n)s answers at a time.", n=MAX_BATCH)})
    run = await access_row(audit_id)
    checklist = await get_checklist(run)
    results: list[dict[str, Any]] = []
    ours: dict[str, tuple[int | None, int]] = {}  # item -> (base sent, version saved)

    async def one(entry: BatchAnswer) -> dict[str, Any]:
        base = entry.base_version
        if entry.item_id in ours and base == ours[entry.item_id][0]:
            base = ours[entry.item_id][1]
        try:
            saved = await save_answer(audit_id, entry.item_id, entry.value, actor,
                                      comment=entry.comment, base_version=base,
                                      keep_value=entry.keep_value)
        except Conflict as exc:
            current = exc.details.get("current")
            if current is None:
                raise  # Locked: the run was submitted
            if not _same_answer(checklist, entry, current):
                return {"item_id": entry.item_id, "status": 409, "error": exc.message,
                        "current": current}
            item = checklist.item(entry.item_id)
            saved = {**current, "result": result_of(checklist, item, current["value"],
                                                    run_date=run_date(run))}
        except (Invalid, NotFound) as exc:
            return {"item_id": entry.item_id, "status": exc.status, "error": exc.message,
                    **exc.details}
        ours[entry.item_id] = (entry.base_version, saved["version"])
        item = checklist.item(entry.item_id)
        needs = needs_comment(checklist, item, saved["result"], saved["comment"]) if item else None
        return {"item_id": entry.item_id, "status": 200, "version": saved["version"],
                "value": saved["value"], "comment": saved["comment"],
                "result": saved["result"], "needs": needs,
                "date_problem": saved.get("date_problem")}

    if one_transaction:
        async with write_transaction():
            for entry in answers:
                results.append(await one(entry))
    else:
        for entry in answers:
            results.append(await one(entry))
    return results


def _same_answer(checklist: Checklist, entry: BatchAnswer, current: dict[str, Any]) -> bool:
    """Whether the stored answer already is what `entry` would make it."""
    item = checklist.item(entry.item_id)
    if item is None:
        return False
    try:
        comment = inputs.text(entry.comment, MAX_TEXT) if entry.comment is not None else None
        value = None if entry.keep_value else normalize(checklist, item, entry.value)
    except (ValueError, InvalidAnswer):
        return False
    if comment is not None and comment != (current.get("comment") or ""):
        return False
    return entry.keep_value or value == current.get("value")


def _comment(comment: str, item_id: str) -> str:
    """A comment as stored: trimmed, at most MAX_TEXT characters (longer ones are refused,
    never cut), only characters a database and a report can hold."""
    try:
        return inputs.text(comment, MAX_TEXT)
    except ValueError:
        raise Invalid(_("A comment has at most %(n)s characters and no control characters.",
                        n=MAX_TEXT), item_id=item_id, invalid={
            "comment": _("At most %(n)s characters, no control characters.", n=MAX_TEXT)
        }) from None


# --- photos --------------------------------------------------------------------

async def add_image(
    audit_id: int, item_id: str, data: bytes, actor: Any, data_dir: Path, kind: str = "photo"
) -> dict[str, Any]:
    """Process and store a photo (or a drawn signature) for one item."""
    audit = await get_audit(audit_id)
    _require_editable(audit)
    checklist = await get_checklist(audit)
    item = checklist.item(item_id)
    if item is None:
        raise NotFound(_("This checklist has no item %(item)s.", item=item_id))
    if kind == "signature" and item.type.value != "signature":
        raise Invalid(_("Only signature items take a signature."), item_id=item_id)
    if kind == "photo" and item.evidence.photo.value == "none" and item.type.value != "photo":
        raise Invalid(_("This item takes no photos."), item_id=item_id)
    process = process_signature if kind == "signature" else process_photo
    image = await in_decoder(process, data)  # bounded: DECODE_SLOTS at once
    path, thumb = await asyncio.to_thread(storage.save, data_dir, audit_id, image)
    try:
        async with write_transaction():
            audit = await get_audit(audit_id, lock=True)
            _require_editable(audit)  # it may have been submitted while we processed
            if kind == "signature":  # one signature per item: a new one replaces the old
                for old in await Photo.objects().where(
                    (Photo.audit == audit_id) & (Photo.item_id == item_id)
                    & (Photo.kind == "signature") & Photo.removed_at.is_null()
                ):
                    await record.update(old, actor, {"removed_at": datetime.now(UTC)},
                                        action="remove")
            row = await record.create(Photo(
                audit=audit_id, item_id=item_id, kind=kind, path=path, thumb_path=thumb,
                sha256=image.sha256, content_type=image.content_type, width=image.width,
                height=image.height, size_bytes=image.size_bytes,
                captured_at=clock.placed(image.captured_at),
                uploaded_by=getattr(actor, "id", None),
            ), actor)
    except Exception:
        storage.remove(data_dir, path)
        storage.remove(data_dir, thumb)
        raise
    return row.to_dict()


async def remove_image(audit_id: int, photo_id: int, actor: Any) -> str:
    """Take a photo off its item (kept on disk and in the log); returns the item's id."""
    async with write_transaction():
        audit = await get_audit(audit_id, lock=True)
        _require_editable(audit)
        row = await Photo.objects().get((Photo.id == photo_id) & (Photo.audit == audit_id))
        if row is None or row.removed_at is not None:
            raise NotFound(_("No such photo."))
        await record.update(row, actor, {"removed_at": datetime.now(UTC)}, action="remove")
        return str(row.item_id)


async def stored_photo(audit_id: int, photo_id: int, data_dir: Path, thumb: bool = False
                       ) -> tuple[Path, str | None]:
    """Where a stored photo (or its thumbnail) is on disk, and its type."""
    row = await Photo.select(Photo.path, Photo.thumb_path, Photo.content_type).where(
        (Photo.id == photo_id) & (Photo.audit == audit_id)).first()
    if row is None:
        raise NotFound(_("No such photo."))
    try:
        path = storage.resolve(data_dir, row["thumb_path"] if thumb else row["path"])
    except ValueError:
        raise NotFound(_("No such photo.")) from None
    if not path.exists():
        raise NotFound(_("No such photo."))
    return path, None if thumb else row["content_type"]


# --- submitting ------------------------------------------------------------------

SIGNATURE_MEANING = "submitted as a true record of the audit"


def meaning_text(stored: str) -> str:
    """The signature's meaning as the reader reads it: the standard words are stored
    in English and shown in the reader's language; other words as they were signed."""
    if stored == SIGNATURE_MEANING:
        return _("submitted as a true record of the audit")
    return stored


async def submit(audit_id: int, actor: Any, *, meaning: str = SIGNATURE_MEANING) -> Score:
    """Lock the run after checking what is required, and score it. Call it through
    flows.submission, which raises the draft NCs in the same transaction."""
    async with write_transaction():
        audit = await get_audit(audit_id, lock=True)
        _require_editable(audit)
        checklist = await get_checklist(audit)
        stored = await answers_of(audit_id)
        answers = values(stored)
        photos = await photo_counts(audit_id)
        ev = evaluate(checklist, answers, photos, comments=comments_of(stored),
                      run_date=run_date(audit))
        blocking = missing_of(ev)
        if blocking:
            unwritten = any(m.reason in ("finding", "reason") for m in blocking)
            raise Invalid(_("Some required answers, photos, findings or reasons are missing.")
                          if unwritten else _("Some required answers or photos are missing."),
                          # not there: an answer or photos; there but not enough: an
                          # answer without its finding or reason (with what to write)
                          missing=[m.item_id for m in blocking
                                   if m.reason in ("answer", "photo")],
                          reasons={m.item_id: m.reason for m in blocking},
                          invalid=blocking_messages(ev, [
                              m for m in blocking if m.reason in ("finding", "reason")]))
        result = score_of(ev)
        rejudged = await _store_results(audit_id, stored, ev)
        now = datetime.now(UTC)
        values_after = {
            Audit.status: "submitted", Audit.submitted_at: now,
            Audit.score_percent: result.percent, Audit.passed: result.passed,
            Audit.score: json.dumps(result.to_json()), Audit.signed_by: getattr(actor, "id", None),
            Audit.signer_name: getattr(actor, "name", "") or getattr(actor, "login", ""),
            Audit.signed_at: now, Audit.signature_meaning: meaning[:300],
        }
        await Audit.update(values_after).where(Audit.id == audit_id)
        await record.append(actor, "submit", "audit", audit_id, {
            "status": [audit["status"], "submitted"], "score_percent": [None, result.percent],
            "passed": [None, result.passed], **rejudged,
        }, reason=meaning)
    return result


def blocking_messages(ev: Evaluation, blocking: list[Missing]) -> dict[str, str]:
    """{item id: what to write} for each finding or reason that blocks submit, in the
    reader's language; a failed date says why it failed."""
    messages: dict[str, str] = {}
    for m in blocking:
        if m.reason == "finding":
            why = ev.date_problems.get(m.item_id)
            text = _("Write the finding: what you saw that does not conform.")
            messages[m.item_id] = f"{text} ({why})" if why else text
        elif m.reason == "reason":
            messages[m.item_id] = _("Write why this item does not apply.")
    return messages


async def _store_results(audit_id: int, stored: dict[str, dict[str, Any]], ev: Evaluation
                         ) -> dict[str, list[Any]]:
    """Bring each stored result up to what submit judged: a date rule may refer to an
    answer changed after its own (and to the run's date). The NCs are raised from the
    stored results. Returns the changes for the submit's log row."""
    changes: dict[str, list[Any]] = {}
    for item_id, answer in stored.items():
        if item_id not in ev.visible:
            continue
        item = ev.checklist.item(item_id)
        if item is None or item.date_rule is None:
            continue
        judged = ev.results.get(item_id)
        if judged != answer["result"]:
            await Answer.raw("UPDATE answer SET result = {} WHERE id = {}", judged, answer["id"])
            changes[f"{item_id}.result"] = [answer["result"], judged]
    return changes


async def close(audit_id: int, actor: Any, note: str = "") -> None:
    """The quality manager closes a submitted audit once its follow-up is done."""
    async with write_transaction():
        audit = await get_audit(audit_id, lock=True)
        if audit["status"] != "submitted":
            raise Locked(_("Only a submitted audit can be closed."))
        await Audit.update({Audit.status: "closed", Audit.closed_at: datetime.now(UTC)}).where(
            Audit.id == audit_id)
        await record.append(actor, "close", "audit", audit_id,
                            {"status": ["submitted", "closed"]}, reason=note)
