"""The field engineer's flow at phone size: open an asset's QR link, log in, start the
due inspection, answer it, add a photo, submit, and see the nonconformance it raised."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import log_in
from tests.support import jpeg_bytes
from tests.test_browser_audit import answer

pytestmark = pytest.mark.browser

FAIL_ITEM_JS = """() => {
  // the first pass/fail or yes/no item that is not critical: we fail it on purpose
  const items = [...document.querySelectorAll('#run li.item:not([hidden])')];
  const li = items.find(li => li.querySelector('label.choice-fail, label.choice-no')
                              && !li.querySelector('.badge-critical'));
  return li ? li.dataset.item : null;
}"""


def fill_everything_but(page: Any, failing: str, photo: Path) -> None:
    """Answer every visible item as passing, except `failing`, which fails."""
    for _ in range(3):  # answers can reveal show_if items; go round until none is left
        ids = page.evaluate("() => [...document.querySelectorAll('#run li.item:not([hidden])')]"
                            ".map(li => li.dataset.item)")
        for item_id in ids:
            li = page.locator(f"[id='item-{item_id}']")
            if li.locator("input[type=radio]:checked, input[type=checkbox]:checked").count():
                continue  # answered in an earlier round
            if item_id == failing:
                target = li.locator("label.choice-fail, label.choice-no").first
                answer(page, item_id, target.click)
                li.locator("input.photo-input").set_input_files(str(photo))
                page.wait_for_selector(f"[id='item-{item_id}'] .thumbs img", timeout=20000)
                # a failed item needs its finding: the comment box opens asking for it
                finding = li.locator("textarea[name=comment]")
                li.locator(".comment-needed").wait_for(state="visible", timeout=5000)
                finding.fill("Alarm list shows a battery fault")
                answer(page, item_id, lambda f=finding: f.press("Tab"))
            elif li.locator("label.choice-pass, label.choice-yes").count():
                answer(page, item_id, li.locator("label.choice-pass, label.choice-yes").first.click)
            elif li.locator("input[type=number]").count():
                box = li.locator("input[type=number]")
                if box.input_value():
                    continue
                low, high = box.get_attribute("data-min"), box.get_attribute("data-max")
                value = (float(low or 0) + float(high or float(low or 0) + 2)) / 2
                box.fill(str(value))
                answer(page, item_id, lambda b=box: b.press("Tab"))
            elif li.locator("textarea[name=value]").count():
                if li.locator("textarea[name=value]").input_value():
                    continue
                li.locator("textarea[name=value]").fill("ok")
                answer(page, item_id,
                       lambda li=li: li.locator("textarea[name=value]").press("Tab"))
            elif li.locator("input[type=date]").count():
                if li.locator("input[type=date]").input_value():
                    continue
                li.locator("input[type=date]").fill("2026-11-20")
                answer(page, item_id,
                       lambda li=li: li.locator("input[type=date]").dispatch_event("change"))
            elif li.locator(".choice-col label.choice").count() and not li.locator(
                    "input[type=checkbox]").count():
                answer(page, item_id, li.locator(".choice-col label.choice").first.click)
            elif li.locator("canvas.signature-pad").count() and not li.locator(
                    "img.signature-img").count():
                canvas = li.locator("canvas.signature-pad")
                canvas.scroll_into_view_if_needed()
                box = canvas.bounding_box()
                page.mouse.move(box["x"] + 20, box["y"] + 30)
                page.mouse.down()
                page.mouse.move(box["x"] + 200, box["y"] + 80, steps=8)
                page.mouse.up()
                li.locator("button.signature-save").click()
                page.wait_for_selector(f"[id='item-{item_id}'] img.signature-img", timeout=20000)
            elif li.get_attribute("data-type") == "photo" and not li.locator(
                    ".thumbs img").count():
                li.locator("input.photo-input").set_input_files(str(photo))
                page.wait_for_selector(f"[id='item-{item_id}'] .thumbs img", timeout=20000)


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_scan_link_to_nonconformance(page: Any, tmp_path: Path) -> None:
    photo = tmp_path / "panel.jpg"
    photo.write_bytes(jpeg_bytes(1600, 1200, (90, 90, 90)))
    page.goto("/a/UPS-A-001", wait_until="networkidle")  # what the phone camera opens
    assert "/login" in page.url
    log_in(page, "engineer")
    assert page.url.endswith("/a/UPS-A-001")
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")
    page.locator("form[action$='/inspections'] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/audits/\d+$"))
    audit_url = page.url
    failing = page.evaluate(FAIL_ITEM_JS)
    assert failing
    fill_everything_but(page, failing, photo)
    page.goto(audit_url + "/submit", wait_until="networkidle")
    missing = page.locator(".missing-list li").all_inner_texts()
    assert missing == [], missing
    page.fill("input[name=password]", "demo")
    page.click("text=Sign and submit")
    # the engineer sees a confirmation and what is due next, not the NC triage
    page.wait_for_url(re.compile(r"/audits/\d+\?submitted=1"))
    confirmation = page.locator(".submitted-box").inner_text()
    assert "Inspection submitted" in confirmation and "passed to the auditors" in confirmation
    assert failing in page.content()  # listed among the failed items
    assert re.search(r"NC-\d{4}-\d{4}", page.content())  # and as a draft nonconformance
