"""Helpers for the browser tests (Playwright pages on the live server)."""

from __future__ import annotations

from typing import Any


def log_in(page: Any, user: str, password: str = "demo") -> None:
    """Log in through the form: the one on this page (where a protected page sent us,
    so that we return there), else the login page's."""
    if not page.locator("input[name=login]").count():
        page.goto("/login", wait_until="networkidle")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state("networkidle")


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def small_touch_targets(page: Any) -> list[str]:
    """Visible controls smaller than 44x44 CSS px (links inside running text excepted)."""
    return list(page.evaluate("""() => [...document.querySelectorAll('a, button, summary, select')]
        .filter(el => el.offsetParent !== null && !el.closest('p, dd, .card-meta'))
        .filter(el => { const r = el.getBoundingClientRect();
                        return r.height < 44 || r.width < 44; })
        .map(el => el.outerHTML.slice(0, 80))"""))
