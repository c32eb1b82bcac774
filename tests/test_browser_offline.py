"""A day in a basement: the inspection form on a phone and a tablet with no network,
through a reload and a browser restart, back online with every answer and photo; a
conflicting edit from another device; a session that ends mid-form; the run bar, the
keyboard, and the form without JavaScript.

Each device is a persistent Chromium profile (Debian's chromium, never a downloaded
one), so that what a restart keeps is what a real browser keeps: the service worker's
registration, its caches and IndexedDB. A browser that restores its session keeps the
session cookie too; the test hands it back, as such a browser would.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import log_in
from tests.conftest import CHROMIUM
from tests.support import jpeg_bytes

# serial: a sync within 3 s is part of what is tested; another worker's load would blur it
pytestmark = [pytest.mark.browser, pytest.mark.serial]

SIZES = {"phone": {"width": 360, "height": 740}, "tablet": {"width": 1024, "height": 768}}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NUMBERS = {"UP1.01": "230", "UP1.02": "229", "UP1.03": "231", "UP1.04": "50", "UP1.05": "230",
           "UP1.06": "30"}
CHOICES = {"UP2.02": "pass", "UP2.03": "pass", "UP2.06": "pass", "UP2.07": "yes"}


class Device:
    """One browser profile on disk; start() and stop() are a browser start and quit."""

    def __init__(self, chromium: Any, base_url: str, profile: Path, size: str) -> None:
        self.chromium, self.base_url, self.profile, self.size = chromium, base_url, profile, size
        self.context: Any = None
        self.errors: list[str] = []

    def start(self, offline: bool = False) -> Any:
        self.context = self.chromium.launch_persistent_context(
            str(self.profile), executable_path=CHROMIUM, args=ARGS, viewport=SIZES[self.size],
            base_url=self.base_url, offline=offline)
        page = self.context.pages[0] if self.context.pages else self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.errors.append(msg.text)
                if msg.type == "error"
                and not msg.text.startswith(("Failed to load resource", "htmx:")) else None)
        page.on("dialog", lambda dialog: dialog.accept())  # "leave with changes unsent?"
        return page

    def stop(self) -> dict[str, Any]:
        state = self.context.storage_state()
        self.context.close()
        return dict(state)


@pytest.fixture
def device(browser: Any, live_server: str, tmp_path: Path) -> Iterator[Any]:
    """Devices with their own profiles, on the session's Playwright (one driver a thread)."""
    made: list[Device] = []

    def make(size: str) -> Device:
        made.append(Device(browser.browser_type, live_server, tmp_path / f"profile-{len(made)}",
                           size))
        return made[-1]

    yield make
    for d in made:
        if d.context is not None:
            with contextlib.suppress(Exception):  # closed by the test already
                d.context.close()
    for d in made:
        assert not d.errors, f"browser errors: {d.errors}"


def new_ups(live_server: str, token: str) -> str:
    """A UPS of its own for a test (the demo's are other tests'): due for the engineer, as
    the demo's UPS schedule is theirs by category."""
    code = f"UPS-T-{secrets.token_hex(3).upper()}"
    response = httpx.post(f"{live_server}/api/v1/assets", json={
        "code": code, "name": "Test UPS", "category": "ups", "department": "OPS"},
        headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 201, response.text
    return code


def item(page: Any, item_id: str) -> Any:
    return page.locator(f"[id='item-{item_id}']")


def open_inspection(page: Any, code: str) -> str:
    """The engineer's flow: the asset's QR link, log in, start (or continue) its inspection."""
    page.goto(f"/a/{code}", wait_until="networkidle")
    log_in(page, "engineer")
    page.click("button.lang[value=en]")
    page.wait_for_load_state("networkidle")
    resume = page.locator("a.button[href^='/audits/']")
    if resume.count():
        resume.first.click()
    else:
        page.locator("form[action$='/inspections'] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/audits/\d+$"))
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    page.wait_for_function(
        "() => document.getElementById('offline-state').textContent.includes('On this device')",
        timeout=20000)
    return str(page.url)


def answer_offline(page: Any, photo: Path) -> None:
    for item_id, value in NUMBERS.items():
        box = item(page, item_id).locator("input[type=number]")
        box.fill(value)
        box.press("Tab")
    for item_id, value in CHOICES.items():
        item(page, item_id).locator(f"label.choice-{value}").click()
    item(page, "UP3.01").locator("input.photo-input").set_input_files([str(photo), str(photo)])
    page.wait_for_function("() => document.querySelectorAll('li.pending img').length === 2")


def shown_offline(page: Any) -> None:
    """The form from the device, with what was answered on it."""
    page.wait_for_function("() => document.getElementById('run').dataset.shown")
    for item_id, value in NUMBERS.items():
        assert item(page, item_id).locator("input[type=number]").input_value() == value
    for item_id, value in CHOICES.items():
        assert item(page, item_id).locator(f"input[value={value}]").is_checked(), item_id
    page.wait_for_function("() => document.querySelectorAll('li.pending img').length === 2")
    assert "12 changes waiting" in page.inner_text("#outbox-status")


def stored(live_server: str, token: str, audit: str) -> dict[str, Any]:
    response = httpx.get(f"{live_server}/api/v1/audits/{audit}",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def all_there(body: dict[str, Any]) -> bool:
    answers = body["answers"]
    return (all(answers.get(k, {}).get("value") == float(v) for k, v in NUMBERS.items())
            and all(answers.get(k, {}).get("value") == v for k, v in CHOICES.items())
            and len(body["photos"].get("UP3.01", [])) == 2)


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_a_day_without_network_loses_nothing(
    device: Any, live_server: str, live_token: str, tmp_path: Path, size: str
) -> None:
    photo = tmp_path / "ups.jpg"
    photo.write_bytes(jpeg_bytes(3000, 2000, (90, 110, 90)))
    phone = device(size)
    page = phone.start()
    url = open_inspection(page, new_ups(live_server, live_token))
    audit = url.rsplit("/", 1)[1]

    phone.context.set_offline(True)
    answer_offline(page, photo)
    page.reload(wait_until="domcontentloaded")  # offline: the form comes from the device
    assert page.title().startswith("UPS"), page.title()
    shown_offline(page)

    state = phone.stop()  # quit the browser, offline, with everything unsent
    page = phone.start(offline=True)
    phone.context.add_cookies(state["cookies"])
    page.goto(url, wait_until="domcontentloaded")
    shown_offline(page)
    assert not stored(live_server, live_token, audit)["answers"]  # nothing reached the server

    began = time.monotonic()
    phone.context.set_offline(False)
    while not all_there(body := stored(live_server, live_token, audit)):
        assert time.monotonic() - began < 3, body
        time.sleep(0.1)
    synced = time.monotonic() - began
    print(f"\n{size}: 10 answers and 2 photos stored {synced:.2f} s after the network returned")
    page.wait_for_function("() => !document.querySelector('li.pending')")
    page.wait_for_function(
        "() => document.querySelectorAll(\"[id='item-UP3.01'] .thumbs img\").length === 2")
    assert item(page, "UP1.01").locator("input[type=number]").input_value() == "230"
    kept = page.evaluate("run => window.Auditrail.takeOffline(run).then(r => r.bytes)",
                         int(audit))
    print(f"{size}: the run kept on the device (page, sections, 2 thumbnails): "
          f"{kept / 1024:.0f} kB")
    assert kept < 512 * 1024


@pytest.mark.parametrize("size", ["tablet"])
def test_a_conflict_made_meanwhile_shows_both_values(
    device: Any, live_server: str, live_token: str, size: str
) -> None:
    tablet = device(size)
    page = tablet.start()
    url = open_inspection(page, new_ups(live_server, live_token))
    audit = url.rsplit("/", 1)[1]
    first = page.evaluate("() => [...document.querySelectorAll('#run li.item')]"
                          ".find(li => li.querySelector('label.choice-pass')).dataset.item")
    tablet.context.set_offline(True)
    item(page, first).locator("label.choice-pass").click()
    # meanwhile the quality manager's device saves the same item
    response = httpx.put(f"{live_server}/api/v1/audits/{audit}/answers/{first}",
                         json={"value": "fail", "base_version": 0},
                         headers={"Authorization": f"Bearer {live_token}"}, timeout=10)
    assert response.status_code == 200, response.text
    tablet.context.set_offline(False)
    conflict = item(page, first).locator(".conflict")
    conflict.wait_for(timeout=5000)
    assert conflict.locator(".their-value").inner_text() == "fail"
    assert conflict.locator(".my-value").inner_text() == "pass"
    assert stored(live_server, live_token, audit)["answers"][first]["value"] == "fail"
    conflict.locator("button", has_text="Keep mine").click()
    page.wait_for_function("() => !document.querySelector('.conflict')")
    began = time.monotonic()
    while stored(live_server, live_token, audit)["answers"][first]["value"] != "pass":
        assert time.monotonic() - began < 5
        time.sleep(0.1)


@pytest.mark.parametrize("size", ["phone"])
def test_a_session_that_ends_mid_form_loses_nothing(
    device: Any, live_server: str, live_token: str, size: str
) -> None:
    phone = device(size)
    page = phone.start()
    url = open_inspection(page, new_ups(live_server, live_token))
    audit = url.rsplit("/", 1)[1]
    target = page.evaluate("() => [...document.querySelectorAll('#run li.item')]"
                           ".find(li => li.querySelector('label.choice-pass')).dataset.item")
    phone.context.clear_cookies()  # the session has ended (expired, or logged out elsewhere)
    item(page, target).locator("label.choice-pass").click()
    dialog = page.locator("#reauth-dialog")
    dialog.wait_for(state="visible", timeout=5000)
    assert page.url == url  # still on the form, not sent to the login page
    assert "kept on this device" in item(page, target).locator(".save-state").inner_text()
    dialog.locator("input[name=password]").fill("demo")
    dialog.locator("button[value=login]").click()
    began = time.monotonic()
    while stored(live_server, live_token, audit)["answers"].get(target, {}).get("value") != "pass":
        assert time.monotonic() - began < 5
        time.sleep(0.1)
    assert page.url == url
    page.wait_for_function(f"() => document.getElementById('item-{target}')"
                           ".querySelector('.save-state').textContent.includes('Saved')")


FILL_OFFLINE = """() => {
  // every visible item answered as passing, as an engineer would with no network
  const fire = (el) => el.dispatchEvent(new Event('change', {bubbles: true}));
  for (const li of document.querySelectorAll('#run li.item:not([hidden])')) {
    const pass = li.querySelector('input[value=pass], input[value=yes]');
    const first = li.querySelector('.choice-col input[type=radio]');
    const number = li.querySelector('input[type=number]');
    const text = li.querySelector('textarea[name=value]');
    const date = li.querySelector('input[type=date]');
    if (pass) { pass.checked = true; fire(pass); }
    else if (first) { first.checked = true; fire(first); }
    else if (number) {
      const low = parseFloat(number.dataset.min || '0');
      const high = parseFloat(number.dataset.max || String(low + 2));
      number.value = String((low + high) / 2); fire(number);
    }
    else if (text) { text.value = 'ok'; fire(text); }
    else if (date) { date.value = '2026-11-20'; fire(date); }
  }
}"""


@pytest.mark.parametrize("size", ["phone"])
def test_signing_offline_submits_when_back_online(
    device: Any, live_server: str, live_token: str, tmp_path: Path, size: str
) -> None:
    photo = tmp_path / "rack.jpg"
    photo.write_bytes(jpeg_bytes(1600, 1200, (60, 60, 60)))
    phone = device(size)
    page = phone.start()
    url = open_inspection(page, new_ups(live_server, live_token))
    audit = url.rsplit("/", 1)[1]
    phone.context.set_offline(True)
    page.evaluate(FILL_OFFLINE)
    for li in page.locator("#run li.item[data-type=photo]").all():
        li.locator("input.photo-input").set_input_files(str(photo))
    for li in page.locator("#run li.item[data-type=signature]").all():
        canvas = li.locator("canvas.signature-pad")
        canvas.scroll_into_view_if_needed()
        area = canvas.bounding_box()
        page.mouse.move(area["x"] + 20, area["y"] + 30)
        page.mouse.down()
        page.mouse.move(area["x"] + 200, area["y"] + 80, steps=8)
        page.mouse.up()
        li.locator("button.signature-save").click()
    page.click("#review-link")  # offline: sign here, submit later
    sign = page.locator("#sign-dialog")
    sign.wait_for(state="visible")
    sign.locator("input[name=password]").fill("demo")
    sign.locator("button[value=sign]").click()
    banner = page.locator("#ready-banner")
    assert "NOT yet submitted" in banner.inner_text()
    assert stored(live_server, live_token, audit)["status"] == "in_progress"
    phone.context.set_offline(False)
    # an inspection: the engineer sees the confirmation and the next due asset
    page.wait_for_url(re.compile(r"/audits/\d+\?submitted=1"), timeout=15000)
    body = stored(live_server, live_token, audit)
    assert body["status"] == "submitted" and body["signer"], body
