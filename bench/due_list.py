"""Benchmark: the due list with 10,000 assets (and a history of 30,000 inspections).

    .venv/bin/python -m bench.due_list [--assets 10000] [--runs 5]

Builds a fresh database (SQLite in a temporary folder, or with AUDITRAIL_BENCH_POSTGRES
set to an admin URL such as postgresql://postgres@127.0.0.1:5432/test, a new PostgreSQL
database dropped afterwards), bulk-inserts the rows (benchmark data, so not
through the change log), then times: computing every due inspection, an engineer's
"Due for me", the quality manager's overdue list, and the API and page over HTTP.
Prints medians.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.core import clock
from server.core.settings import PROJECT_ROOT, Settings

CATEGORIES = ["server_room", "server", "network_device", "ups", "precision_ac", "system"]


async def _timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


async def populate(n: int, data_dir: Path) -> None:
    from server.assets.tables import Asset
    from server.audits.tables import Audit
    from server.demo import load_demo
    from server.demo.assets import load_demo_assets
    from server.org.tables import OrgUnit

    await load_demo(data_dir)
    await load_demo_assets()  # the demo's category schedules
    units = [u["id"] for u in await OrgUnit.select(OrgUnit.id)]
    batch: list[Asset] = []
    for i in range(n):
        batch.append(
            Asset(
                code=f"B-{i:05d}",
                name=f"设备{i:05d}",
                category=CATEGORIES[i % 6],
                site=f"站点{i % 7}",
                location=f"{i % 9}F",
                org_unit=units[i % len(units)],
                status="in_service" if i % 50 else "retired",
            )
        )
        if len(batch) == 1000:
            await Asset.insert(*batch)
            batch = []
    if batch:
        await Asset.insert(*batch)
    ids = [r["id"] for r in await Asset.select(Asset.id).where(Asset.code.like("B-%"))]
    now = datetime.now(UTC)
    audits: list[Audit] = []
    keys = {
        "server_room": "inspection.server_room.daily",
        "server": "inspection.server.weekly",
        "network_device": "inspection.network_device.weekly",
        "ups": "inspection.ups.weekly",
        "precision_ac": "inspection.precision_ac.weekly",
        "system": "inspection.system.full_yearly",
    }
    for index, asset_id in enumerate(ids):
        key = keys[CATEGORIES[index % 6]]
        for back in (3, 10, 17):
            when = now - timedelta(days=back + index % 5)
            audits.append(
                Audit(
                    checklist_key=key,
                    checklist_version=1,
                    kind="inspection",
                    asset=asset_id,
                    status="submitted",
                    started_at=when,
                    submitted_at=when,
                    score_percent=90.0,
                    passed=True,
                )
            )
        if len(audits) >= 900:
            await Audit.insert(*audits)
            audits = []
    if audits:
        await Audit.insert(*audits)


async def measure(runs: int) -> list[tuple[str, float, int]]:
    from server.accounts.identity import load_user
    from server.accounts.tables import User
    from server.assets import due
    from server.assets.assignment import Person

    today = clock.today()
    results = []
    seconds, items = await _timed(lambda: due.load_due(today), runs)
    results.append(("compute every due inspection (load_due)", seconds, len(items)))
    engineer = await User.select(User.id).where(User.login == "engineer").first()
    user = await load_user(engineer["id"])
    assert user is not None

    async def mine() -> list[Any]:
        return due.filter_due(
            await due.load_due(today), today, person=Person.of(user), within_days=7
        )

    seconds, chosen = await _timed(mine, runs)
    results.append(("engineer's 'Due for me' (7 days)", seconds, len(chosen)))

    async def overdue() -> list[Any]:
        return due.filter_due(await due.load_due(today), today, overdue_only=True)

    seconds, chosen = await _timed(overdue, runs)
    results.append(("quality manager's overdue list", seconds, len(chosen)))
    return results


def http_measure(settings: Settings, runs: int) -> list[tuple[str, float, int]]:
    from litestar.testing import TestClient

    from server.app import create_app

    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results = []
    with TestClient(app, base_url="http://bench.local") as client:
        from server.accounts.tables import User
        from server.accounts.tokens import issue_token
        from server.changelog.record import SYSTEM

        async def token() -> str:
            row = await User.select(User.id).where(User.login == "quality_manager").first()
            return await issue_token(row["id"], "bench", SYSTEM)

        headers = {"Authorization": "Bearer " + client.blocking_portal.call(token)}
        for label, path in (
            ("GET /api/v1/inspections/due?overdue=true", "/api/v1/inspections/due?overdue=true"),
            (
                "GET /api/v1/inspections/due?assignee=engineer&within_days=7",
                "/api/v1/inspections/due?assignee=engineer&within_days=7",
            ),
        ):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:200]
            results.append((label, statistics.median(times), response.json()["count"]))
        import re

        page = client.get("/login")
        csrf = re.search(r'name="csrf-token" content="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
        client.post(
            "/login",
            data={"login": "quality_manager", "password": "demo", "_csrf": csrf, "next": "/"},
        )
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get("/inspections/due?view=overdue")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        results.append(
            (
                "page /inspections/due?view=overdue (500 shown)",
                statistics.median(times),
                response.text.count('class="due-item'),
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from server import runtime
    from server.checklists.sync import sync_checklists
    from server.db import engine as db
    from server.db.migrate import migrate

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "AUDITRAIL_DATA_DIR": tmp,
            "AUDITRAIL_SECRET_KEY": secrets.token_hex(16),
            "AUDITRAIL_CHECKLISTS_DIR": str(PROJECT_ROOT / "checklists"),
            "AUDITRAIL_DEMO": "0",
        }
        admin_url = os.environ.get("AUDITRAIL_BENCH_POSTGRES", "")
        db_name = f"auditrail_bench_{secrets.token_hex(4)}"
        if admin_url:
            asyncio.run(_pg_admin(admin_url, f'CREATE DATABASE "{db_name}"'))
            env["AUDITRAIL_DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + db_name
        settings = Settings.from_env(env)
        runtime.configure(settings)

        async def prepare() -> list[tuple[str, float, int]]:
            await db.start(settings)
            try:
                await migrate(quiet=True)
                await sync_checklists(settings.checklists_dir)
                started = time.perf_counter()
                await populate(args.assets, settings.data_dir)
                print(
                    f"bulk insert: {args.assets} assets and {args.assets * 3} inspections "
                    f"in {time.perf_counter() - started:.1f} s ({settings.engine})"
                )
                if os.environ.get("BENCH_PROFILE"):
                    import cProfile
                    import pstats

                    from server.assets import due

                    profile = cProfile.Profile()
                    profile.enable()
                    await due.load_due(clock.today())
                    profile.disable()
                    pstats.Stats(profile).sort_stats("tottime").print_stats(15)
                return await measure(args.runs)
            finally:
                await db.stop()

        try:
            rows = asyncio.run(prepare())
            rows += http_measure(settings, args.runs)
        finally:
            if admin_url:
                asyncio.run(
                    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                )
        for label, seconds, count in rows:
            print(f"  {label:<62} median {seconds * 1000:7.0f} ms  ({count} rows)")


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
