"""Test fixtures: the real app over HTTP on a real database.

Each test module gets a database of its own, copied from a template that is migrated
and holds the checklists and the demo data (built once per session): on SQLite a copy
of the file, on PostgreSQL (AUDITRAIL_TEST_POSTGRES set by `make test`) a database
created from the template one and dropped after the module. Tests of one module share
its database, so none may count on what another test of the module did or did not do.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from server.core.settings import PROJECT_ROOT, Settings
from tests.support import run_coroutine

if TYPE_CHECKING:
    from litestar import Litestar

PG_ADMIN_URL = os.environ.get("AUDITRAIL_TEST_POSTGRES")
DB_FIXTURES = {"settings", "client", "run", "live_server", "as_user", "api", "all_types",
               "template"}
_SESSION = secrets.token_hex(4)  # names this session's PostgreSQL databases
_MODULES = itertools.count(1)
LIVE_ENV: dict[str, str] = {}  # the environment the live server runs in


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def _pg_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _pg_admin(admin_url: str, sql: str) -> None:
    """Run one admin statement."""
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_coroutine(execute)


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    """Rule functions called directly in tests speak English unless a test says otherwise
    (requests over HTTP choose their own language, as in real use)."""
    from server.core import i18n

    token = i18n.current_language.set("en")
    yield
    i18n.current_language.reset(token)


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """What every database of the session shares (the secret key, the checklist library);
    its database is the template the module databases are copied from."""
    data_dir = tmp_path_factory.mktemp("template")
    return Settings.from_env({
        "AUDITRAIL_DATA_DIR": str(data_dir),
        "AUDITRAIL_DEMO": "1",
        "AUDITRAIL_SECRET_KEY": "test-secret-" + secrets.token_hex(8),
        "AUDITRAIL_CHECKLISTS_DIR": str(PROJECT_ROOT / "checklists"),
    })


@dataclass(frozen=True)
class Template:
    settings: Settings
    log: tuple[str, ...]  # what prepare() said while building it


def _build(settings: Settings) -> tuple[str, ...]:
    """Migrate, sync the checklists and load the demo data as `auditrail serve` does,
    then close every connection: PostgreSQL copies a template only when nobody is in it,
    and a closed SQLite file has its write-ahead log folded in."""
    from server import runtime
    from server.cli import prepare
    from server.db import engine as db

    log: list[str] = []

    async def main() -> None:
        await db.start(settings)
        try:
            await prepare(settings, log.append)
        finally:
            await db.stop()

    runtime.configure(settings)
    run_coroutine(main)
    if settings.engine == "sqlite":
        with closing(sqlite3.connect(settings.sqlite_path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return tuple(log)


@pytest.fixture(scope="session")
def template(session_settings: Settings) -> Iterator[Template]:
    """A migrated database with the checklists and the demo data, built once."""
    settings, name = session_settings, None
    if PG_ADMIN_URL:
        name = f"auditrail_tpl_{_SESSION}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
        settings = replace(settings, database_url=_pg_url(PG_ADMIN_URL, name))
    try:
        yield Template(settings, _build(settings))
    finally:
        if name and PG_ADMIN_URL:
            _pg_admin(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(settings.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def settings(template: Template, request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """This module's own database and data dir (photos), copied from the template: tests
    of one module share them, no module sees another's."""
    source = template.settings
    data_dir = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    # the demo's photos, and on SQLite the database file itself
    shutil.copytree(source.data_dir, data_dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    name = None
    if PG_ADMIN_URL:
        name = f"auditrail_mod_{_SESSION}_{next(_MODULES)}"
        copied = source.database_url.rsplit("/", 1)[1]
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{name}" TEMPLATE "{copied}"')
        url = _pg_url(PG_ADMIN_URL, name)
    else:
        url = f"sqlite:///{data_dir / source.sqlite_path.name}"
    try:
        yield replace(source, data_dir=data_dir, database_url=url)
    finally:
        if name and PG_ADMIN_URL:
            _pg_admin(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def _app(template: Template) -> Litestar:
    """One app for the session (templates compile once); each module points it at its own
    database."""
    from server.app import create_app

    return create_app(template.settings)


@pytest.fixture(scope="module")
def _module_client(_app: Litestar, settings: Settings) -> Iterator[TestClient[Any]]:
    """The app on this module's database. Its lifespan opens the database's connections
    and closes them when the module is done."""
    from server import runtime
    from server.accounts import identity, tokens
    from server.accounts.ratelimit import LoginLimiter
    from server.checklists import store

    # What the process remembers of the previous module's database goes with it.
    identity._cache.clear()
    tokens._cache.clear()
    store._cache.clear()  # test checklists of one key and version differ between modules
    runtime.configure(settings)
    _app.state.settings = settings
    _app.state.login_limiter = LoginLimiter()
    with TestClient(_app, base_url="http://testserver.local") as client:
        yield client


@pytest.fixture
def run(_module_client: TestClient[Any]) -> Callable[..., Any]:
    """Run a coroutine function on the app's event loop (where its DB pool lives)."""

    def call(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return _module_client.blocking_portal.call(fn, *args)

    return call


@pytest.fixture
def client(_module_client: TestClient[Any], run: Callable[..., Any]) -> TestClient[Any]:
    """The app's test client, logged out, with no login failures counted yet."""
    from server.accounts.tables import LoginAttempt

    run(LoginAttempt.delete(force=True).run)  # throttling state of the test before
    _module_client.cookies.clear()
    _module_client.headers.pop("authorization", None)
    return _module_client


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


@pytest.fixture
def smtp() -> Iterator[tuple[Any, int]]:
    """A real local SMTP server (aiosmtpd): its inbox and port."""
    from aiosmtpd.controller import Controller

    from tests.test_findings_support import Inbox

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def live_server(session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
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
        "AUDITRAIL_SECRET_KEY": session_settings.secret_key,
        "AUDITRAIL_CHECKLISTS_DIR": str(library),
    }
    db_name = None
    if PG_ADMIN_URL:
        db_name = f"auditrail_live_{secrets.token_hex(4)}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{db_name}"')
        env["AUDITRAIL_DATABASE_URL"] = _pg_url(PG_ADMIN_URL, db_name)
    LIVE_ENV.update(env)
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


@pytest.fixture(scope="session")
def live_token(live_server: str) -> str:
    """A bearer token of the live server's quality manager (the CLI, as an admin would)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "server.cli", "users", "token",
                           "quality_manager"], env=LIVE_ENV, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


CHROMIUM = os.environ.get("AUDITRAIL_CHROMIUM", "/usr/bin/chromium")
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "tablet": {"width": 1024, "height": 768}}


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
