"""Exports of the register (CSV, XLSX) and the rectification notice PDF: their
actual contents, in the reader's language, scoped to what the reader may see."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from openpyxl import load_workbook
from pypdf import PdfReader

from server.core import clock
from server.core.i18n import translations
from tests.test_findings_support import QM_AUDIT, UPS, actor, drive, submitted_audit, user_ids

API = "/api/v1/nonconformances"


def zh_text(msgid: str) -> str:
    """The Chinese of a UI string (the English itself until its translation is merged)."""
    return translations("zh_CN").gettext(msgid)


async def _setup() -> dict[str, int]:
    """One NC in implementing with an action, one issued to the engineer, one draft."""
    from server.findings import service

    ids = await user_ids()
    _audit, ncs = await submitted_audit(QM_AUDIT, "auditor", {
        "QM1.01": ("no", "No quality manual"), "QM1.03": ("no", "=HYPERLINK(\"x\")")})
    await drive(ncs[0], "implementing")
    await service.transition(ncs[1], await actor("auditor"), "open",
                             {"owner": ids["engineer"], "comment": "For the engineer"})
    from server.findings.tables import Nonconformance

    await Nonconformance.update({Nonconformance.title: "=1+1", Nonconformance.title_zh: "",
                                 Nonconformance.title_en: ""}).where(
        Nonconformance.id == ncs[1])
    _insp, drafts = await submitted_audit(UPS, "auditor", {"UP1.01": (180, "")})
    return {"planned": ncs[0], "engineer": ncs[1], "draft": drafts[0]}


def _csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_export_has_the_register_actions_and_history(client: Any, run: Any,
                                                         as_user: Any) -> None:
    made = run(_setup)
    own = _refs(run, made)
    as_user("quality_manager")
    response = client.get("/nonconformances/export.csv", headers={"accept-language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv(response.content.decode("utf-8"))
    header = rows[0]
    assert header[:4] == ["Reference", "Title", "Severity", "State"]
    assert header[-2:] == ["Actions", "History"]
    body = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:] if r[0] in own}
    assert len(body) == 2  # drafts are not in the register export ("all" = issued)
    planned = next(r for r in body.values() if r["State"] == "Implementing")
    assert planned["Severity"] == "Major"
    assert planned["Containment"] == "Replaced the faulty breaker at once."
    assert planned["Cause category"] == "Method"
    assert planned["Requirement"].startswith(
        "QM1.01 Has the company issued an O&M service quality management policy")
    assert "No quality manual" in planned["Evidence"]
    assert "Add the breaker to the weekly round" in planned["Actions"]
    history = planned["History"].splitlines()
    # "<who> <did what> · <field>: <before> → <after> · <when>", oldest first, in words
    assert history[0].startswith("李审核 Li (Auditor) created the record")
    assert history[1].startswith("李审核 Li (Auditor) issued the NC · State: Draft → Issued")
    assert any(line.startswith("赵负责 Zhao (Action Owner) recorded the containment")
               for line in history)
    assert any(line.startswith("王质量 Wang (Quality Manager) approved the plan")
               for line in history)
    assert any(line.startswith("Action #") and "Add the breaker" in line for line in history)
    assert not any("approve_plan" in line or "plan_approved_by" in line for line in history)
    other = next(r for r in body.values() if r["State"] == "Issued to the owner")
    assert other["Owner"].startswith("张工程")
    assert other["Evidence"] == 'QM1.03: No — =HYPERLINK("x")'
    assert other["Title"] == "'=1+1"  # a formula in a title is shown as text
    # Chinese headers for a Chinese reader; the owner sees only their own NC.
    as_user("owner")
    zh = _csv(client.get("/nonconformances/export.csv",
                         headers={"accept-language": "zh-CN"}).content.decode("utf-8"))
    assert zh[0][0] == zh_text("Reference")
    assert [r[0] for r in zh[1:] if r[0] in own] == [run(_ref, made["planned"])]


def _refs(run: Any, made: dict[str, int]) -> set[str]:
    """The references of _setup's NCs: the exports hold the demo's and other tests' too."""
    return {run(_ref, nc) for nc in made.values()}


async def _ref(nc_id: int) -> str:
    from server.findings.tables import Nonconformance

    row = await Nonconformance.select(Nonconformance.ref).where(
        Nonconformance.id == nc_id).first()
    return str(row["ref"])


def test_xlsx_export_has_three_sheets(client: Any, run: Any, as_user: Any) -> None:
    made = run(_setup)
    own = _refs(run, made)
    as_user("quality_manager")
    response = client.get("/nonconformances/export.xlsx?state=active",
                          headers={"accept-language": "en"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["Nonconformances", "Actions", "History"]
    sheet = list(book["Nonconformances"].iter_rows(values_only=True))
    register = [r for r in sheet[1:] if r[0] in own]
    assert sheet[0][0] == "Reference" and len(register) == 2
    refs = {r[0] for r in register}
    assert refs == {run(_ref, made["planned"]), run(_ref, made["engineer"])}
    sheet = list(book["Actions"].iter_rows(values_only=True))
    actions = [a for a in sheet[1:] if a[0] in own]
    assert sheet[0][:3] == ("Reference", "Action", "Kind")
    assert len(actions) == 1 and actions[0][2] == "Corrective action"
    assert actions[0][3] == "Add the breaker to the weekly round"
    assert actions[0][6] == "Not done"
    history = list(book["History"].iter_rows(values_only=True))
    whats = [h[3] for h in history[1:] if h[0] in own]
    assert {"issued the NC", "recorded the containment", "approved the plan"} <= set(whats)
    # Injection-safe: the title starting with "=" is stored as text, not a formula.
    assert "'=1+1" in {r[1] for r in register}
    # Filters apply: only the engineer's NC.
    engineer_id = run(user_ids)["engineer"]
    filtered = client.get(f"/nonconformances/export.xlsx?owner={engineer_id}")
    rows = list(load_workbook(io.BytesIO(filtered.content), read_only=True)
                .worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:] if r[0] in own] == [run(_ref, made["engineer"])]


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    # Words wrapped inside table cells come out on separate lines: normalise spaces.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_notice_pdf_in_the_readers_language(client: Any, run: Any, api: Any) -> None:
    made = run(_setup)
    nc = made["planned"]
    ref = run(_ref, nc)
    response = client.get(f"{API}/{nc}/notice.pdf",
                          headers={**api("owner"), "accept-language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Rectification notice" in text and ref in text
    assert "Requirement" in text and "Verification standard" in text
    assert "Three weekly readings inside the limits." in text
    assert "No quality manual" in text
    assert "Add the breaker to the weekly round" in text
    for box in ("Issued by (auditor)", "Received by (owner)", "Verified by"):
        assert box in text
    deadline = run(_due, nc)
    assert deadline.strftime("%B") in text and str(deadline.year) in text
    zh = _pdf_text(client.get(f"{API}/{nc}/notice.pdf",
                              headers={**api("owner"), "accept-language": "zh-CN"}).content)
    assert ref in zh and zh_text("Rectification notice") in zh
    assert "质量" in zh  # the requirement's Chinese prompt
    # Someone who cannot see the NC cannot have its notice.
    assert client.get(f"{API}/{nc}/notice.pdf", headers=api("engineer")).status_code == 404


async def _due(nc_id: int) -> date:
    from server.findings.tables import Nonconformance

    row = await Nonconformance.select(Nonconformance.due_date).where(
        Nonconformance.id == nc_id).first()
    value = row["due_date"]
    assert isinstance(value, date)
    return value


def test_notice_page_route_and_overdue_shown(client: Any, run: Any, as_user: Any) -> None:
    made = run(_setup)

    async def make_overdue() -> None:
        from server.findings.tables import Nonconformance

        await Nonconformance.update({Nonconformance.due_date: clock.today() - timedelta(days=40)}
                                    ).where(Nonconformance.id == made["engineer"])

    run(make_overdue)
    as_user("engineer")
    response = client.get(f"/nonconformances/{made['engineer']}/notice.pdf?lang=en")
    assert response.status_code == 200
    assert "Rectification notice" in _pdf_text(response.content)
    page = client.get(f"/nonconformances/{made['engineer']}", headers={"accept-language": "en"})
    assert "days overdue" in page.text


def test_notice_pdf_embeds_the_linked_photos(client: Any, run: Any, api: Any,
                                             settings: Any) -> None:
    """The evidence photos of the failed item appear in the notice (thumbnails, read
    from the audit's stored files, not copies)."""
    from PIL import Image

    from server.audits.tables import Photo

    made = run(_setup)
    nc = made["planned"]

    async def add_photo() -> int:
        from server.findings.tables import NcSourceItem, Nonconformance

        row = await Nonconformance.select(Nonconformance.audit).where(
            Nonconformance.id == nc).first()
        link = await NcSourceItem.select(NcSourceItem.item_id).where(
            NcSourceItem.nc == nc).first()
        folder = settings.data_dir / "photos" / "nc-test"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (200, 30, 30)).save(folder / "t.jpg", "JPEG")
        photo = Photo(audit=row["audit"], item_id=link["item_id"], path="photos/nc-test/t.jpg",
                      thumb_path="photos/nc-test/t.jpg", sha256="0" * 64,
                      content_type="image/jpeg", width=64, height=48, size_bytes=1)
        await photo.save()
        return int(photo.id)

    photo_id = run(add_photo)
    response = client.get(f"{API}/{nc}/notice.pdf", headers={**api("owner"),
                                                              "accept-language": "en"})
    reader = PdfReader(io.BytesIO(response.content))
    # (WeasyPrint shares one resource dictionary between pages: count distinct images.)
    images = {img.name: img for page in reader.pages for img in page.images}
    assert len(images) == 1
    assert next(iter(images.values())).image.size == (64, 48)
    detail = client.get(f"{API}/{nc}", headers=api("owner")).json()
    assert detail["photos"][0]["id"] == photo_id
