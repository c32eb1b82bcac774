"""Assets in a real browser: the scanner (a fake camera showing a printed label), typing
a code by hand, which scanned texts are followed, and the pages at phone and tablet size."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from server.assets import qr
from tests.browser import log_in, no_horizontal_scroll, small_touch_targets
from tests.conftest import CHROMIUM

pytestmark = pytest.mark.browser
CODE = "UPS-E2E-001"


def ensure_asset(page: Any) -> None:
    """Register the test asset through the form (the live server has its own database)."""
    log_in(page, "quality_manager")
    if page.goto(f"/assets/{CODE}").status == 200:
        return
    page.goto("/assets/new", wait_until="networkidle")
    page.fill("input[name=code]", CODE)
    page.fill("input[name=name]", "测试UPS Test UPS")
    page.select_option("select[name=category]", "ups")
    page.fill("input[name=site]", "E2E")
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/assets/{CODE}")


def test_asset_pages_fit_phone_and_tablet(page: Any) -> None:
    ensure_asset(page)
    for path in (f"/a/{CODE}", "/assets", "/scan", "/inspections/due?view=all",
                 "/inspections/schedules/new", "/assets/import"):
        page.goto(path, wait_until="networkidle")
        assert no_horizontal_scroll(page), path
        assert small_touch_targets(page) == [], path
    page.goto(f"/a/{CODE}", wait_until="networkidle")
    assert page.locator("img.qr-image").evaluate("img => img.naturalWidth") > 0


def test_typed_code_opens_the_asset_and_unknown_codes_help(page: Any) -> None:
    ensure_asset(page)
    page.goto("/scan", wait_until="networkidle")
    page.fill("#code-input", CODE.lower())
    page.click("form.code-entry button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/a/{CODE}")
    assert CODE in page.locator("h1").inner_text()
    page.goto("/a/NOT-THERE-9", wait_until="networkidle")
    assert "NOT-THERE-9" in page.locator("main").inner_text()
    assert page.locator("a[href='/scan']").first.is_visible()


def test_only_this_apps_asset_links_are_followed(page: Any, live_server: str) -> None:
    ensure_asset(page)
    page.goto("/scan", wait_until="networkidle")
    check = "text => window.auditrailAssetPath(text)"
    assert page.evaluate(check, f"{live_server}/a/{CODE}") == f"/a/{CODE}"
    assert page.evaluate(check, f"{live_server}/a/ups-e2e-001/") == f"/a/{CODE}"
    assert page.evaluate(check, "ups-b2-001") == "/a/UPS-B2-001"
    for foreign in ("https://evil.example/a/UPS-1", f"{live_server}/admin/users",
                    f"{live_server}/a/UPS-1/../../admin", "javascript:alert(1)",
                    "WIFI:S:net;T:WPA;P:secret;;", f"{live_server}/a/%2F%2Fevil"):
        assert page.evaluate(check, foreign) is None, foreign


def _y4m(image: Image.Image, path: Path, frames: int = 10) -> None:
    """A raw YUV 4:2:0 video that Chromium's fake camera plays in a loop."""
    ycbcr = image.convert("RGB").convert("YCbCr")
    y, cb, cr = ycbcr.split()
    half = (image.width // 2, image.height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{image.width} H{image.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)


def test_camera_scan_opens_the_asset(browser: Any, live_server: str, tmp_path: Path) -> None:
    """A phone camera pointed at a label: the fake camera shows the label's QR code."""
    code = Image.open(io.BytesIO(qr.png(qr.asset_url(live_server, CODE), scale=8)))
    frame = Image.new("RGB", (640, 480), (200, 200, 190))
    frame.paste(code.convert("RGB").resize((360, 360)), (140, 60))
    video = tmp_path / "label.y4m"
    _y4m(frame, video)
    camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"],
    )
    try:
        context = camera.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
        context.grant_permissions(["camera"], origin=live_server)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        ensure_asset(tab)
        tab.goto("/scan", wait_until="networkidle")
        if tab.locator("#scan-start").is_visible():
            tab.click("#scan-start")
        tab.wait_for_url(f"**/a/{CODE}", timeout=20_000)
        assert CODE in tab.locator("h1").inner_text()
        assert errors == []
        context.close()
    finally:
        camera.close()
