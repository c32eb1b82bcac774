"""The catalogue and a preview in a real browser at phone and tablet size."""

from __future__ import annotations

from typing import Any

import pytest

from server.checklists.loader import load_tree
from server.core.settings import PROJECT_ROOT
from tests.browser import log_in, no_horizontal_scroll, small_touch_targets

# the live server carries the shipped library plus the test checklists
SHIPPED = {
    r.checklist.key
    for r in load_tree([PROJECT_ROOT / "checklists", PROJECT_ROOT / "tests" / "fixtures"])
    if r.checklist
}
pytestmark = pytest.mark.browser


def test_login_then_switch_language(page: Any) -> None:
    page.goto("/checklists", wait_until="networkidle")
    assert "/login" in page.url  # anonymous: sent to the login page first
    log_in(page, "quality_manager", "wrong-password")
    assert page.locator(".alert-error").is_visible()
    log_in(page, "quality_manager")
    assert page.url.endswith("/checklists")  # and straight back where we were going
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Checklist catalogue"
    page.click("button.lang[value=zh_CN]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "检查表目录"
    page.click("text=退出登录")
    page.wait_for_load_state("networkidle")
    assert "/login" in page.url


def test_catalogue_then_preview(page: Any) -> None:
    page.goto("/checklists", wait_until="networkidle")
    log_in(page, "auditor")
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".card").count() == len(SHIPPED)
    assert no_horizontal_scroll(page)
    assert small_touch_targets(page) == []

    page.click("nav.tabs >> text=Inspections")
    first = page.locator(".card-link").first
    title = first.locator(".card-title").inner_text()
    first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == title
    assert page.locator("li.item").count() >= 5
    assert no_horizontal_scroll(page)
    assert small_touch_targets(page) == []

    guidance = page.locator("details.guidance").first
    guidance.locator("summary").click()
    assert guidance.locator("p").first.is_visible()

    page.click("button.lang[value=zh_CN]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "检查" in page.content() or "清单" in page.content()
