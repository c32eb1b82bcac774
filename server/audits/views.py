"""The view of one run for the form, the result page and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.audits import service
from server.audits.scoring import Progress, Score, progress, score, visible_items
from server.audits.tables import Photo
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
    subject: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.audit["status"] in service.EDITABLE


async def photos_by_item(audit_id: int) -> dict[str, list[dict[str, Any]]]:
    rows = await Photo.select(
        Photo.id, Photo.item_id, Photo.kind, Photo.width, Photo.height, Photo.sha256,
        Photo.uploaded_at, Photo.captured_at,
    ).where((Photo.audit == audit_id) & Photo.removed_at.is_null()).order_by(Photo.id)
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
        from server.assets.tables import Asset

        asset = await Asset.select(Asset.code, Asset.name).where(
            Asset.id == audit["asset"]).first()
        if asset:
            parts.append(f"{asset['code']} {asset['name']}")
    return " · ".join(parts)


async def load_run(audit_id: int, lang: str = "zh_CN") -> RunView:
    audit = await service.get_audit(audit_id)
    checklist = await service.get_checklist(audit)
    answers = await service.answers_of(audit_id)
    photos = await photos_by_item(audit_id)
    counts = {k: len(v) for k, v in photos.items()}
    values = service.values(answers)
    return RunView(
        audit=audit,
        checklist=checklist,
        answers=answers,
        photos=photos,
        visible=visible_items(checklist, values, counts),
        progress=progress(checklist, values, counts),
        score=score(checklist, values, counts),
        subject=await subject_of(audit, lang),
    )
