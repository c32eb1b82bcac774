"""Raising NCs: drafts from a submitted audit's failed items, by hand (random
checks, complaints, incidents), and the auditor's review of drafts (merging)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.assets.tables import Asset
from server.audits.tables import Answer, Audit
from server.changelog import record
from server.checklists import store
from server.checklists.model import Checklist, Item
from server.core.clock import local_date
from server.core.i18n import gettext as _
from server.db.engine import write_transaction
from server.findings.refs import allocate
from server.findings.tables import NcSourceItem, Nonconformance, loads
from server.findings.workflow import (
    MANUAL_SOURCES,
    SEVERITIES,
    Checked,
    WorkflowError,
    int_of,
    text_of,
)
from server.org.tables import OrgUnit, Project

SEVERITY_RANK = {"major": 3, "minor": 2, "observation": 1}


def _text_json(text: Any) -> dict[str, str] | None:
    if text is None:
        return None
    return {"zh-CN": text.zh_CN, "en": text.en}


def _lang_of(actor: Any) -> str:
    lang = str(getattr(actor, "language", "") or "zh_CN")
    return "en" if lang.startswith("en") else "zh_CN"


def requirement_of(audit: dict[str, Any], checklist: Checklist | None, item_id: str
                   ) -> dict[str, Any]:
    item: Item | None = checklist.item(item_id) if checklist else None
    entry: dict[str, Any] = {
        "audit": audit["id"],
        "checklist": audit["checklist_key"],
        "version": audit["checklist_version"],
        "item_id": item_id,
        "prompt": _text_json(item.prompt) if item else {"zh-CN": item_id, "en": item_id},
        "guidance": _text_json(item.guidance) if item else None,
    }
    if item is not None and (item.min is not None or item.max is not None):
        entry["limits"] = {"min": item.min, "max": item.max, "unit": _text_json(item.unit)}
    if item is not None and item.evidence.note is not None:
        entry["evidence_note"] = _text_json(item.evidence.note)
    return entry


def severity_of(checklist: Checklist | None, item: Item | None, result: str) -> str:
    """A fail raises the item's severity_if_failed; a partly answer its checklist's
    severity_if_partly (minor unless the file says otherwise)."""
    if item is None or checklist is None:
        return "minor"
    if result == "part":
        return checklist.severity_for_partly(item).value
    return item.severity_if_failed.value


async def raise_drafts_for_audit(audit_id: int, actor: Any) -> list[int]:
    """One draft NC per failed or partly item of a submitted audit or inspection
    (observations included), in checklist order. Idempotent: items already linked to an NC are
    skipped, so submitting again never duplicates. Returns the new NCs' ids."""
    async with write_transaction():
        audit = (
            await Audit.select(
                Audit.id, Audit.kind, Audit.checklist_key, Audit.checklist_version,
                Audit.org_unit, Audit.project, Audit.asset,
            )
            .where(Audit.id == audit_id)
            .first()
        )
        if audit is None:
            raise WorkflowError(404, _("No such audit."))
        checklist = await store.get(audit["checklist_key"], audit["checklist_version"])
        failed = await Answer.select(
            Answer.item_id, Answer.value, Answer.comment, Answer.result
        ).where((Answer.audit == audit_id) & Answer.result.is_in(["fail", "part"]))
        linked = {
            r["item_id"]
            for r in await NcSourceItem.select(NcSourceItem.item_id).where(
                NcSourceItem.audit == audit_id
            )
        }
        order = {item.id: i for i, item in enumerate(checklist.items())} if checklist else {}
        failed.sort(key=lambda r: (order.get(r["item_id"], len(order)), r["item_id"]))
        now = datetime.now(UTC)
        year = local_date(now).year
        source = "inspection" if audit["kind"] == "inspection" else "audit"
        lang = _lang_of(actor)
        created: list[int] = []
        for answer in failed:
            item_id = answer["item_id"]
            if item_id in linked:
                continue
            item = checklist.item(item_id) if checklist else None
            requirement = requirement_of(audit, checklist, item_id)
            prompt = item.prompt.get(lang) if item else item_id
            both = {code: f"{item_id} {item.prompt.get(code) if item else ''}".strip()[:300]
                    for code in ("zh_CN", "en")}
            ref, seq = await allocate(year)
            nc = await record.create(
                Nonconformance(
                    ref=ref,
                    year=year,
                    seq=seq,
                    source=source,
                    audit=audit_id,
                    asset=audit["asset"],
                    project=audit["project"],
                    org_unit=audit["org_unit"],
                    title=f"{item_id} {prompt}"[:300],
                    title_zh=both["zh_CN"],
                    title_en=both["en"],
                    requirement={"items": [requirement]},
                    evidence={"items": [{
                        "audit": audit_id,
                        "item_id": item_id,
                        "value": loads(answer["value"]),
                        "comment": answer["comment"] or "",
                    }]},
                    severity=severity_of(checklist, item, answer["result"]),
                    state="draft",
                    raised_by=getattr(actor, "id", None),
                    raised_at=now,
                ),
                actor,
            )
            await record.create(NcSourceItem(nc=nc.id, audit=audit_id, item_id=item_id), actor)
            created.append(nc.id)
        return created


async def _exists(table: Any, row_id: int | None) -> bool:
    return row_id is not None and await table.exists().where(table.id == row_id)


async def raise_manual(fields: dict[str, Any], actor: Any) -> Nonconformance:
    """An NC raised by hand, as a draft: a random on-site check, a customer
    complaint, a quality incident (level 1, 2 or 3) or any other finding."""
    c = Checked()
    title = c.text(fields, "title")
    if len(title) > 300:
        c.invalid["title"] = _("At most %(n)s characters.", n=300)
    source = text_of(fields, "source") or "manual"
    if source not in MANUAL_SOURCES:
        c.invalid["source"] = _("Choose a random check, a complaint, an incident or other.")
    severity = text_of(fields, "severity")
    if not severity:
        c.missing.append("severity")
    elif severity not in SEVERITIES:
        c.invalid["severity"] = _("Choose major, minor or observation.")
    level = int_of(fields.get("incident_level"))
    if source == "incident":
        if level is None:
            c.missing.append("incident_level")
        elif level not in (1, 2, 3):
            c.invalid["incident_level"] = _("A quality incident is of level 1, 2 or 3.")
    else:
        level = None
    description = c.text(fields, "description")
    requirement = c.text(fields, "requirement", required=False)
    evidence = c.text(fields, "evidence", required=False)
    standard = c.text(fields, "verification_standard", required=False)
    refs = {}
    unknown = {"project": _("No such project."), "org_unit": _("No such department."),
               "asset": _("No such asset.")}
    for name, table in (("project", Project), ("org_unit", OrgUnit), ("asset", Asset)):
        value = int_of(fields.get(name))
        if value is not None and not await _exists(table, value):
            c.invalid[name] = unknown[name]
        refs[name] = value
    recurrence_of = None
    recurrence_ref = text_of(fields, "recurrence_of")
    if recurrence_ref:
        found = await Nonconformance.select(Nonconformance.id).where(
            Nonconformance.ref == recurrence_ref.upper()
        ).first()
        if found is None:
            c.invalid["recurrence_of"] = _("No NC with this reference.")
        else:
            recurrence_of = found["id"]
    c.raise_if_any()
    now = datetime.now(UTC)
    year = local_date(now).year
    async with write_transaction():
        ref, seq = await allocate(year)
        return await record.create(
            Nonconformance(
                ref=ref,
                year=year,
                seq=seq,
                source=source,
                asset=refs["asset"],
                project=refs["project"],
                org_unit=refs["org_unit"],
                title=title,
                requirement={"text": requirement} if requirement else {},
                description=description,
                evidence={"text": evidence} if evidence else {},
                severity=severity,
                incident_level=level,
                state="draft",
                raised_by=getattr(actor, "id", None),
                raised_at=now,
                verification_standard=standard,
                recurrence_of=recurrence_of,
            ),
            actor,
        )


def merged_items(first: Any, second: Any) -> dict[str, Any]:
    """Two requirement/evidence documents as one (their item lists joined)."""
    a, b = loads(first) or {}, loads(second) or {}
    out: dict[str, Any] = {"items": [*a.get("items", []), *b.get("items", [])]}
    texts = [t for t in (a.get("text"), b.get("text")) if t]
    if texts:
        out["text"] = "\n\n".join(texts)
    return out


def merged_severity(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b
