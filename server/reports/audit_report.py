"""The audit report PDF: cover, score, score by section, every item, failed items.

load_audit_report() reads everything the report shows (it does not check access: the
caller decides who may see which audit); render_audit_report() turns it into PDF bytes
in the reader's language. Photos appear as thumbnails only, which keeps a 100-item audit
with 40 photos at about a second.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from server.accounts.tables import User
from server.assets.tables import Asset
from server.audits.service import meaning_text
from server.audits.tables import Answer, Audit, Photo
from server.checklists import store
from server.checklists.conditions import ConditionError, parse_condition
from server.checklists.model import Checklist, Item, ItemType
from server.checklists.presenting import answer_text
from server.core.errors import NotFound
from server.core.i18n import gettext as _
from server.org.tables import OrgUnit, Project
from server.reports.charts import bar_chart_svg, svg_data_url
from server.reports.letterhead import Letterhead
from server.reports.letterhead import load as load_letterhead
from server.reports.pdf import language, photo_url, render_pdf

TEMPLATE = "reports/audit.html"


@dataclass(frozen=True)
class PhotoInfo:
    id: int
    item_id: str
    kind: str  # photo | signature
    path: str
    thumb_path: str
    width: int
    height: int


@dataclass(frozen=True)
class AnswerInfo:
    item_id: str
    value: Any
    comment: str
    result: str | None  # pass | fail | na | part | None


@dataclass
class AuditReport:
    id: int
    title: str
    checklist: Checklist
    kind: str
    status: str
    planned_date: date | None
    started_at: datetime | None
    submitted_at: datetime | None
    org_unit: dict[str, str] | None  # {"code", "zh-CN", "en"}: shown with |t
    project: dict[str, str] | None
    asset: dict[str, str] | None  # {"code", "name", "site", "location"}
    lead_auditor: str
    signer_name: str
    signed_at: datetime | None
    signature_meaning: str
    score: dict[str, Any]  # {} until submitted
    answers: dict[str, AnswerInfo] = field(default_factory=dict)
    photos: dict[str, list[PhotoInfo]] = field(default_factory=dict)  # kind "photo", by item
    signature: PhotoInfo | None = None
    letterhead: Letterhead = field(default_factory=Letterhead)

    @property
    def submitted(self) -> bool:
        return bool(self.score)


def _json(value: Any) -> Any:
    """A JSON column's value: drivers hand back text or already-parsed data."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # a bare string stored without JSON quoting
    return value


async def _user_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    row = await User.select(User.name).where(User.id == user_id).first()
    return row["name"] if row else ""


async def _names(table: type[OrgUnit] | type[Project], row_id: int | None) -> dict[str, str] | None:
    if row_id is None:
        return None
    row = await table.select(table.code, table.name_zh, table.name_en).where(
        table.id == row_id
    ).first()
    if row is None:
        return None
    return {"code": row["code"], "zh-CN": row["name_zh"], "en": row["name_en"]}


async def _asset(asset_id: int | None) -> dict[str, str] | None:
    if asset_id is None:
        return None
    row = await Asset.select(Asset.code, Asset.name, Asset.site, Asset.location).where(
        Asset.id == asset_id
    ).first()
    return dict(row) if row else None


def _signature_photo(checklist: Checklist, photos: list[PhotoInfo]) -> PhotoInfo | None:
    """The newest drawn signature, preferring one on the checklist's signature item."""
    signatures = [p for p in photos if p.kind == "signature"]
    signature_items = {i.id for i in checklist.items() if i.type == ItemType.signature}
    on_item = [p for p in signatures if p.item_id in signature_items]
    chosen = on_item or signatures
    return chosen[-1] if chosen else None


async def load_audit_report(audit_id: int) -> AuditReport | None:
    """Everything the report shows, or None for an unknown audit or checklist version."""
    audit = await Audit.select().where(Audit.id == audit_id).first()
    if audit is None:
        return None
    checklist = await store.get(audit["checklist_key"], audit["checklist_version"])
    if checklist is None:
        return None
    answers = {
        row["item_id"]: AnswerInfo(
            row["item_id"], _json(row["value"]), row["comment"] or "", row["result"]
        )
        for row in await Answer.select(
            Answer.item_id, Answer.value, Answer.comment, Answer.result
        ).where(Answer.audit == audit_id)
    }
    photo_rows = await (
        Photo.select(
            Photo.id, Photo.item_id, Photo.kind, Photo.path, Photo.thumb_path,
            Photo.width, Photo.height,
        )
        .where((Photo.audit == audit_id) & Photo.removed_at.is_null())
        .order_by(Photo.uploaded_at)
        .order_by(Photo.id)
    )
    photos = [PhotoInfo(**row) for row in photo_rows]
    by_item: dict[str, list[PhotoInfo]] = {}
    for photo in photos:
        if photo.kind != "signature":
            by_item.setdefault(photo.item_id, []).append(photo)
    score = _json(audit["score"]) or {}
    signer_name = audit["signer_name"] or await _user_name(audit["signed_by"])
    return AuditReport(
        id=audit["id"],
        title=audit["title"] or "",
        checklist=checklist,
        kind=audit["kind"],
        status=audit["status"],
        planned_date=audit["planned_date"],
        started_at=audit["started_at"],
        submitted_at=audit["submitted_at"],
        org_unit=await _names(OrgUnit, audit["org_unit"]),
        project=await _names(Project, audit["project"]),
        asset=await _asset(audit["asset"]),
        lead_auditor=await _user_name(audit["lead_auditor"]),
        signer_name=signer_name,
        signed_at=audit["signed_at"],
        signature_meaning=audit["signature_meaning"] or "",
        score=score if isinstance(score, dict) else {},
        answers=answers,
        photos=by_item,
        signature=_signature_photo(checklist, photos),
        letterhead=await load_letterhead(),
    )


RESULT_LABELS = {"pass": "Pass", "fail": "Fail", "na": "N/A", "part": "Partly"}


def _result_label(result: str | None) -> str:
    return _(RESULT_LABELS[result]) if result in RESULT_LABELS else ""


def _hidden(item: Item, values: dict[str, Any]) -> bool:
    """Whether show_if hid the item (so no answer is expected)."""
    if not item.show_if:
        return False
    try:
        return not parse_condition(item.show_if).evaluate(values)
    except ConditionError:
        return False


def _view(report: AuditReport, lang: str) -> dict[str, Any]:
    """Everything the template shows, already in the reader's language."""
    checklist = report.checklist
    values = {item_id: a.value for item_id, a in report.answers.items()}
    score = report.score
    failed = set(score.get("failed") or [])
    critical_failed = set(score.get("critical_failed") or [])
    section_of: dict[str, str] = {}
    signature_url = photo_url(report.signature.path) if report.signature else ""
    sections = []
    for section in checklist.sections:
        items = []
        for item in section.items:
            section_of[item.id] = section.title.get(lang)
            answer = report.answers.get(item.id)
            value = answer.value if answer else None
            thumbs = [photo_url(p.thumb_path or p.path) for p in report.photos.get(item.id, [])]
            if signature_url and report.signature and report.signature.item_id == item.id:
                thumbs.append(signature_url)  # the same URL as on the cover: embedded once
            items.append(
                {
                    "id": item.id,
                    "prompt": item.prompt.get(lang),
                    "type": item.type.value,
                    "critical": item.critical,
                    "answer": answer_text(checklist, item, value) if answer else "",
                    "answered": answer is not None and value not in (None, "", []),
                    "hidden": _hidden(item, values),
                    "result": answer.result if answer else None,
                    "result_label": _result_label(answer.result if answer else None),
                    "comment": answer.comment if answer else "",
                    "thumbs": thumbs,
                }
            )
        sections.append({"id": section.id, "title": section.title.get(lang), "entries": items})

    threshold = score.get("threshold", checklist.pass_threshold)
    section_scores = []
    for row in score.get("sections") or []:
        match = next((s for s in checklist.sections if s.id == row.get("id")), None)
        section_scores.append(
            {
                "id": row.get("id", ""),
                "title": match.title.get(lang) if match else str(row.get("id", "")),
                "percent": row.get("percent"),
                "earned": row.get("earned"),
                "possible": row.get("possible"),
                "answered": row.get("answered"),
                "required": row.get("required"),
                "failed": len(row.get("failed") or []),
            }
        )
    chart = (
        svg_data_url(bar_chart_svg([(s["title"], s["percent"]) for s in section_scores], threshold))
        if section_scores
        else ""
    )
    failed_items = []
    failed_ids = [*(score.get("failed") or []), *sorted(critical_failed - failed)]
    for item_id in failed_ids:
        item = checklist.item(item_id)
        answer = report.answers.get(item_id)
        failed_items.append(
            {
                "id": item_id,
                "prompt": item.prompt.get(lang) if item else item_id,
                "section": section_of.get(item_id, ""),
                "critical": item_id in critical_failed or bool(item and item.critical),
                "severity": item.severity_if_failed.value if item else "",
                "answer": answer_text(checklist, item, answer.value) if item and answer else "",
                "comment": answer.comment if answer else "",
            }
        )
    return {
        "report": report,
        "letterhead": report.letterhead.of("audit_report"),
        "checklist": checklist,
        "sections": sections,
        "submitted": report.submitted,
        "score": {
            "percent": score.get("percent"),
            "passed": score.get("passed"),
            "threshold": threshold,
            "earned": score.get("earned"),
            "possible": score.get("possible"),
            "critical_count": len(critical_failed),
        },
        "section_scores": section_scores,
        "chart": chart,
        "failed_items": failed_items,
        "signature_url": signature_url,
        "signature_words": meaning_text(report.signature_meaning),
        "generated_at": datetime.now(UTC),
    }


def render_audit_report(report: AuditReport, *, lang: str, data_dir: Path) -> bytes:
    """The audit report as PDF bytes, in `lang` (zh_CN or en)."""
    with language(lang) as chosen:
        context = _view(report, chosen)
        return render_pdf(TEMPLATE, context, data_dir=data_dir, lang=chosen)


async def audit_report_pdf(audit_id: int, *, lang: str, data_dir: Path) -> bytes:
    """The report of a run (rendered off the event loop)."""
    report = await load_audit_report(audit_id)
    if report is None:
        raise NotFound(_("No audit with this number."))
    return await asyncio.to_thread(render_audit_report, report, lang=lang, data_dir=data_dir)
