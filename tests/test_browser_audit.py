"""A whole audit in a real browser, at tablet and phone size: every item type, a photo,
a signature, a save that fails and recovers, submit and sign."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import log_in, no_horizontal_scroll, small_touch_targets
from tests.support import jpeg_bytes

pytestmark = pytest.mark.browser


def item(page: Any, item_id: str) -> Any:
    return page.locator(f"[id='item-{item_id}']")


def saved(page: Any, item_id: str) -> None:
    page.wait_for_function(
        "id => { const el = document.getElementById('item-' + id);"
        " return el && el.querySelector('.save-state').textContent.includes('Saved'); }",
        arg=item_id, timeout=15000)


def answer(page: Any, item_id: str, act: Any) -> None:
    """Do something that autosaves one item, and wait until that save has landed."""
    with page.expect_response(lambda r: r.url.endswith(f"/answers/{item_id}")
                              and r.request.method == "POST", timeout=15000):
        act()
    saved(page, item_id)
    page.wait_for_timeout(50)  # htmx settles the swap after the response


def test_whole_audit(page: Any, tmp_path: Path) -> None:
    page.goto("/checklists/test.all_types", wait_until="networkidle")
    log_in(page, "auditor")
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")
    page.click("summary.button")
    page.click("form[action='/audits'] button[type=submit]")
    page.wait_for_url(re.compile(r"/audits/\d+$"))
    audit_url = page.url
    assert no_horizontal_scroll(page)

    answer(page, "A1", lambda: item(page, "A1").locator("label.choice-yes").click())

    # the next save fails on the network: the page says so and sends it again
    failures = {"left": 1}

    def flaky(route: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            route.abort()
        else:
            route.continue_()

    page.route("**/answers/A2", flaky)
    item(page, "A2").locator("label.choice-pass").click()
    page.wait_for_function(
        "() => document.querySelector('#item-A2 .save-state').textContent"
        ".includes('kept on this device')")
    assert "1 change waiting" in page.inner_text("#outbox-status")
    saved(page, "A2")  # sent again within a few seconds, not after a long back-off
    page.wait_for_function("() => !document.getElementById('outbox-status')"
                           ".textContent.includes('waiting')")
    page.unroute("**/answers/A2")

    answer(page, "A3", lambda: item(page, "A3").locator("label.choice", has_text="4").click())
    number = item(page, "A4").locator("input[type=number]")
    number.fill("35")
    assert item(page, "A4").locator(".limit-warning").is_visible()  # warned before saving
    number.fill("22")
    assert item(page, "A4").locator(".limit-warning").is_hidden()
    answer(page, "A4", lambda: number.press("Tab"))

    assert item(page, "B3").is_hidden()
    answer(page, "B1", lambda: item(page, "B1").locator("label.choice", has_text="Bad").click())
    assert item(page, "B3").is_visible()  # show_if: B1 == 'bad'
    answer(page, "B1", lambda: item(page, "B1").locator("label.choice", has_text="Good").click())
    assert item(page, "B3").is_hidden()

    answer(page, "B2", lambda: item(page, "B2").locator("label.choice", has_text="Dust").click())
    item(page, "B4").locator("input[type=date]").fill("2026-11-20")
    answer(page, "B4",
           lambda: item(page, "B4").locator("input[type=date]").dispatch_event("change"))

    photo = tmp_path / "site.jpg"
    photo.write_bytes(jpeg_bytes(3000, 2000))
    item(page, "B5").locator("input.photo-input").set_input_files(str(photo))
    page.wait_for_selector("#item-B5 .thumbs img", timeout=20000)

    canvas = item(page, "B6").locator("canvas.signature-pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 20, box["y"] + 40 + (step % 3) * 15)
    page.mouse.up()
    item(page, "B6").locator("button.signature-save").click()
    page.wait_for_selector("#item-B6 img.signature-img", timeout=20000)

    item(page, "A2").locator("summary", has_text="Comment").click()
    item(page, "A2").locator("textarea[name=comment]").fill("Cable labels renewed")
    answer(page, "A2", lambda: item(page, "A2").locator("textarea[name=comment]").press("Tab"))

    # leave and come back: everything is still there (resume on another device)
    page.goto(audit_url, wait_until="networkidle")
    assert item(page, "A4").locator("input[type=number]").input_value() == "22"
    comment = item(page, "A2").locator("textarea[name=comment]")
    assert comment.input_value() == "Cable labels renewed"

    page.click("text=Review and submit >> nth=0")
    page.wait_for_url(re.compile(r"/submit$"))
    page.fill("input[name=password]", "demo")
    page.click("text=Sign and submit")
    page.wait_for_load_state("networkidle")
    page.goto(audit_url, wait_until="networkidle")
    # A3 = 4 on a 1..5 scale earns 0.75: (2 + 1 + 0.75 + 1 + 1 + 1) / 7 = 96.4 %
    assert page.locator(".big-score").inner_text().startswith("96.4%")
    assert "Signed by" in page.content()
    assert no_horizontal_scroll(page)


def test_the_form_fits_a_360px_phone_in_both_languages(browser: Any, live_server: str) -> None:
    """The narrowest phones the form is made for: nothing scrolls sideways and every
    control of the form stays a finger's size, in Chinese and in English."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server)
    page = context.new_page()
    try:
        page.goto("/checklists/test.all_types", wait_until="networkidle")
        log_in(page, "auditor")
        page.click("summary.button")
        page.click("form[action='/audits'] button[type=submit]")
        page.wait_for_url(re.compile(r"/audits/\d+$"))
        for lang in ("zh_CN", "en"):
            page.click(f"button.lang[value={lang}]")
            page.wait_for_load_state("networkidle")
            assert page.locator("li.item").count() >= 10, lang  # every item type
            page.locator("details.guidance summary").first.click()
            assert no_horizontal_scroll(page), lang
            assert small_touch_targets(page) == [], lang
    finally:
        context.close()
