"""An acknowledged answer survives: the SQLite connections sync every commit (FULL unless
AUDITRAIL_SQLITE_SYNCHRONOUS opts out), and a real `auditrail serve` killed with SIGKILL
in the middle of saves comes back with every answer it acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core.settings import PROJECT_ROOT, Settings
from server.db.sqlite_pool import PooledSQLiteEngine
from tests.conftest import _free_port
from tests.test_log_tamper import Deployment, new_deployment

# A checklist of free-text items, one per concurrent saver.
SAVERS = 20
CHECKLIST = "test.saves"


def write_library(directory: Path) -> Path:
    """The shipped library (the demo data needs it) plus the savers' checklist."""
    import shutil

    library = directory / "checklists"
    shutil.copytree(PROJECT_ROOT / "checklists", library)
    lines = ["key: test.saves", "version: 1", "kind: project_audit",
             "scope: {phase: execution}", "title: {zh-CN: 保存测试, en: Saves}", "sections:",
             "  - id: S", "    title: {zh-CN: 第一节, en: Section}", "    items:"]
    for n in range(1, SAVERS + 1):
        lines += [f"      - id: T{n}", "        type: text",
                  f"        prompt: {{zh-CN: 文本{n}, en: Text {n}}}"]
    (library / "test").mkdir()
    (library / "test" / "saves.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return library


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    token: str = ""

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})


@contextmanager
def serving(deployment: Deployment, library: Path, log: Path) -> Iterator[Served]:
    """`auditrail serve` (the real start-up path) on the deployment, until the block ends."""
    port = _free_port()
    env = deployment.env(AUDITRAIL_PORT=str(port), AUDITRAIL_CHECKLISTS_DIR=str(library))
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    served = Served(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(served.url + "/healthz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start; see {log}") from None
                time.sleep(0.2)
        token = deployment.cli("users", "token", "auditor")
        assert token.returncode == 0, token.stderr
        served.token = token.stdout.strip().splitlines()[-1]
        yield served
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


class Savers:
    """SAVERS clients, each saving 1, 2, 3, ... into its own item of one run as fast as the
    server answers; `acked[n]` is the last value item T<n> was acknowledged with."""

    def __init__(self, served: Served, audit: int) -> None:
        self.served, self.audit = served, audit
        self.acked = dict.fromkeys(range(1, SAVERS + 1), 0)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._save, args=(n,), daemon=True)
                         for n in range(1, SAVERS + 1)]

    def _save(self, n: int) -> None:
        with self.served.client() as client:
            value = 0
            while not self._stop.is_set():
                value += 1
                try:
                    r = client.put(f"/api/v1/audits/{self.audit}/answers/T{n}",
                                   json={"value": str(value)})
                except httpx.HTTPError as exc:  # the server went away (kill -9)
                    self.errors.append(type(exc).__name__)
                    return
                if r.status_code != 200:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")
                    return
                assert r.json()["value"] == str(value)
                self.acked[n] = value

    def __enter__(self) -> Savers:
        for thread in self._threads:
            thread.start()
        return self

    def wait_for(self, each: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while min(self.acked.values()) < each:
            assert time.monotonic() < deadline and not self.errors, self.errors
            time.sleep(0.05)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def start_run(served: Served) -> int:
    with served.client() as client:
        r = client.post("/api/v1/audits", json={"checklist": CHECKLIST})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def stored_answers(deployment: Deployment, audit: int) -> dict[int, int]:
    import json

    rows = deployment.sql(f"SELECT item_id, value FROM answer WHERE audit = {audit}")
    return {int(r["item_id"][1:]): int(json.loads(r["value"])) for r in rows
            if isinstance(r["value"], str)}


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    made = new_deployment(tmp_path / "data")
    yield made
    made.drop()


@pytest.mark.db
def test_a_killed_server_keeps_every_acknowledged_answer(
    deployment: Deployment, tmp_path: Path
) -> None:
    library = write_library(tmp_path)
    with serving(deployment, library, tmp_path / "server.log") as served:
        audit = start_run(served)
        with Savers(served, audit) as savers:
            savers.wait_for(5)
            os.kill(served.proc.pid, signal.SIGKILL)  # no shutdown, no final checkpoint
            served.proc.wait(timeout=30)
        acked = dict(savers.acked)
    assert sum(acked.values()) >= SAVERS * 5
    # Restarted on the same database: every acknowledged value (or a later one that was in
    # flight when the server died) is there.
    with serving(deployment, library, tmp_path / "server.log"):
        stored = stored_answers(deployment, audit)
        assert all(stored.get(n, 0) >= value for n, value in acked.items()), (acked, stored)
    done = deployment.cli("log", "verify")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("setting", "expected"), [(None, 2), ("NORMAL", 1), ("full", 2)])
def test_sqlite_syncs_every_commit_unless_told_otherwise(
    tmp_path: Path, setting: str | None, expected: int
) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from server.db.engine import make_engine

    env = {"AUDITRAIL_DATA_DIR": str(tmp_path)}
    if setting:
        env["AUDITRAIL_SQLITE_SYNCHRONOUS"] = setting
    settings = Settings.from_env(env)

    async def level() -> int:
        engine = make_engine(settings)
        assert isinstance(engine, PooledSQLiteEngine)
        try:  # on a pooled connection and on the writers' own connection
            read = await engine._run_in_new_connection("PRAGMA synchronous")
            conn = await engine._connect()
            written = await conn.execute_fetchall("PRAGMA synchronous")
            await conn.close()
            assert read[0]["synchronous"] == written[0]["synchronous"]
            return int(read[0]["synchronous"])
        finally:
            await engine.close_pools()

    # In a thread of its own: after the browser tests, Playwright owns this thread's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, level()).result() == expected  # 2 = FULL, 1 = NORMAL


def test_an_unknown_synchronous_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AUDITRAIL_SQLITE_SYNCHRONOUS"):
        Settings.from_env({"AUDITRAIL_DATA_DIR": str(tmp_path),
                           "AUDITRAIL_SQLITE_SYNCHRONOUS": "OFF; DROP TABLE answer"})
