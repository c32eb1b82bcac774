"""Shared bench helpers: a real server in a subprocess on its own database, clients,
and percentile arithmetic. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("AUDITRAIL_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Server:
    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def token(self, login: str) -> str:
        return self.cli("users", "token", login).splitlines()[-1]


@contextmanager
def server(engine: str, checklists: Path | None = None, workers: int = 1) -> Iterator[Server]:
    """`auditrail serve` (the real start-up path) on a fresh SQLite file or PG database,
    with `workers` server processes."""
    data = Path(tempfile.mkdtemp(prefix="auditrail-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "AUDITRAIL_DATA_DIR": str(data),
        "AUDITRAIL_PORT": str(port),
        "AUDITRAIL_DEMO": "1",
    }
    if checklists:
        env["AUDITRAIL_CHECKLISTS_DIR"] = str(checklists)
    db = None
    if engine == "postgresql":
        db = f"auditrail_bench_{secrets.token_hex(4)}"
        asyncio.run(_pg(f'CREATE DATABASE "{db}"'))
        env["AUDITRAIL_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
    log = open(data / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {data / 'server.log'}") from None
                time.sleep(0.2)
        yield Server(url, env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        if db:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def login(client: httpx.Client, user: str, password: str = "demo") -> str:
    page = client.get("/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"login": user, "password": password, "_csrf": token, "next": "/account"}
    )
    response.raise_for_status()
    return re.search(r'name="csrf-token" content="([^"]+)"', response.text).group(1)  # type: ignore[union-attr]
