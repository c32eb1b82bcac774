"""Every PDF stays inside its margins: each page rendered to PNG with pdftoppm (poppler)
and checked with Pillow that nothing is drawn in the outer 5 mm, in both languages and
with long content (long titles and names, many items). Chart labels wrap, not cut."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from weasyprint import HTML

from server.assets import labels
from server.core.settings import Settings
from server.reports.charts import bar_chart_svg, svg_data_url, wrap_label
from server.reports.pdf import render_pdf

BAND_MM = 5.0
DPI = 72
LONG = ("Replacement of the uninterruptible power supply battery string in the basement "
        "plant room of building B, with the maintenance contractor ")
LONG_ZH = "地下室机房不间断电源蓄电池组更换及维保单位现场确认" * 4
LANGS = ("en", "zh_CN")

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                reason="pdftoppm (poppler-utils) is not installed")


def ink_near_edges(pdf: bytes, band_mm: float = BAND_MM) -> list[tuple[int, str]]:
    """(page, side) of every page side with anything drawn in its outer `band_mm`."""
    band = round(band_mm * DPI / 25.4)
    found = []
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(source),
                        str(Path(folder) / "page")], check=True, timeout=120)
        pages = sorted(Path(folder).glob("page*.png"))
        assert pages, "pdftoppm made no page"
        for number, path in enumerate(pages, start=1):
            with Image.open(path) as image:
                page = image.convert("L")
            width, height = page.size
            for side, box in (("left", (0, 0, band, height)),
                              ("right", (width - band, 0, width, height)),
                              ("top", (0, 0, width, band)),
                              ("bottom", (0, height - band, width, height))):
                darkest, _lightest = page.crop(box).getextrema()
                if darkest < 250:  # anything but paper white
                    found.append((number, side))
    return found


def test_the_check_sees_ink_in_the_margin() -> None:
    """The check itself: a box drawn 2 mm from the right edge is found."""
    html = ('<style>@page { size: A4; margin: 0 }</style>'
            '<div style="position:absolute; right:2mm; top:100mm; width:10mm; height:10mm;'
            ' background:#000"></div>')
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    assert ink_near_edges(pdf) == [(1, "right")]


# --- QR label sheets -----------------------------------------------------------------


@pytest.mark.parametrize("layout", list(labels.LAYOUTS))
def test_label_sheets_stay_inside_the_margins(layout: str, tmp_path: Path) -> None:
    assets = [{"code": f"UPS-B2-{n:04d}", "name": (LONG_ZH if n % 2 else LONG) * 2,
               "site": "Building B " * 6, "location": "B2-101 " * 8}
              for n in range(labels.LAYOUTS[layout].per_page + 3)]  # a second sheet too
    context = labels.label_context(assets, "https://audit.example.org", layout)
    for lang in LANGS:
        pdf = render_pdf("assets/labels_pdf.html", context, data_dir=tmp_path, lang=lang)
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
        assert ink_near_edges(pdf) == [], (layout, lang)


def test_every_label_slot_is_inside_the_printable_area() -> None:
    for layout in labels.LAYOUTS.values():
        for slot in layout.slots():
            assert slot["qr_left"] >= labels.SAFE and slot["qr_top"] >= labels.SAFE
            assert slot["qr_top"] + layout.qr_size <= 297 - labels.SAFE
            assert slot["text_left"] + slot["text_width"] <= 210 - labels.SAFE + 0.01
            assert slot["text_top"] + slot["text_height"] <= 297 - labels.SAFE + 0.01
            assert slot["text_width"] >= 25, layout.key  # room for a code and a name


# --- the rectification notice --------------------------------------------------------


async def _long_nc() -> int:
    """An NC in implementing with long text everywhere and 25 actions."""
    from server.findings.tables import CorrectiveAction, Nonconformance
    from tests.test_findings_support import QM_AUDIT, drive, submitted_audit, user_ids

    _audit, ncs = await submitted_audit(QM_AUDIT, "auditor", {
        "QM1.01": ("no", LONG * 3), "QM1.03": ("no", "X" * 400)})
    nc = ncs[0]
    await drive(nc, "implementing")
    await Nonconformance.update({
        Nonconformance.title: LONG * 2, Nonconformance.description: "W" * 600,
        Nonconformance.containment: LONG_ZH, Nonconformance.root_cause: LONG * 2,
        Nonconformance.verification_standard: LONG_ZH + LONG,
    }).where(Nonconformance.id == nc)
    owner = (await user_ids())["owner"]
    await CorrectiveAction.insert(*[
        CorrectiveAction(nc=nc, kind="corrective", description=LONG + "V" * 90, owner=owner,
                         due_date=date(2026, 9, 1), status="open") for _ in range(25)])
    return nc


def test_notice_stays_inside_the_margins(client: Any, run: Any, api: Any) -> None:
    nc = run(_long_nc)
    for lang in ("en", "zh-CN"):
        response = client.get(f"/api/v1/nonconformances/{nc}/notice.pdf",
                              headers={**api("quality_manager"), "accept-language": lang})
        assert response.status_code == 200
        assert len(PdfReader(io.BytesIO(response.content)).pages) > 2
        assert ink_near_edges(response.content) == [], lang


# --- the audit report ----------------------------------------------------------------


async def _long_audit(data_dir: Path) -> int:
    from server.assets.tables import Asset
    from server.audits.tables import Audit
    from tests.test_reports import _make_audit

    audit_id = await _make_audit(data_dir, True, "UPS-LAYOUT-001")
    await Audit.update({Audit.title: LONG * 2, Audit.signer_name: LONG_ZH}).where(
        Audit.id == audit_id)
    await Asset.update({Asset.name: (LONG_ZH + LONG)[:200],  # the column's length
                        Asset.location: "B2-101 " * 20}).where(Asset.code == "UPS-LAYOUT-001")
    return audit_id


def test_audit_report_stays_inside_the_margins(client: Any, run: Callable[..., Any],
                                               settings: Settings) -> None:
    from tests.test_reports import _render

    audit_id = run(_long_audit, settings.data_dir)
    for lang in LANGS:
        pdf = _render(run, settings, audit_id, lang)
        assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
        assert ink_near_edges(pdf) == [], lang


# --- charts --------------------------------------------------------------------------


def test_chart_labels_wrap_between_words_and_keep_every_word() -> None:
    label = "Quality management system documents and their continual improvement"
    lines = wrap_label(label, 180)
    assert len(lines) > 1 and " ".join(lines) == label
    zh = "质量管理体系文件的建立与持续改进"
    assert "".join(wrap_label(zh, 100)) == zh
    assert wrap_label("Short", 180) == ["Short"]
    very_long = wrap_label("word " * 200, 180)
    assert len(very_long) == 4 and very_long[-1].endswith("…")


def test_chart_in_a_pdf_shows_the_whole_english_label() -> None:
    rows = [("Operation and maintenance service capability and resources", 91.0),
            ("人员", 40.0), ("Technology", None)]
    svg = bar_chart_svg(rows, 80)
    html = (f'<style>@page {{ size: A4; margin: 20mm 15mm }}</style>'
            f'<img style="width: 100%" src="{svg_data_url(svg)}">')
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Operation and maintenance service capability and resources" in text
    assert "…" not in text and "人员" in text
    assert ink_near_edges(pdf) == []


def test_dashboard_bar_labels_wrap() -> None:
    css = (Path(__file__).parent.parent / "static" / "findings.css").read_text()
    rule = next(line for line in css.splitlines() if line.startswith(".nc-bar-label"))
    assert "ellipsis" not in rule and "nowrap" not in rule and "overflow-wrap" in rule
