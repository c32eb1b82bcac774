"""Day one of a real quality department, on a fresh installation without demo data:
`auditrail init` makes the first administrator, who sets up a department, people of
every new role and a project with its manager; the quality manager plans an audit; the
project manager does the project's routine check. Once through the API, once in a real
browser at tablet size."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core import clock
from server.core.settings import PROJECT_ROOT
from tests.browser import log_in
from tests.conftest import PG_ADMIN_URL, VIEWPORTS, _free_port, _pg_admin, _pg_url

pytestmark = pytest.mark.db
ADMIN_PASSWORD = "first-admin-1"
PASSWORD = "long-enough-1"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """`auditrail serve` on a new database with no demo data and no user."""
    port = _free_port()
    env = {**os.environ, "AUDITRAIL_DATA_DIR": str(tmp_path_factory.mktemp("fresh")),
           "AUDITRAIL_PORT": str(port), "AUDITRAIL_DEMO": "0",
           "AUDITRAIL_SECRET_KEY": secrets.token_hex(16),
           "AUDITRAIL_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("AUDITRAIL_CHECKLISTS_DIR", None)
    db_name = None
    if PG_ADMIN_URL:
        db_name = f"auditrail_fresh_{secrets.token_hex(4)}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{db_name}"')
        env["AUDITRAIL_DATABASE_URL"] = _pg_url(PG_ADMIN_URL, db_name)
    log_path: Path = tmp_path_factory.mktemp("fresh-log") / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            yield url, env
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            if db_name and PG_ADMIN_URL:
                _pg_admin(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    assert "demo data loaded" not in log_path.read_text()


def test_a_fresh_install_starts_with_nobody_but_the_first_admin(
        fresh: tuple[str, dict[str, str]]) -> None:
    url, env = fresh
    page = httpx.get(f"{url}/login")
    assert "has no users yet" in page.text or "尚无用户" in page.text
    made = cli(env, "init", "--login", "admin", "--name", "First Admin",
               "--password", ADMIN_PASSWORD)
    assert made.returncode == 0, made.stderr
    again = cli(env, "init", "--login", "admin2", "--name", "x", "--password", ADMIN_PASSWORD)
    assert again.returncode == 1 and ("set up already" in again.stderr
                                      or "已完成初始设置" in again.stderr)
    assert httpx.get(f"{url}/setup").status_code == 404  # gone once someone exists
    demo = httpx.post(f"{url}/login", data={"login": "admin", "password": "demo"})
    assert demo.status_code in (401, 403)  # no demo users, no demo password


def test_day_one_through_the_api(fresh: tuple[str, dict[str, str]]) -> None:
    url, env = fresh
    token = cli(env, "users", "token", "admin").stdout.strip()
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    unit = admin.post("/api/v1/org-units", json={"code": "API-OPS", "name_zh": "运维部",
                                                 "name_en": "O&M"})
    assert unit.status_code == 201, unit.text
    people = {"api-pm": [], "api-qm": ["quality_manager"], "api-aud": ["auditor"],
              "api-rep": ["management_rep"], "api-qs": ["quality_specialist"],
              "api-head": [f"department_head@unit:{unit.json()['id']}"]}
    ids = {}
    for login, roles in people.items():
        made = admin.post("/api/v1/users", json={"login": login, "name": login,
                                                 "password": PASSWORD, "roles": roles})
        assert made.status_code == 201, made.text
        ids[login] = made.json()["id"]
    project = admin.post("/api/v1/projects", json={
        "code": "API-P1", "name_zh": "项目一", "name_en": "Project one",
        "department": "API-OPS", "manager": ids["api-pm"]})
    assert project.status_code == 201, project.text
    qm = httpx.Client(base_url=url, headers={
        "Authorization": f"Bearer {cli(env, 'users', 'token', 'api-qm').stdout.strip()}"})
    planned = qm.post("/api/v1/audits", json={"checklist": "org.personnel",
                                              "org_unit": unit.json()["id"]})
    assert planned.status_code == 201, planned.text
    pm = httpx.Client(base_url=url, headers={
        "Authorization": f"Bearer {cli(env, 'users', 'token', 'api-pm').stdout.strip()}"})
    due = pm.get("/api/v1/me").json()
    assert due["roles"] == ["project_manager"]
    check = pm.post("/api/v1/audits", json={"checklist": "project.routine_check",
                                            "project": project.json()["id"]})
    assert check.status_code == 201, check.text
    run = check.json()["id"]
    answers = {"RC1.01": 96, "RC1.02": "no", "RC2.01": "yes", "RC2.02": "yes",
               "RC2.03": "yes", "RC2.04": 4, "RC3.01": "yes", "RC3.02": "yes"}
    for item, value in answers.items():
        saved = pm.put(f"/api/v1/audits/{run}/answers/{item}", json={"value": value})
        assert saved.status_code == 200, (item, saved.text)
    refused = pm.post(f"/api/v1/audits/{run}/submit")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["missing"] == ["RC3.04"]  # the signature


def item(page: Any, item_id: str) -> Any:
    return page.locator(f"[id='item-{item_id}']")


def answered(page: Any, item_id: str, act: Any) -> None:
    with page.expect_response(lambda r: r.url.endswith(f"/answers/{item_id}")
                              and r.request.method == "POST", timeout=15000):
        act()
    page.wait_for_timeout(80)


@pytest.mark.browser
def test_day_one_in_the_browser(browser: Any, fresh: tuple[str, dict[str, str]]) -> None:
    url, env = fresh
    if cli(env, "users", "token", "admin").returncode != 0:  # this test may run alone
        assert cli(env, "init", "--login", "admin", "--name", "First Admin",
                   "--password", ADMIN_PASSWORD).returncode == 0
    context = browser.new_context(viewport=VIEWPORTS["tablet"], base_url=url,
                                  locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500
            else None)
    page.goto("/login", wait_until="networkidle")
    log_in(page, "admin", ADMIN_PASSWORD)
    page.goto("/admin", wait_until="networkidle")
    assert page.locator("h1").inner_text() == "Setup"

    page.goto("/admin/org-units/new", wait_until="networkidle")
    page.fill("input[name=code]", "ops")
    page.fill("input[name=name_zh]", "运行维护部")
    page.fill("input[name=name_en]", "O&M Department")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/org-units/\d+$"))
    unit_id = page.url.rsplit("/", 1)[1]

    def new_user(login: str, role: str = "", unit_role: str = "") -> None:
        page.goto("/admin/users/new", wait_until="networkidle")
        page.fill("input[name=login]", login)
        page.fill("input[name=name]", login.upper())
        page.fill("input[name=password]", PASSWORD)
        if role:
            page.check(f"input[name=roles][value={role}]")
        if unit_role:
            page.select_option("select[name=grant_role]", unit_role)
            page.select_option("select[name=grant_unit]", unit_id)
        page.check("input[name=active]")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(r"/admin/users/\d+$"))

    new_user("pm")
    new_user("qm", "quality_manager")
    new_user("aud", "auditor")
    new_user("rep", "management_rep")
    new_user("qs", "quality_specialist")
    new_user("head", unit_role="department_head")
    assert ("Department head" in page.content() and "O&amp;M Department" in page.content()) \
        or "O&M Department" in page.inner_text("form")

    page.goto("/admin/projects/new", wait_until="networkidle")
    page.fill("input[name=code]", "P-1")
    page.fill("input[name=name_zh]", "项目一")
    page.fill("input[name=name_en]", "Project one")
    page.select_option("select[name=org_unit]", unit_id)
    page.select_option("select[name=manager]", label="PM (pm)")
    page.check("input[name=active]")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/projects/\d+$"))
    assert "has not been audited yet" in page.content()

    context.clear_cookies()
    page.goto("/login", wait_until="networkidle")
    log_in(page, "qm", PASSWORD)
    page.goto("/audits", wait_until="networkidle")
    page.select_option("select[name=checklist]", "org.personnel")
    page.select_option("#plan select[name=org_unit]", unit_id)
    page.select_option("select[name=lead_auditor]", label="AUD")
    page.fill("input[name=planned_date]", clock.today().isoformat())
    page.click("#plan button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".programme .card").count() == 1

    context.clear_cookies()
    page.goto("/login", wait_until="networkidle")
    log_in(page, "pm", PASSWORD)
    page.goto("/", wait_until="networkidle")
    checks = page.locator(".checks-due .check-row")
    routine = checks.filter(has_text="P-1").filter(has_text="outine")
    assert routine.count() == 1, page.inner_text("main")
    routine.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/audits/\d+$"))
    run_url = page.url
    number = item(page, "RC1.01").locator("input[type=number]")
    number.fill("96")
    answered(page, "RC1.01", lambda: number.press("Tab"))
    answered(page, "RC1.02", lambda: item(page, "RC1.02").locator("label.choice",
                                                                  has_text="No").click())
    for item_id in ("RC2.01", "RC2.02", "RC2.03", "RC3.01", "RC3.02"):
        answered(page, item_id, lambda i=item_id: item(page, i).locator("label.choice-yes")
                 .click())
    answered(page, "RC2.04", lambda: item(page, "RC2.04").locator("label.choice",
                                                                  has_text="4").click())
    canvas = item(page, "RC3.04").locator("canvas.signature-pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 20, box["y"] + 40 + (step % 3) * 15)
    page.mouse.up()
    item(page, "RC3.04").locator("button.signature-save").click()
    page.wait_for_selector("[id='item-RC3.04'] img.signature-img", timeout=20000)
    page.goto(run_url + "/submit", wait_until="networkidle")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit] >> text=Sign and submit")
    page.wait_for_load_state("networkidle")
    page.goto(run_url, wait_until="networkidle")
    assert page.locator(".big-score").count() == 1
    page.goto("/", wait_until="networkidle")
    assert page.locator(".checks-due .check-row").filter(has_text="outine").count() == 0
    page.screenshot(path=str(Path(env["AUDITRAIL_DATA_DIR"]) / "pm-home.png"), full_page=True)
    context.close()
    assert not errors, errors
