"""The demo's audit history: this half-year's programme with planned audits, one
submitted quality-management audit with failed items and photo evidence, and the
nonconformances it raised at several stages of their workflow, so the programme, the
register and the dashboard show something on first start.

Everything goes through the same services as real use (answers, photos, submit,
transitions), so the change log tells how the demo came about. Loaded only into a
database that has no audit runs yet.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from server.accounts.identity import load_user
from server.accounts.tables import User
from server.audits import daterules, programme, service
from server.audits.scoring import visible_items
from server.audits.tables import Audit
from server.checklists import store
from server.checklists.model import Checklist, Item, ItemType
from server.core import clock
from server.findings import service as findings
from server.findings.tables import Nonconformance
from server.flows.submission import submit_run
from server.org.tables import OrgUnit, Project

# checklist, org unit, project, planned days from today
PLANNED = [
    ("org.personnel", "QA", None, 14),
    ("org.resources", "OPS", None, 30),
    ("project.execution", None, "P-2026-001", 21),
    ("project.plan", None, "P-2026-002", 45),
]
SUBMITTED = "org.quality_management"
# The items the demo audit fails, with the auditor's comment.
FAILS = {
    "QM1.02": "未见管理者代表的书面任命 / No written appointment of the management "
              "representative was found.",
    "QM2.01": "年度质量计划尚未批准 / This year's quality plan is not approved yet.",
    "QM2.02": "管控指标只口头传达，未书面下发 / The indicators were passed on by word of "
              "mouth, not in writing.",
}


async def load_demo_audits(data_dir: Path) -> int:
    """Returns how many audit runs were added (0 when runs exist already)."""
    if await Audit.count() > 0 or await store.get(SUBMITTED) is None:
        return 0
    users = {r["login"]: r["id"] for r in await User.select(User.login, User.id)}
    qm, auditor, owner = [await load_user(users[login])
                          for login in ("quality_manager", "auditor", "owner")]
    units = {r["code"]: r["id"] for r in await OrgUnit.select(OrgUnit.code, OrgUnit.id)}
    projects = {r["code"]: r["id"] for r in await Project.select(Project.code, Project.id)}
    today = clock.today()
    year, half = programme.half_of(today)
    prog = await programme.ensure_programme(year, half, qm)
    added = 0
    for key, unit, project, days in PLANNED:
        if await store.get(key) is None:
            continue
        await service.start_audit(
            key, qm, programme=prog, org_unit=units.get(unit or ""),
            project=projects.get(project or ""), lead_auditor=users["auditor"],
            planned_date=today + timedelta(days=days), status="planned")
        added += 1
    audit = await service.start_audit(
        SUBMITTED, qm, programme=prog, org_unit=units["QA"], lead_auditor=users["auditor"],
        planned_date=today - timedelta(days=3), status="planned")
    await _fill_in(audit.id, auditor, data_dir)
    await submit_run(audit.id, auditor)
    await _progress_ncs(audit.id, auditor, qm, owner, users["owner"])
    return added + 1


async def _fill_in(audit_id: int, auditor: Any, data_dir: Path) -> None:
    """Answer every visible item; fail those in FAILS, with a photo where one is asked."""
    checklist = await service.get_checklist(await service.get_audit(audit_id))
    values: dict[str, Any] = {}
    while True:  # an answer can show further items (show_if)
        visible = visible_items(checklist, values)
        todo = [i for i in checklist.items() if i.id in visible and i.id not in values]
        if not todo:
            break
        for item in todo:
            fail = item.id in FAILS
            value = _answer(checklist, item, fail)
            values[item.id] = value
            if value is None:
                continue
            await service.save_answer(audit_id, item.id, value, auditor,
                                      comment=FAILS.get(item.id))
            if fail and item.evidence.photo.value != "none":
                await service.add_image(audit_id, item.id, _photo(item.id), auditor, data_dir)


def _answer(checklist: Checklist, item: Item, fail: bool) -> Any:
    t = item.type
    if t == ItemType.yes_no_na:
        return "no" if fail else "yes"
    if t == ItemType.pass_fail:
        return "fail" if fail else "pass"
    if t == ItemType.scale and item.scale is not None:
        return item.scale.min if fail else item.scale.max
    if t == ItemType.number:
        if fail and item.max is not None:
            return item.max + 1
        return item.min if item.min is not None else (item.max if item.max is not None else 1)
    if t == ItemType.text:
        return "已查阅记录 / Records seen."
    if t == ItemType.date:
        return _good_date(item).isoformat()
    choices = [c for c in checklist.choices_of(item) if c.fails == fail] or \
        checklist.choices_of(item)
    if t == ItemType.single_choice and choices:
        return choices[0].id
    if t == ItemType.multi_choice and choices:
        return [choices[0].id]
    return None  # photo and signature items take images, not values


def _good_date(item: Item) -> date:
    """A month ago, or a day that keeps the item's date rule (early January, a quarter's
    end), as a careful auditee's record would show."""
    today = clock.today()
    candidates = [today - timedelta(days=30), date(today.year, 1, 5),
                  *sorted((e for e in daterules.quarter_ends_near(today) if e <= today),
                          reverse=True)]
    if item.date_rule is None:
        return candidates[0]
    return next((d for d in candidates if daterules.problem(item.date_rule, d, today, {}) is None),
                candidates[0])


def _photo(label: str) -> bytes:
    """A stand-in for a photo taken on site: a JPEG with the item's id on it."""
    image = Image.new("RGB", (1200, 900), (214, 222, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 1120, 820), outline=(90, 110, 130), width=12)
    draw.text((120, 120), f"Auditrail demo evidence {label}", fill=(40, 50, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


async def _progress_ncs(audit_id: int, auditor: Any, qm: Any, owner: Any,
                        owner_id: int) -> None:
    """The raised drafts: one left as a draft, one open awaiting its root cause, one with
    an approved plan being carried out."""
    ids = [r["id"] for r in await Nonconformance.select(Nonconformance.id).where(
        Nonconformance.audit == audit_id).order_by(Nonconformance.id)]
    if len(ids) < 3:
        return
    _draft, opened, implementing = ids[:3]
    containment = {
        opened: "年度质量计划已提交审批 / The plan went for approval the same day.",
        implementing: "当天已邮件发送指标 / The indicators went out by email the same day.",
    }
    for nc, text in containment.items():
        await findings.transition(nc, auditor, "open", {"owner": owner_id})
        await findings.transition(nc, owner, "containment", {"containment": text})
    await findings.transition(implementing, owner, "root_cause", {
        "root_cause": "指标下发流程没有要求书面形式 / The procedure for issuing indicators "
                      "does not ask for writing.",
        "cause_category": "method",
        "five_whys": ["部门负责人没有收到书面指标 / Department heads had no written indicators",
                      "下发流程没有要求书面形式 / The procedure does not ask for writing"],
        "similar_elsewhere": "其他下发事项已核对 / Other things issued were checked."})
    await findings.add_action(implementing, owner, {
        "kind": "corrective",
        "description": "修订下发流程并书面下发本年度指标 / Revise the procedure and issue this "
                       "year's indicators in writing.",
        "owner": owner_id,
        "due_date": (clock.today() + timedelta(days=14)).isoformat()})
    await findings.transition(implementing, owner, "action_plan", {
        "verification_standard": "各部门负责人已签收书面指标 / Every department head has "
                                 "signed for the written indicators."})
    await findings.transition(implementing, qm, "implementing", {})  # approval starts it
