"""Test fixtures: the real app over HTTP on a real database.

SQLite by default; with AUDITRAIL_TEST_POSTGRES set (by `make test`), a fresh
PostgreSQL database is created for the session and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from server.settings import PROJECT_ROOT, Settings

PG_ADMIN_URL = os.environ.get("AUDITRAIL_TEST_POSTGRES")
DB_FIXTURES = {"settings", "client", "run", "live_server", "as_user", "api", "all_types"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def _pg_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _pg_admin(admin_url: str, sql: str) -> None:
    """Run one admin statement; in a thread, since Playwright may own this thread's loop."""
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, execute()).result()


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    """Rule functions called directly in tests speak English unless a test says otherwise
    (requests over HTTP choose their own language, as in real use)."""
    from server import i18n

    token = i18n.current_language.set("en")
    yield
    i18n.current_language.reset(token)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("data")
    env = {
        "AUDITRAIL_DATA_DIR": str(data_dir),
        "AUDITRAIL_DEMO": "1",
        "AUDITRAIL_SECRET_KEY": "test-secret-" + secrets.token_hex(8),
        "AUDITRAIL_CHECKLISTS_DIR": str(PROJECT_ROOT / "checklists"),
    }
    db_name = None
    if PG_ADMIN_URL:
        db_name = f"auditrail_test_{secrets.token_hex(4)}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{db_name}"')
        env["AUDITRAIL_DATABASE_URL"] = _pg_url(PG_ADMIN_URL, db_name)
    yield Settings.from_env(env)
    if db_name and PG_ADMIN_URL:
        _pg_admin(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def _session_client(settings: Settings) -> Iterator[TestClient[Any]]:
    from server.app import create_app
    from server.cli import prepare

    app = create_app(settings)
    with TestClient(app, base_url="http://testserver.local") as client:
        client.blocking_portal.call(prepare, settings, lambda _line: None)
        yield client


@pytest.fixture
def run(_session_client: TestClient[Any]) -> Callable[..., Any]:
    """Run a coroutine function on the app's event loop (where its DB pool lives)."""

    def call(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return _session_client.blocking_portal.call(fn, *args)

    return call


@pytest.fixture
def client(_session_client: TestClient[Any], run: Callable[..., Any]) -> TestClient[Any]:
    """The app's test client, with cookies cleared and test data removed."""
    from server.accounts import identity, tokens
    from server.accounts.ratelimit import LoginLimiter
    from tests.support import reset_database

    run(reset_database)
    identity._cache.clear()  # the reset rewrites demo users behind the app's back
    tokens._cache.clear()
    _session_client.app.state.login_limiter = LoginLimiter()
    _session_client.cookies.clear()
    _session_client.headers.pop("authorization", None)
    return _session_client


@pytest.fixture
def as_user(client: TestClient[Any]) -> Callable[[str], str]:
    """Log the test client in as a demo user; returns the CSRF token."""
    from tests.support import login

    def log_in(user: str) -> str:
        client.cookies.clear()
        return login(client, user)

    return log_in


@pytest.fixture
def api(client: TestClient[Any], run: Callable[..., Any]) -> Callable[[str], dict[str, str]]:
    """Authorization headers with a fresh API token for a demo user."""
    from server.accounts.tables import User
    from server.accounts.tokens import issue_token
    from server.changelog.record import SYSTEM

    async def issue(login: str) -> str:
        user = await User.objects().get(User.login == login)
        assert user is not None
        return await issue_token(user.id, "test", SYSTEM)

    def headers(login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {run(issue, login)}"}

    return headers


@pytest.fixture
def all_types(run: Callable[..., Any], client: TestClient[Any]) -> str:
    """The every-item-type test checklist, synced; returns its key."""
    from tests.support import sync_fixture_checklists

    run(sync_fixture_checklists)
    return "test.all_types"


@pytest.fixture
def checklist_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "checklists"
    directory.mkdir()
    return directory


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`auditrail serve` in a subprocess (the real start-up path) on its own database."""
    import shutil as _shutil
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    # the shipped library plus the test checklists, so browser tests can use every item type
    library = tmp_path_factory.mktemp("library") / "checklists"
    _shutil.copytree(PROJECT_ROOT / "checklists", library)
    _shutil.copytree(PROJECT_ROOT / "tests" / "fixtures" / "checklists", library / "test")
    env = {
        **os.environ,
        "AUDITRAIL_DATA_DIR": str(tmp_path_factory.mktemp("live")),
        "AUDITRAIL_PORT": str(port),
        "AUDITRAIL_DEMO": "1",
        "AUDITRAIL_SECRET_KEY": settings.secret_key,
        "AUDITRAIL_CHECKLISTS_DIR": str(library),
    }
    db_name = None
    if PG_ADMIN_URL:
        db_name = f"auditrail_live_{secrets.token_hex(4)}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{db_name}"')
        env["AUDITRAIL_DATABASE_URL"] = _pg_url(PG_ADMIN_URL, db_name)
    log = (tmp_path_factory.mktemp("live-log") / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
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
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"live server did not start; see {log.name}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        if db_name and PG_ADMIN_URL:
            _pg_admin(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


CHROMIUM = os.environ.get("AUDITRAIL_CHROMIUM", "/usr/bin/chromium")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "tablet": {"width": 1024, "height": 768}}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright; never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORTS[request.param], base_url=live_server)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused form (401, 409, 422...) or a network failure that a test provokes (htmx logs
    # "htmx:sendError") are designed outcomes; a broken asset, a script error or a 5xx is not.
    tab.on("console", lambda msg: errors.append(msg.text)
           if msg.type == "error"
           and not msg.text.startswith(("Failed to load resource", "htmx:")) else None)
    tab.on("response", lambda r: errors.append(f"{r.status} {r.url}")
           if r.status >= 500 or (r.status == 404 and "/static/" in r.url) else None)
    yield tab
    context.close()
    assert not errors, f"browser errors: {errors}"
