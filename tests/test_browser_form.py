"""The form as a person uses it, at 360 px and tablet size: a slim run bar that never hides
the item a jump lands on, compact items, keyboard-only answering with focus kept across
saves, and the whole form with JavaScript off."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import log_in
from tests.conftest import VIEWPORTS
from tests.support import jpeg_bytes
from tests.test_browser_audit import answer, item

pytestmark = pytest.mark.browser


def new_run(page: Any, key: str = "test.all_types") -> str:
    page.goto(f"/checklists/{key}", wait_until="networkidle")
    log_in(page, "auditor")
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")
    page.click("summary.button")
    page.click("form[action='/audits'] button[type=submit]")
    page.wait_for_url(re.compile(r"/audits/\d+$"))
    page.wait_for_load_state("networkidle")
    return str(page.url)


def box(page: Any, selector: str) -> dict[str, float]:
    return dict(page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, height: r.height}; }", selector))


def test_next_unanswered_lands_below_a_slim_bar(page: Any) -> None:
    new_run(page)
    bar = box(page, "#runbar")
    width = page.viewport_size["width"]
    print(f"\nrun bar at {width} px: {bar['height']:.0f} px high")
    assert bar["height"] <= 64, bar  # one strip: under a tenth of a 740 px phone screen
    answer(page, "A1", lambda: item(page, "A1").locator("label.choice-yes").click())
    page.mouse.wheel(0, 300)
    for _ in range(2):
        page.click("#next-unanswered")
        page.wait_for_timeout(100)
        target = page.evaluate("document.activeElement.closest('li.item').dataset.item")
        assert target == "A2"
        bar = box(page, "#runbar")
        li = box(page, "[id='item-A2']")
        assert li["top"] >= bar["bottom"] - 1, (li, bar)  # not under the bar
        assert li["bottom"] <= page.viewport_size["height"], li  # and wholly on screen
        page.mouse.wheel(0, 900)
    # the sections' menu: a jump lands below the bar too
    page.click("#section-menu summary")
    page.click(".section-list a[href='#section-B']")
    page.wait_for_timeout(200)
    assert not page.evaluate("document.getElementById('section-menu').open")
    heading = box(page, "#section-B")
    assert heading["top"] >= box(page, "#runbar")["bottom"] - 1


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_a_yes_no_item_is_compact_at_360px(page: Any) -> None:
    new_run(page)
    assert VIEWPORTS["phone"]["width"] == 360
    height = box(page, "[id='item-A1']")["height"]  # yes/no, critical, with guidance
    print(f"\nyes/no item at 360 px: {height:.0f} px")
    assert height < 180, height


def test_keyboard_only_answering_of_a_section(page: Any) -> None:
    """From the skip link, Tab and the arrow keys answer section A; after every save the
    focus is still on the control that was answered."""
    new_run(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-unanswered"
    page.keyboard.press("Enter")
    page.wait_for_timeout(100)
    assert page.evaluate("document.activeElement.id") == "i-A1-v-yes"

    def tab_to(item_id: str, selector: str) -> None:
        for _ in range(12):
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"no {selector} in {item_id} by keyboard")

    answer(page, "A1", lambda: page.keyboard.press("Space"))
    assert page.evaluate("document.activeElement.id") == "i-A1-v-yes"  # kept over the swap
    tab_to("A2", "[id='item-A2'] input[type=radio]")
    answer(page, "A2", lambda: page.keyboard.press("Space"))  # pass
    answer(page, "A2", lambda: page.keyboard.press("ArrowRight"))  # then fail
    assert page.evaluate("document.activeElement.id") == "i-A2-v-fail"
    tab_to("A3", "[id='item-A3'] input[type=radio]")
    answer(page, "A3", lambda: page.keyboard.press("Space"))
    tab_to("A4", "[id='item-A4'] input[type=number]")
    page.keyboard.type("22")
    answer(page, "A4", lambda: page.keyboard.press("Tab"))
    # the comment of A4 by keyboard: its toggle, the field, leave it
    tab_to("A4", "[id='i-A4-comment'] summary")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("read at the door")
    answer(page, "A4", lambda: page.keyboard.press("Tab"))
    page.reload(wait_until="networkidle")
    assert item(page, "A1").locator("input[value=yes]").is_checked()
    assert item(page, "A2").locator("input[value=fail]").is_checked()
    assert page.locator("[id='i-A3-v-1']").is_checked()
    assert item(page, "A4").locator("input[type=number]").input_value() == "22"
    assert "read at the door" in item(page, "A4").locator("textarea[name=comment]").input_value()


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_the_form_without_javascript(browser: Any, live_server: str, page: Any,
                                     tmp_path: Path) -> None:
    url = new_run(page)  # started with scripts on; filled in with them off
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"],
                                  base_url=live_server)
    plain = context.new_page()
    try:
        plain.goto(url, wait_until="load")
        log_in(plain, "auditor")
        plain.goto(url, wait_until="load")
        li = item(plain, "A1")
        li.locator("label.choice-no").click()
        li.locator("form.answer-form button[type=submit]").click()
        plain.wait_for_load_state("load")
        assert re.search(r"/audits/\d+\?saved=A1#item-A1$", plain.url), plain.url
        assert item(plain, "A1").locator("input[value=no]").is_checked()
        assert "Saved" in item(plain, "A1").locator(".save-state").inner_text()
        # a comment, a number out of its type, a photo: each a plain post
        item(plain, "A2").locator("summary", has_text="Comment").click()
        item(plain, "A2").locator("textarea[name=comment]").fill("labels renewed")
        item(plain, "A2").locator("form.comment-form button[type=submit]").click()
        plain.wait_for_load_state("load")
        assert item(plain, "A2").locator("textarea[name=comment]").input_value() == (
            "labels renewed")
        photo = tmp_path / "p.jpg"
        photo.write_bytes(jpeg_bytes(1200, 900))
        item(plain, "A1").locator("input[type=file]").set_input_files(str(photo))
        item(plain, "A1").locator("form.photo-form button[type=submit]").click()
        plain.wait_for_load_state("load")
        assert item(plain, "A1").locator(".thumbs img").count() == 1
        item(plain, "A1").locator(".remove-photo").click()
        plain.wait_for_load_state("load")
        assert item(plain, "A1").locator(".thumbs img").count() == 0
        # the review page and the sign form are plain forms already
        plain.click("#review-link")
        plain.wait_for_url(re.compile(r"/submit$"))
    finally:
        context.close()


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_a_plain_login_redirect_comes_back_to_the_item(page: Any) -> None:
    """A form posted after the session ended (no script to keep it): the login page, then
    the same form at the same item, never a 405."""
    url = new_run(page)
    audit = url.rsplit("/", 1)[1]
    page.context.clear_cookies()
    page.goto(f"/audits/{audit}/answers/A2", wait_until="networkidle")
    assert "/login" in page.url
    log_in(page, "auditor")
    assert page.url.endswith(f"/audits/{audit}#item-A2"), page.url
    assert item(page, "A2").is_visible()



@pytest.mark.parametrize("page", ["tablet"], indirect=True)
def test_show_if_follows_answers_given_offline(page: Any) -> None:
    new_run(page)
    assert item(page, "B3").is_hidden()
    page.context.set_offline(True)
    item(page, "B1").locator("label.choice", has_text="Bad").click()
    page.wait_for_function("() => !document.getElementById('item-B3').hidden")  # B1 == 'bad'
    item(page, "B1").locator("label.choice", has_text="Good").click()
    page.wait_for_function("() => document.getElementById('item-B3').hidden")
    page.context.set_offline(False)
    page.wait_for_function("() => document.getElementById('item-B1')"
                           ".querySelector('.save-state').textContent.includes('Saved')")
    assert item(page, "B3").is_hidden()
