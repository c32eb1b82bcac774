"""The view of one run for the form, the result page and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.audits import service
from server.audits.scoring import (
    Missing,
    Progress,
    Score,
    evaluate,
    missing_of,
    progress_of,
    score_of,
)
from server.audits.tables import Audit, Photo
from server.checklists.model import Checklist
from server.org.tables import OrgUnit, Project


@dataclass
class RunView:
    audit: dict[str, Any]
    checklist: Checklist
    answers: dict[str, dict[str, Any]]
    photos: dict[str, list[dict[str, Any]]]
    visible: set[str]
    progress: Progress
    score: Score
    missing: list[Missing]  # what blocks submit
    subject: str = ""
    results: dict[str, str] = field(default_factory=dict)  # as judged now (date rules)
    date_problems: dict[str, str] = field(default_factory=dict)  # why a date item fails
    needs: dict[str, str] = field(default_factory=dict)  # item -> "finding" | "reason"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.audit["status"] in service.EDITABLE


async def photos_by_item(audit_id: int, item_id: str | None = None
                         ) -> dict[str, list[dict[str, Any]]]:
    """The audit's photos that have not been removed (of one item, or all), by item."""
    where = (Photo.audit == audit_id) & Photo.removed_at.is_null()
    if item_id is not None:
        where &= Photo.item_id == item_id
    rows = await Photo.select(
        Photo.id, Photo.item_id, Photo.kind, Photo.width, Photo.height, Photo.sha256,
        Photo.uploaded_at, Photo.captured_at,
    ).where(where).order_by(Photo.id)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["item_id"], []).append(row)
    return grouped


async def subject_of(audit: dict[str, Any], lang: str) -> str:
    parts = []
    zh = lang.startswith("zh")
    if audit.get("org_unit"):
        unit = await OrgUnit.select(OrgUnit.name_zh, OrgUnit.name_en).where(
            OrgUnit.id == audit["org_unit"]).first()
        if unit:
            parts.append(unit["name_zh"] if zh else unit["name_en"])
    if audit.get("project"):
        proj = await Project.select(Project.code, Project.name_zh, Project.name_en).where(
            Project.id == audit["project"]).first()
        if proj:
            parts.append(f"{proj['code']} {proj['name_zh'] if zh else proj['name_en']}")
    if audit.get("asset"):
        # Through the run's reference: the asset domain sits above this one.
        asset = await Audit.select(Audit.asset.code, Audit.asset.name).where(
            Audit.id == audit["id"]).first()
        if asset and asset["asset.code"]:
            parts.append(f"{asset['asset.code']} {asset['asset.name']}")
    return " · ".join(parts)


async def load_run(audit_id: int, lang: str = "zh_CN", item_id: str | None = None) -> RunView:
    """The run with its answers, photos, visibility, progress and score.

    With `item_id` (an autosave's response) only the audit's RUN_COLUMNS and that item's
    answer are loaded in full, and no subject; visibility, progress and score still cover
    every item, from the values and photo counts alone, which keeps a save on a 1000-item
    run cheap.
    """
    if item_id is None:
        audit = await service.get_audit(audit_id)
        answers = await service.answers_of(audit_id)
        values = service.values(answers)
        comments = service.comments_of(answers)
    else:
        audit, answer = await service.state_and_answer(audit_id, item_id)
        answers = {item_id: answer} if answer else {}
        values, comments = await service.answer_values_and_notes(audit_id)
    checklist = await service.get_checklist(audit)
    if item_id is None:
        photos = await photos_by_item(audit_id)
        counts = {k: len(v) for k, v in photos.items()}
    else:  # counts for scoring; the rows only of the item shown, when it has any
        counts = await service.photo_counts(audit_id)
        photos = await photos_by_item(audit_id, item_id) if counts.get(item_id) else {}
    ev = evaluate(checklist, values, counts, comments=comments,
                  run_date=service.run_date(audit))
    blocking = missing_of(ev)
    return RunView(
        audit=audit,
        checklist=checklist,
        answers=answers,
        photos=photos,
        visible=ev.visible,
        progress=progress_of(ev, blocking),
        score=score_of(ev),
        missing=blocking,
        subject=await subject_of(audit, lang) if item_id is None else "",
        results=dict(ev.results),
        date_problems=ev.date_problems,
        needs={m.item_id: m.reason for m in blocking if m.reason in ("finding", "reason")},
    )


EAGER_ITEMS = 100


def eager_sections(run: RunView) -> set[str]:
    """Sections rendered with the page: all of a normal checklist; the first hundred
    or so items of a very long one (the rest load as they scroll into view)."""
    chosen: set[str] = set()
    count = 0
    for section in run.checklist.sections:
        if chosen and count + len(section.items) > EAGER_ITEMS:
            break
        chosen.add(section.id)
        count += len(section.items)
    return chosen if count < len(run.checklist.items()) else {
        s.id for s in run.checklist.sections}
