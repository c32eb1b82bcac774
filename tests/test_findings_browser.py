"""The quality manager's and an owner's flow in a real browser, at phone and tablet
size: raise an NC by hand, contain, find the cause, plan, approve, implement,
verify and close; "My actions" and the dashboard along the way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from server.core import clock
from tests.browser import log_in as log_in_here

pytestmark = pytest.mark.browser


def log_in(page: Any, user: str) -> None:
    """Sign in afresh as `user`, in English."""
    page.context.clear_cookies()
    page.goto("/login", wait_until="networkidle")
    log_in_here(page, user)
    # Earlier tests may have saved another language as this user's preference.
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")


def layout_ok(page: Any) -> None:
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), f"horizontal scroll on {page.url}"
    small = page.evaluate("""() => [...document.querySelectorAll('a, button, summary')]
        .filter(el => el.offsetParent !== null && !el.closest('p, dd, .card-meta, td, .history'))
        .filter(el => { const r = el.getBoundingClientRect();
                        return r.height < 44 || r.width < 44; })
        .map(el => el.outerHTML.slice(0, 80))""")
    assert not small, f"small touch targets on {page.url}: {small}"


def transition(page: Any, to: str, fields: dict[str, str] | None = None,
               selects: dict[str, str] | None = None) -> None:
    form = page.locator(f"form[action$='/transitions']:has(input[name=to][value={to}])")
    details = page.locator(f"details.nc-transition:has(input[name=to][value={to}])")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    for name, value in (fields or {}).items():
        form.locator(f"[name={name}]").fill(value)
    for name, value in (selects or {}).items():
        form.locator(f"select[name={name}]").select_option(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def state_badge(page: Any) -> str:
    return str(page.locator("p.badges .nc-state").first.inner_text())


def test_quality_manager_and_owner_flow(page: Any) -> None:
    size = page.viewport_size["width"]
    title = f"Fire extinguisher expired ({size})"
    # The quality manager raises an NC found on a random check and gives it to the owner.
    log_in(page, "quality_manager")
    page.goto("/nonconformances/new", wait_until="networkidle")
    layout_ok(page)
    page.select_option("select[name=source]", "random_check")
    page.fill("input[name=title]", title)
    page.select_option("select[name=severity]", "major")
    page.fill("textarea[name=description]", "Extinguisher B2-03 expired in March")
    page.fill("textarea[name=verification_standard]", "Every extinguisher within its date")
    page.select_option("form.nc-form select[name=owner]",
                       label="赵负责 Zhao (Action Owner) (owner)")
    page.click("form.nc-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/nonconformances/" in page.url and title in page.locator("h1").inner_text()
    assert state_badge(page) == "Issued to the owner"
    nc_url = page.url
    layout_ok(page)

    # The owner finds it in "My actions" and works through it.
    log_in(page, "owner")
    page.goto("/my-actions", wait_until="networkidle")
    layout_ok(page)
    page.locator(".nc-todos a", has_text=title).first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == nc_url
    transition(page, "containment")  # nothing typed: refused, the page says what is missing
    assert page.locator(".alert-error").first.is_visible()
    transition(page, "containment", {"containment": "Replaced it with a new one"})
    assert state_badge(page) == "Contained"
    transition(page, "root_cause",
               {"root_cause": "Nobody checks the dates", "why1": "Not in the round",
                "similar_elsewhere": "Checked B1 and B3: fine"},
               {"cause_category": "method"})
    assert state_badge(page) == "Root cause found"
    add = page.locator("form[action$='/actions']")
    add.locator("select[name=kind]").select_option("corrective")
    add.locator("textarea[name=description]").fill("Add extinguisher dates to the monthly round")
    add.locator("input[name=due_date]").fill((clock.today() + timedelta(days=14)).isoformat())
    add.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".nc-actions").inner_text().count("monthly round") == 1
    transition(page, "action_plan")
    assert state_badge(page) == "Plan submitted"
    layout_ok(page)

    # The quality manager approves the plan from "My actions"; the dashboard counts it.
    log_in(page, "quality_manager")
    page.goto("/my-actions", wait_until="networkidle")
    page.locator(".nc-todos a", has_text=title).first.click()
    page.wait_for_load_state("networkidle")
    transition(page, "implementing", {"comment": "Good"})  # approving starts the work
    assert state_badge(page) == "Implementing"
    page.goto("/dashboard", wait_until="networkidle")
    assert int(page.locator("#kpi-open").inner_text()) >= 1
    assert page.locator("svg.nc-stack").is_visible()
    layout_ok(page)

    # The owner implements and asks for verification.
    log_in(page, "owner")
    page.goto(nc_url, wait_until="networkidle")
    done = page.locator("form.nc-inline-form:has(input[name=op][value=done])")
    done.locator("input[name=note]").fill("Round sheet updated")
    done.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    transition(page, "verification")
    assert state_badge(page) == "Awaiting verification"
    assert page.locator("input[name=to][value=closed]").count() == 0  # never their own

    # The quality manager verifies and closes; the history shows every step.
    log_in(page, "quality_manager")
    page.goto(nc_url, wait_until="networkidle")
    transition(page, "closed", {"verification_note": "All dates fine on 3 checks"})
    assert state_badge(page) == "Closed"
    history = page.locator(".history").inner_text()
    for step in ("issued the NC", "recorded the containment", "recorded the root cause",
                 "submitted the action plan", "approved the plan",
                 "verified the actions as effective and closed the NC"):
        assert step in history
    for code in ("approve_plan", "verify_effective", "root_cause", "plan_approved_by"):
        assert code not in history  # read as words, never as stored codes
    layout_ok(page)
    page.goto("/nonconformances?state=closed", wait_until="networkidle")
    assert page.locator(".nc-list a", has_text=title).count() == 1
    layout_ok(page)
