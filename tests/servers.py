"""Real server processes for tests that need more than one (`auditrail serve` as an
operator starts it), on one database: SQLite in a shared data dir, or a PostgreSQL
database of their own when AUDITRAIL_TEST_POSTGRES is set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.core.settings import PROJECT_ROOT
from tests.conftest import PG_ADMIN_URL, _free_port, _pg_admin, _pg_url


@contextmanager
def shared_database(root: Path) -> Iterator[dict[str, str]]:
    """The environment of servers that share one database and data dir (demo data)."""
    env = {**os.environ, "AUDITRAIL_DATA_DIR": str(root / "data"), "AUDITRAIL_DEMO": "1",
           "AUDITRAIL_SECRET_KEY": secrets.token_urlsafe(32)}
    env.pop("AUDITRAIL_DATABASE_URL", None)
    name = None
    if PG_ADMIN_URL:
        name = f"auditrail_procs_{secrets.token_hex(4)}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
        env["AUDITRAIL_DATABASE_URL"] = _pg_url(PG_ADMIN_URL, name)
    try:
        yield env
    finally:
        if name:
            _pg_admin(PG_ADMIN_URL or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serving(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """`auditrail serve ARGS` on a free port until the block ends; yields its URL."""
    port = _free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
