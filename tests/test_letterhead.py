"""The letterhead of controlled records: the organisation's name, logo and each record's
form number, set by an administrator (logo checked by its content), read back from the
header of the audit report, the rectification notice and the QR label sheets."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from server.core.errors import Invalid, TooLarge
from server.reports import letterhead
from server.reports.letterhead import LOGO_BOX, check, logo_png
from tests.support import jpeg_bytes, png_bytes
from tests.test_pdf_layout import ink_near_edges
from tests.test_reports import flat, pdf_text, raster_images

EN = {"accept-language": "en"}
ORG = "上海浦东运维服务有限公司 Shanghai Pudong O&M Services Co., Ltd."
FORMS = {"audit_report": "QR-F-07", "notice": "QR-F-12", "labels": "QR-F-21"}


# --- the rules -------------------------------------------------------------------------


def test_names_and_form_numbers_are_checked() -> None:
    assert check("  ACME   Ltd ", {"notice": " QR-12 ", "labels": ""}) == (
        "ACME Ltd", {"notice": "QR-12"})
    with pytest.raises(Invalid) as refused:
        check("x" * 121, {"notice": "y" * 41, "audit_report": "a\x00b"})
    assert set(refused.value.problems) == {"org_name", "form_notice", "form_audit_report"}


def test_logo_is_checked_by_its_content_and_stored_as_a_small_png() -> None:
    stored = base64.b64decode(logo_png(jpeg_bytes(3000, 900)))
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG"
        assert image.width <= LOGO_BOX[0] and image.height <= LOGO_BOX[1]
    base64.b64decode(logo_png(png_bytes()))  # a transparent PNG is kept as one
    for bad in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a....",
                b"not an image at all"):
        with pytest.raises(Invalid) as refused:
            logo_png(bad)
        assert "logo" in refused.value.problems
    broken = png_bytes()[:60]  # the right magic bytes, then cut short
    with pytest.raises(Invalid, match="damaged"):
        logo_png(broken)
    with pytest.raises(TooLarge):
        logo_png(b"\x89PNG\r\n\x1a\n" + b"0" * (letterhead.MAX_LOGO_BYTES + 1))


# --- the admin's page ------------------------------------------------------------------


def _save(client: Any, token: str, logo: bytes | None = None, **fields: str) -> Any:
    data = {"_csrf": token, "org_name": ORG, "reason": "new letterhead",
            **{f"form_{k}": v for k, v in FORMS.items()}, **fields}
    files = {"logo": ("logo.png", logo, "image/png")} if logo is not None else None
    return client.post("/admin/letterhead", data=data, files=files, headers=EN)


def test_only_the_admin_edits_the_letterhead(client: Any, as_user: Any) -> None:
    as_user("quality_manager")
    assert client.get("/admin/letterhead").status_code == 403
    as_user("admin")
    page = client.get("/admin/letterhead", headers=EN)
    assert page.status_code == 200 and "Letterhead of records" in page.text
    assert "/admin/letterhead" in client.get("/admin", headers=EN).text


def test_a_bad_logo_is_refused_and_nothing_changes(client: Any, as_user: Any, run: Any) -> None:
    token = as_user("admin")
    before = run(letterhead.load)
    refused = _save(client, token, b"this is a text file named logo.png")
    assert refused.status_code == 422
    assert "The logo must be a PNG, JPEG or WebP image." in refused.text
    assert ORG.replace("&", "&amp;") in refused.text  # what was typed is kept on the form
    assert run(letterhead.load) == before
    too_long = _save(client, token, org_name="x" * 200)
    assert too_long.status_code == 422 and "At most 120 characters." in too_long.text


def test_letterhead_in_every_pdf_header(client: Any, as_user: Any, run: Any, api: Any,
                                        settings: Any) -> None:
    token = as_user("admin")
    saved = _save(client, token, jpeg_bytes(600, 200, (20, 60, 160)))
    assert saved.status_code == 200, saved.text[:500]
    assert "Saved." in saved.text and "new letterhead" in saved.text  # its history
    stored = run(letterhead.load)
    assert stored.org_name == ORG and stored.form_numbers == FORMS and stored.logo

    # the audit report
    from tests.test_reports import _make_audit, _render

    audit_id = run(_make_audit, settings.data_dir, True, "UPS-LH-001")
    for lang in ("en", "zh_CN"):
        pdf = _render(run, settings, audit_id, lang)
        text, reader = pdf_text(pdf)
        assert flat(ORG) in flat(text) and "QR-F-07" in text
        assert "QR-F-12" not in text  # each record its own form number
        assert (600, 200) in [im.size for im in raster_images(reader)]  # the logo
        assert text.count("QR-F-07") >= len(reader.pages)  # the footer of every page
        assert ink_near_edges(pdf) == []
    assert "Form No. QR-F-07" in pdf_text(_render(run, settings, audit_id, "en"))[0]

    # the rectification notice
    from tests.test_findings_exports import _setup

    nc = run(_setup)["planned"]
    notice = client.get(f"/api/v1/nonconformances/{nc}/notice.pdf",
                        headers={**api("quality_manager"), **EN})
    text, reader = pdf_text(notice.content)
    assert flat(ORG) in flat(text) and "Form No. QR-F-12" in text
    assert (600, 200) in [im.size for im in raster_images(reader)]
    assert ink_near_edges(notice.content) == []

    # the QR label sheets: on each label, under its code
    from server.demo.assets import load_demo_assets

    run(load_demo_assets)
    token = as_user("quality_manager")
    sheet = client.post("/assets/labels.pdf", data={
        "_csrf": token, "codes": ["UPS-A-001", "AC-A-001"], "layout": "l7163"}, headers=EN)
    assert sheet.status_code == 200
    text, _reader = pdf_text(sheet.content)
    assert flat(text).count(flat("Form No. QR-F-21")) == 2
    assert ink_near_edges(sheet.content) == []

    # removing the logo keeps the rest
    token = as_user("admin")
    assert _save(client, token, remove_logo="on").status_code == 200
    after = run(letterhead.load)
    assert after.logo == "" and after.org_name == ORG


def test_without_a_letterhead_the_pdf_says_auditrail(tmp_path: Any) -> None:
    from server.reports.pdf import render_pdf

    text, _reader = pdf_text(render_pdf("reports/base.html", {}, data_dir=tmp_path, lang="en"))
    assert "Auditrail" in text and "Form No." not in text
