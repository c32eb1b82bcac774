"""Audit runs: starting, answering, submitting. The rules live here and in
scoring.py / answers.py; routes only translate HTTP to these calls."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from server import clock
from server.audits.answers import InvalidAnswer, normalize, result_of
from server.audits.scoring import Score, missing, score
from server.audits.tables import Answer, Audit, Photo
from server.changelog import record
from server.checklists import store
from server.checklists.model import Checklist
from server.db.engine import write_transaction
from server.evidence import storage
from server.evidence.images import ImageRejected, process_photo, process_signature
from server.i18n import gettext as _
from server.web.errors import DomainError


class AuditError(DomainError):
    """A refused audit operation; `status` is the HTTP status it maps to."""


class NotFound(AuditError):
    status = 404


class Locked(AuditError):
    status = 409


class Conflict(AuditError):
    status = 409


class Invalid(AuditError):
    status = 422


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
    audit = Audit(
        checklist_key=checklist.key,
        checklist_version=checklist.version,
        kind=checklist.kind.value,
        title=title[:300],
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


# --- loading -------------------------------------------------------------------

EDITABLE = ("planned", "in_progress")


# What access checks read (access.py), and which checklist version the run uses. Every
# request on a run reads them, so they come in plain statements: building these with
# Piccolo's select cost as much as running them.
RUN_COLUMNS = ("id", "kind", "status", "lead_auditor", "created_by", "checklist_key",
               "checklist_version")
_ACCESS_ROW = f"SELECT {', '.join(RUN_COLUMNS)} FROM audit WHERE id = {{}}"


async def access_row(audit_id: int) -> dict[str, Any]:
    """The columns access.py decides on and the run's checklist version; NotFound if there
    is no such audit."""
    rows = await Audit.raw(_ACCESS_ROW, audit_id)
    if not rows:
        raise NotFound(_("No audit with this number."))
    return rows[0]


async def get_audit(audit_id: int) -> dict[str, Any]:
    """The audit row; NotFound if there is none."""
    row = await Audit.select().where(Audit.id == audit_id).first()
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
WHERE audit.id = {{}}
"""


async def state_and_answer(
    audit_id: int, item_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The audit's RUN_COLUMNS, and the stored answer to `item_id` (None when
    unanswered); NotFound if there is no such audit."""
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
    rows = await Answer.raw(
        "SELECT item_id, value FROM answer WHERE audit = {} AND value IS NOT NULL", audit_id)
    return {r["item_id"]: load_value(r["value"]) for r in rows}


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
        audit, current = await state_and_answer(audit_id, item_id)
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
        new_comment = comment.strip()[:5000] if comment is not None else old_comment
        old_value = current["value"] if current else None
        changes: dict[str, list[Any]] = {}
        if old_value != new_value:
            changes["value"] = [old_value, new_value]
        if old_comment != new_comment:
            changes["comment"] = [old_comment, new_comment]
        if current is not None and not changes:
            return current
        result = result_of(checklist, item, new_value)
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
    return {"item_id": item_id, **fields}


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
    try:
        image = await asyncio.to_thread(process, data)
    except ImageRejected as exc:
        raise ImageRefused(exc.message, status=exc.status) from None
    path, thumb = await asyncio.to_thread(storage.save, data_dir, audit_id, image)
    try:
        async with write_transaction():
            audit = await get_audit(audit_id)
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


async def remove_image(audit_id: int, photo_id: int, actor: Any) -> None:
    async with write_transaction():
        audit = await get_audit(audit_id)
        _require_editable(audit)
        row = await Photo.objects().get((Photo.id == photo_id) & (Photo.audit == audit_id))
        if row is None or row.removed_at is not None:
            raise NotFound(_("No such photo."))
        await record.update(row, actor, {"removed_at": datetime.now(UTC)}, action="remove")


class ImageRefused(AuditError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# --- submitting ------------------------------------------------------------------

SIGNATURE_MEANING = "submitted as a true record of the audit"


async def submit(audit_id: int, actor: Any, *, meaning: str = SIGNATURE_MEANING) -> Score:
    """Lock the run after checking what is required; score it; raise draft NCs."""
    async with write_transaction():
        audit = await get_audit(audit_id)
        _require_editable(audit)
        checklist = await get_checklist(audit)
        answers = values(await answers_of(audit_id))
        photos = await photo_counts(audit_id)
        blocking = missing(checklist, answers, photos)
        if blocking:
            raise Invalid(_("Some required answers or photos are missing."),
                          missing=[m.item_id for m in blocking],
                          reasons={m.item_id: m.reason for m in blocking})
        result = score(checklist, answers, photos)
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
            "passed": [None, result.passed],
        }, reason=meaning)
        from server.findings.raising import raise_drafts_for_audit

        await raise_drafts_for_audit(audit_id, actor)
    return result


async def close(audit_id: int, actor: Any, note: str = "") -> None:
    """The quality manager closes a submitted audit once its follow-up is done."""
    async with write_transaction():
        audit = await get_audit(audit_id)
        if audit["status"] != "submitted":
            raise Locked(_("Only a submitted audit can be closed."))
        await Audit.update({Audit.status: "closed", Audit.closed_at: datetime.now(UTC)}).where(
            Audit.id == audit_id)
        await record.append(actor, "close", "audit", audit_id,
                            {"status": ["submitted", "closed"]}, reason=note)
