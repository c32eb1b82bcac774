"""QR codes decoded by a real decoder (zxing-cpp), and label sheet PDFs read back."""

from __future__ import annotations

import io
import re
from typing import Any

import pypdf
import pytest
import qrcode
import zxingcpp
from PIL import Image, ImageDraw
from qrcode.constants import ERROR_CORRECT_H

from server.assets import labels, qr
from server.demo.assets import load_demo_assets

BASE = "https://auditrail.example.com.cn"


def decode(image: Image.Image) -> list[Any]:
    return list(zxingcpp.read_barcodes(image.convert("L")))


def test_png_decodes_to_the_absolute_asset_url_at_level_h() -> None:
    url = qr.asset_url(BASE, "UPS-B2-001")
    assert url == "https://auditrail.example.com.cn/a/UPS-B2-001"
    image = Image.open(io.BytesIO(qr.png(url)))
    found = decode(image)
    assert [r.text for r in found] == [url]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert found[0].ec_level == "H"


@pytest.mark.parametrize("code", ["A", "UPS-B2-001", "NET_CORE.SW-01", "X" * 60])
def test_every_mask_choice_decodes(code: str) -> None:
    url = qr.asset_url(BASE + "/sub", code)
    assert decode(Image.open(io.BytesIO(qr.png(url, scale=4))))[0].text == url


def test_fast_masking_equals_the_reference_encoder_for_every_mask() -> None:
    """Masks are derived from the mask-0 symbol by bit operations: same modules as
    the qrcode package builds for each mask, format information included."""
    for data in (qr.asset_url(BASE, "UPS-B2-001"), "http://127.0.0.1:8000/a/X", "h" * 150):
        base = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0, mask_pattern=0)
        base.add_data(data)
        base.make(fit=True)
        layout = qr._layout(base.version)
        rows0 = qr._row_ints(base.modules)
        for k in range(8):
            ref = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0, mask_pattern=k)
            ref.add_data(data)
            ref.make(fit=True)
            assert qr.masked_rows(rows0, layout, k) == list(qr._row_ints(ref.modules)), (data, k)


def test_scratched_label_still_scans() -> None:
    """Level H: a stripe of damage through the data area is corrected."""
    url = qr.asset_url(BASE, "UPS-B2-001")
    image = Image.open(io.BytesIO(qr.png(url, scale=8))).convert("L")
    size = image.width
    draw = ImageDraw.Draw(image)
    draw.rectangle((size * 0.42, size * 0.30, size * 0.58, size * 0.75), fill=255)
    assert decode(image)[0].text == url


def _svg_to_image(svg: str, scale: int = 6) -> Image.Image:
    """Rasterise our one-path SVG (rectangles only) to check its geometry."""
    n = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    image = Image.new("L", (n * scale, n * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle((x0, y0, x0 + int(w) * scale - 1, y0 + scale - 1), fill=0)
    return image


def test_svg_draws_the_same_code() -> None:
    url = qr.asset_url(BASE, "AC-A-001")
    svg = qr.svg(url, title="AC-A-001")
    assert svg.startswith("<svg") and "<title>AC-A-001</title>" in svg
    assert decode(_svg_to_image(svg))[0].text == url


def test_label_layouts_fit_on_a4() -> None:
    for layout in labels.LAYOUTS.values():
        last_left, last_top = layout.position(layout.per_page - 1)
        assert last_left + layout.width <= 210.5, layout.key
        assert last_top + layout.height <= 297.5, layout.key
        assert layout.qr_size >= 15, layout.key  # big enough for a phone at arm's length


def _pdf(client: Any, token: str, codes: list[str], layout: str = "l7160",
         skip: int = 0) -> pypdf.PdfReader:
    response = client.post("/assets/labels.pdf", data={"_csrf": token, "codes": codes,
                                                       "layout": layout, "skip": str(skip)})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    return pypdf.PdfReader(io.BytesIO(response.content))


def test_label_sheet_pages_text_and_scannable_codes(
    client: Any, run: Any, as_user: Any, settings: Any
) -> None:
    run(load_demo_assets)
    token = as_user("quality_manager")
    codes = ["UPS-A-001", "AC-A-001", "SR-B-1F"]
    reader = _pdf(client, token, codes)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for code, name in (("UPS-A-001", "A栋UPS主机1号"), ("AC-A-001", "A栋精密空调1号"),
                       ("SR-B-1F", "分中心1楼机房")):
        assert code in text and name in text
    images = list(reader.pages[0].images)
    assert len(images) == 1  # one image carries the sheet's codes, one pixel per module
    sheet = images[0].image.convert("L")
    big = sheet.resize((sheet.width * 6, sheet.height * 6), Image.Resampling.NEAREST)
    scanned = {found.text for found in decode(big)}
    assert scanned == {qr.asset_url(settings.base_url, c) for c in codes}


def test_label_sheet_page_count_follows_layout_and_skip(
    client: Any, run: Any, as_user: Any
) -> None:
    run(load_demo_assets)
    token = as_user("engineer")
    from server.assets.tables import Asset

    codes = [r["code"] for r in run(Asset.select(Asset.code).run)]
    assert len(codes) == 12
    assert len(_pdf(client, token, codes, "l7165").pages) == 2  # 8 per sheet
    assert len(_pdf(client, token, codes, "l7160").pages) == 1  # 21 per sheet
    assert len(_pdf(client, token, codes, "l7160", skip=15).pages) == 2


def test_labels_for_all_listed_assets(client: Any, run: Any, as_user: Any) -> None:
    run(load_demo_assets)
    token = as_user("quality_manager")
    response = client.post("/assets/labels.pdf", data={"_csrf": token, "all": "1",
                                                       "category": "ups", "layout": "l7163"})
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "UPS-A-001" in text and "UPS-B-001" in text and "AC-A-001" not in text


def test_label_errors_are_clear(client: Any, run: Any, as_user: Any) -> None:
    run(load_demo_assets)
    token = as_user("quality_manager")
    none = client.post("/assets/labels.pdf", data={"_csrf": token, "layout": "l7160"})
    assert none.status_code == 422
    unknown = client.post("/assets/labels.pdf", headers={"accept-language": "en"},
                          data={"_csrf": token, "codes": ["UPS-A-001", "NOPE-1"]})
    assert unknown.status_code == 422 and "NOPE-1" in unknown.text
    layout = client.post("/assets/labels.pdf",
                         data={"_csrf": token, "codes": ["UPS-A-001"], "layout": "a0"})
    assert layout.status_code == 422


def test_qr_downloads(client: Any, run: Any, as_user: Any, settings: Any) -> None:
    run(load_demo_assets)
    as_user("engineer")
    png = client.get("/assets/UPS-A-001/qr.png?download=true")
    assert png.headers["content-type"] == "image/png"
    assert 'filename="qr-UPS-A-001.png"' in png.headers["content-disposition"]
    url = qr.asset_url(settings.base_url, "UPS-A-001")
    assert decode(Image.open(io.BytesIO(png.content)))[0].text == url
    svg = client.get("/assets/UPS-A-001/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert decode(_svg_to_image(svg.text))[0].text == url
    assert client.get("/assets/NOPE/qr.png").status_code == 404
