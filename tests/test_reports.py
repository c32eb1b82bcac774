"""PDF reports: the shared renderer, its URL fetcher, the bar chart and the audit report."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from weasyprint import HTML

from server.core import i18n
from server.core.settings import Settings
from server.reports.charts import bar_chart_svg, fit_label, svg_data_url
from server.reports.pdf import AppURLFetcher, FetchRefused, photo_url

UPS = "inspection.ups.weekly"
SCRIPT = "<script>alert(1)</script>"
MARKUP = "<b>x</b> <img src=http://evil>"
THUMB_SIZE = (320, 240)
SIGNATURE_SIZE = (600, 200)


def pdf_text(pdf: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages), reader


def flat(text: str) -> str:
    """Extracted text without whitespace, so line wrapping does not matter."""
    return re.sub(r"\s+", "", text)


def raster_images(reader: PdfReader) -> list[Image.Image]:
    """The distinct raster images of a PDF (WeasyPrint shares resources between pages)."""
    found: dict[bytes, Image.Image] = {}
    for page in reader.pages:
        for image in page.images:
            found.setdefault(image.data, Image.open(io.BytesIO(image.data)))
    return list(found.values())


# --- the URL fetcher -------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "photos" / "7").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "photos" / "7" / "a.jpg")
    (tmp_path / "secret").write_text("top secret")
    (tmp_path / "photos" / "7" / "link.jpg").symlink_to(tmp_path / "secret")
    return tmp_path


def test_fetcher_allows_static_and_photos(data_dir: Path) -> None:
    fetcher = AppURLFetcher(data_dir)
    css = fetcher("app:///static/report.css")
    assert css.content_type == "text/css"
    assert b"Noto Sans CJK SC" in css.read()
    photo = fetcher(photo_url("photos/7/a.jpg"))
    assert photo.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(photo.read())).size == (40, 30)
    assert fetcher("data:image/svg+xml;base64,PHN2Zy8+").read() == b"<svg/>"


@pytest.mark.parametrize(
    "url",
    [
        "app:///photos/../secret",
        "app:///photos/7/../../secret",
        "app:///photos/%2e%2e/secret",
        "app:///photos//etc/passwd",
        "app:///photos/7/link.jpg",  # a symlink out of the photo folder
        "app:///photos/7/missing.jpg",
        "app:///static/../server/settings.py",
        "app:///etc/passwd",
        "app://evil.example/static/report.css",
        "http://example.com",
        "https://example.com/x.png",
        "file:///etc/passwd",
        "ftp://example.com/x",
    ],
)
def test_fetcher_refuses(data_dir: Path, url: str) -> None:
    with pytest.raises(FetchRefused):
        AppURLFetcher(data_dir)(url)


def test_weasyprint_renders_without_refused_resources(data_dir: Path) -> None:
    html = (
        '<p>ok</p><img src="app:///photos/7/a.jpg"><img src="http://example.com/x.png">'
        '<img src="file:///etc/passwd"><img src="app:///photos/../secret">'
    )
    pdf = HTML(string=html, base_url="app:///", url_fetcher=AppURLFetcher(data_dir)).write_pdf()
    assert pdf is not None
    text, reader = pdf_text(pdf)
    assert "ok" in text
    assert [im.size for im in raster_images(reader)] == [(40, 30)]


# --- the chart -------------------------------------------------------------------------


def test_bar_chart_escapes_labels_and_draws_bars() -> None:
    svg = bar_chart_svg([("<b>Team & tools</b>", 90.0), ("人员", 40.0), ("none", None)], 80)
    root = ET.fromstring(svg)  # well-formed XML despite the markup in a label
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "<b>Team & tools</b>" in texts and "人员" in texts and "—" in texts
    assert "<b>" not in svg
    fills = [r.get("fill") for r in root.iter(f"{ns}rect")]
    assert fills == ["#1e7b34", "#b3261e"]  # above and below the threshold; None has no bar
    assert svg_data_url(svg).startswith("data:image/svg+xml;base64,")


def test_fit_label_shortens_long_labels() -> None:
    assert fit_label("Short", 180) == "Short"
    long = fit_label("质量管理体系文件的建立与持续改进以及其他很多内容", 100)
    assert long.endswith("…") and len(long) < 12


# --- the audit report ------------------------------------------------------------------


def _jpeg(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 16):  # some detail, so it is a real picture
        image.paste((255, 255, 255), (x, 0, x + 4, size[1]))
    image.save(path, "JPEG", quality=80)


SCORE = {
    "percent": 62.5,
    "passed": False,
    "threshold": 80,
    "earned": 10.0,
    "possible": 16.0,
    "failed": ["UP1.02", "UP2.01", "UP2.03"],
    "critical_failed": ["UP2.01"],
    "sections": [
        {"id": "UP1", "earned": 8.0, "possible": 10.0, "percent": 80.0, "answered": 5,
         "required": 6, "failed": ["UP1.02"]},
        {"id": "UP2", "earned": 2.0, "possible": 6.0, "percent": 33.3, "answered": 4,
         "required": 7, "failed": ["UP2.01", "UP2.03"]},
    ],
}
ANSWERS: dict[str, tuple[Any, str | None, str]] = {
    "UP1.01": (230, "pass", ""),
    "UP1.02": (250.5, "fail", "output too high"),
    "UP1.03": (50, "pass", ""),
    "UP2.01": ("fault_bypass", "fail", ""),
    "UP2.02": ("pass", "pass", ""),
    "UP2.03": ("fail", "fail", SCRIPT),
    "UP2.07": ("na", "na", ""),
    "UP3.02": (MARKUP, None, ""),
}


async def _make_audit(data_dir: Path, submitted: bool, code: str) -> int:
    """An inspection of a new UPS asset `code` (a code of each test's own)."""
    from server.accounts.tables import User
    from server.assets.tables import Asset
    from server.audits.service import start_audit
    from server.audits.tables import Answer, Audit, Photo
    from server.changelog.record import as_actor

    user = await User.objects().get(User.login == "auditor")
    assert user is not None
    asset = Asset(code=code, name="UPS room B2", category="ups", location="B2-101")
    await asset.save()
    audit = await start_audit(UPS, as_actor(user), asset=asset.id, title="Week 12")
    for item_id, (value, result, comment) in ANSWERS.items():
        # JSON text: Piccolo stores a str as is, and PostgreSQL wants valid JSON
        await Answer(audit=audit.id, item_id=item_id, value=json.dumps(value), result=result,
                     comment=comment, updated_by=user.id).save()
    folder = data_dir / "photos" / str(audit.id)
    photos = [("UP3.01", "photo", "p1", None), ("UP3.01", "photo", "p2", None),
              ("UP3.01", "photo", "gone", datetime.now(UTC)),  # removed: not in the report
              ("UP3.03", "signature", "sig", None)]
    for number, (item_id, kind, name, removed) in enumerate(photos):
        colour = (40 + 60 * number, 90, 160)
        if kind == "signature":  # a small drawn PNG, shown as drawn
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("RGBA", SIGNATURE_SIZE, (0, 0, 0, 0)).save(folder / f"{name}.png")
            Image.new("RGBA", (150, 50), (0, 0, 0, 0)).save(folder / f"{name}_t.png")
            path, thumb = f"photos/{audit.id}/{name}.png", f"photos/{audit.id}/{name}_t.png"
        else:
            _jpeg(folder / f"{name}.jpg", (1600, 1200), colour)
            _jpeg(folder / f"{name}_t.jpg", THUMB_SIZE, colour)
            path, thumb = f"photos/{audit.id}/{name}.jpg", f"photos/{audit.id}/{name}_t.jpg"
        await Photo(audit=audit.id, item_id=item_id, kind=kind, path=path, thumb_path=thumb,
                    sha256="0" * 64,
                    content_type="image/jpeg", width=1600, height=1200, size_bytes=1,
                    uploaded_by=user.id, removed_at=removed).save()
    if submitted:
        await Audit.update({
            Audit.status: "submitted",
            Audit.submitted_at: datetime(2026, 3, 20, 9, 30, tzinfo=UTC),
            Audit.score: SCORE,
            Audit.score_percent: 62.5,
            Audit.passed: False,
            Audit.signed_by: user.id,
            Audit.signer_name: "李审核 Li",
            Audit.signed_at: datetime(2026, 3, 20, 9, 31, tzinfo=UTC),
            Audit.signature_meaning: "I confirm these results",
        }).where(Audit.id == audit.id)
    return int(audit.id)


def _render(run: Callable[..., Any], settings: Settings, audit_id: int, lang: str) -> bytes:
    from server.reports.audit_report import load_audit_report, render_audit_report

    report = run(load_audit_report, audit_id)
    assert report is not None
    return render_audit_report(report, lang=lang, data_dir=settings.data_dir)


def test_audit_report_in_both_languages(
    client: Any, run: Callable[..., Any], settings: Settings
) -> None:
    audit_id = run(_make_audit, settings.data_dir, True, "UPS-T-001")
    before = i18n.current_language.get()

    zh_text, zh = pdf_text(_render(run, settings, audit_id, "zh_CN"))
    assert i18n.current_language.get() == before  # restored after rendering
    zh_flat = flat(zh_text)
    for expected in ("UPS周巡检", "输入电压", "UPS运行模式", "因故障或过载转入静态旁路",
                     "电池无鼓胀", "李审核Li", "UPS-T-001", "62.5%"):
        assert flat(expected) in zh_flat, expected
    assert "Input voltage" not in zh_text

    en_text, en = pdf_text(_render(run, settings, audit_id, "en"))
    en_flat = flat(en_text)
    for expected in ("UPS weekly inspection", "inspection.ups.weekly", "Input voltage",
                     "Static bypass after a fault or overload", "250.5 V", "62.5%",
                     "Failed items", "UP2.01 ★", "Critical", "N/A", "Pass", "Fail",
                     "I confirm these results", "Not answered", "Page 1 of"):
        assert flat(expected) in en_flat, expected
    assert "输入电压" not in en_text

    # submitted 09:30 UTC: read on the organisation's clock (Asia/Shanghai), no UTC
    assert flat("17:30") in zh_flat and flat("5:30") in en_flat
    assert "UTC" not in zh_text and "UTC" not in en_text and flat("9:30") not in en_flat

    # the failed-items list names exactly the failed items, critical ones marked
    failed_part = en_flat[en_flat.rindex("Faileditems"):]
    for item_id in SCORE["failed"]:
        assert item_id in failed_part
    assert "UP2.01★" in failed_part and "UP1.02★" not in failed_part
    # user text is shown literally, never as markup
    for text in (en_flat, zh_flat):
        assert flat(SCRIPT) in text
        assert flat(MARKUP) in text

    for reader in (zh, en):
        assert len(reader.pages) > 1
        images = raster_images(reader)
        # two photo thumbnails (never the full photos) and the signature as drawn;
        # the removed photo is left out
        assert sorted(image.size for image in images) == sorted(
            [THUMB_SIZE, THUMB_SIZE, SIGNATURE_SIZE]
        )


def test_audit_report_not_submitted(
    client: Any, run: Callable[..., Any], settings: Settings
) -> None:
    audit_id = run(_make_audit, settings.data_dir, False, "UPS-T-002")
    text, _reader = pdf_text(_render(run, settings, audit_id, "en"))
    assert "Not submitted" in text
    assert "Score by section" not in text
    assert flat("Input voltage") in flat(text)


def test_load_audit_report_unknown(client: Any, run: Callable[..., Any]) -> None:
    from server.reports.audit_report import load_audit_report

    assert run(load_audit_report, 999_999) is None


def test_render_pdf_language_and_async(tmp_path: Path, run: Any) -> None:
    # `run` and not anyio.run: a session-wide Playwright keeps an event loop running here.
    from server.reports.pdf import render_pdf, render_pdf_async

    token = i18n.current_language.set("en")
    try:
        pdf = render_pdf("reports/base.html", {}, data_dir=tmp_path)  # the current language
        assert i18n.current_language.get() == "en"
    finally:
        i18n.current_language.reset(token)
    text, reader = pdf_text(pdf)
    assert len(reader.pages) == 1 and "Page 1 of 1" in text

    async def render() -> bytes:
        return await render_pdf_async("reports/base.html", {}, data_dir=tmp_path, lang="en")

    text, _reader = pdf_text(run(render))
    assert "Auditrail" in text and "Page 1 of 1" in text


def test_renders_never_overlap_inside_weasyprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pango and fontconfig crash when two threads lay out at once; every caller
    # (render_pdf_async, the audit report's own thread) goes through render_pdf.
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from server.reports.pdf import render_pdf

    inside, most = 0, 0
    count = threading.Lock()
    real_write = HTML.write_pdf

    def counting_write(self: HTML, *args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
        try:
            time.sleep(0.05)  # widen the window two unguarded renders would share
            return real_write(self, *args, **kwargs)
        finally:
            with count:
                inside -= 1

    monkeypatch.setattr(HTML, "write_pdf", counting_write)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(
            pool.map(lambda _: render_pdf("reports/base.html", {}, data_dir=tmp_path), range(4))
        )
    assert most == 1
    assert all(pdf.startswith(b"%PDF") for pdf in pdfs)
