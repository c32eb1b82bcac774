"""The quality dashboard and the NC register with 100,000 NCs, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.nc_dashboard [--engines sqlite,postgresql] [--ncs 100000]
                                           [--runs 15]

For each engine: `auditrail serve` on a fresh database (bench.harness.server), then
bulk-inserted rows straight into the tables (no change log: this measures reading):
300 people, 20 departments, 100 projects, 20,000 scored audits over three years,
100,000 NCs over four years and two corrective actions per NC past the root cause.
By default 6% of the NCs are open (6,000: about 70 NCs a day closed in 30-60 days,
plus a backlog), spread over the states, with a third or so overdue; 1% drafts, 4%
cancelled, the rest closed. --open-share 0.2 shows a team drowning in 20,000 open NCs.

Prints the median (and 90th percentile) of `runs` timed requests, after warm-up:
- over HTTP, logged in through the real login form: GET /dashboard (quality manager),
  with a department filter, the audit-score panel it loads after the page
  (GET /dashboard/scores), GET /nonconformances (open NCs; overdue; a deep page),
  GET /api/v1/nonconformances (all open; everything the busiest owner may see);
- in process, the data layer alone: dashboard() and register() (in read_snapshot(), as
  the handlers call them).
Target: under 150 ms each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from bench.harness import Server, login, median, percentile, server
from server.findings.policy import ACTIVE_STATES

USERS, UNITS, PROJECTS, AUDITS, ACTIONS_PER_OPEN = 300, 20, 100, 20_000, 2
ACTIVE = ACTIVE_STATES
NC_COLUMNS = (
    "ref",
    "year",
    "seq",
    "source",
    "audit",
    "project",
    "org_unit",
    "title",
    "requirement",
    "description",
    "evidence",
    "severity",
    "severity_reason",
    "state",
    "owner",
    "raised_by",
    "raised_at",
    "issued_at",
    "due_date",
    "containment",
    "root_cause",
    "cause_category",
    "five_whys",
    "similar_elsewhere",
    "verification_standard",
    "verification_note",
    "disposition",
    "concession",
    "closed_at",
    "cancel_reason",
    "recurrence_of",
    "reopen_count",
    "version",
)


def _ts(value: datetime | None, engine: str) -> Any:
    if value is None or engine == "postgresql":
        return value
    return str(value.astimezone(UTC))  # Piccolo's SQLite format


def _d(value: date | None, engine: str) -> Any:
    if value is None or engine == "postgresql":
        return value
    return value.isoformat()


def generate(
    n: int,
    engine: str,
    now: datetime,
    people: list[int],
    units: list[int],
    projects: list[int],
    audits: list[int],
    open_share: float,
    after: tuple[int, dict[int, int]] = (0, {}),
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """NC rows and action rows, deterministic (seeded). `after`: the highest NC id and
    the highest number per year already stored (the demo's NCs), to continue from."""
    first_id = after[0] + 1
    rng = random.Random(20260101)
    rows: list[dict[str, Any]] = []
    for _ in range(n):
        roll = rng.random()
        if roll < open_share:
            state = rng.choice(ACTIVE)
            raised = now - timedelta(days=rng.uniform(0, 200))
        elif roll < open_share + 0.01:
            state = "draft"
            raised = now - timedelta(days=rng.uniform(0, 20))
        elif roll < open_share + 0.05:
            state = "cancelled"
            raised = now - timedelta(days=rng.uniform(0, 1460))
        else:
            state = "closed"
            raised = now - timedelta(days=rng.uniform(30, 1460))
        severity = rng.choices(("major", "minor", "observation"), (25, 60, 15))[0]
        issued = None if state == "draft" else raised + timedelta(hours=rng.uniform(1, 72))
        plan_days, close_days = {"major": (7, 30), "minor": (30, 60)}.get(severity, (None, None))
        due = None
        if issued and plan_days and close_days:
            days = plan_days if state in ACTIVE[:4] else close_days
            due = issued.date() + timedelta(days=days)
        closed = (
            issued + timedelta(days=rng.uniform(3, 90)) if state == "closed" and issued else None
        )
        concession = None
        if state in ACTIVE and rng.random() < 0.01:
            until = now.date() + timedelta(days=rng.randint(10, 120))
            concession = json.dumps(
                {"status": "active", "until": until.isoformat(), "plan": "Agreed with the client"}
            )
            due = until
        rows.append(
            {
                "raised": raised,
                "state": state,
                "severity": severity,
                "issued": issued,
                "due": due,
                "closed": closed,
                "concession": concession,
                "owner": None if state == "draft" and rng.random() < 0.5 else rng.choice(people),
                "raised_by": rng.choice(people),
                "unit": rng.choice(units),
                "project": rng.choice(projects) if rng.random() < 0.6 else None,
                "audit": rng.choice(audits) if rng.random() < 0.7 else None,
                "reopen": 1 if state in (*ACTIVE, "closed") and rng.random() < 0.02 else 0,
                "repeat": rng.random() < 0.01,
            }
        )
    rows.sort(key=lambda r: r["raised"])
    seqs: dict[int, int] = dict(after[1])
    out = []
    for index, r in enumerate(rows):
        year = r["raised"].year
        seqs[year] = seqs.get(year, 0) + 1
        seq = seqs[year]
        source = "audit" if r["audit"] else "random_check"
        out.append(
            (
                f"NC-{year}-{seq:05d}",
                year,
                seq,
                source,
                r["audit"],
                r["project"],
                r["unit"],
                f"Bench finding {index}",
                '{"text": "Requirement"}',
                "Found on site",
                "{}",
                r["severity"],
                "",
                r["state"],
                r["owner"],
                r["raised_by"],
                _ts(r["raised"], engine),
                _ts(r["issued"], engine),
                _d(r["due"], engine),
                "",
                "",
                "",
                "[]",
                "",
                "",
                "",
                "",
                r["concession"],
                _ts(r["closed"], engine),
                "",
                (first_id + index // 2) if r["repeat"] and index > 2 else None,
                r["reopen"],
                0,
            )
        )
    actions = []
    for index, r in enumerate(rows):
        if r["state"] in ACTIVE[3:] or (r["state"] == "closed" and index % 2 == 0):
            for k in range(ACTIONS_PER_OPEN):
                due = (r["issued"] or now).date() + timedelta(days=14 + 7 * k)
                status = (
                    "done"
                    if r["state"] in ("closed", "verification")
                    else rng.choice(("open", "done"))
                )
                actions.append(
                    (
                        first_id + index,
                        rng.choice(("corrective", "preventive")),
                        "Bench action",
                        rng.choice(people),
                        _d(due, engine),
                        status,
                        _ts(r["issued"], engine),
                        "",
                    )
                )
    return out, actions


async def _pg_load(
    url: str,
    ncs: list[tuple[Any, ...]],
    actions: list[tuple[Any, ...]],
    audits: list[tuple[Any, ...]],
    people: list[tuple[Any, ...]],
    units: list[tuple[Any, ...]],
    projects: list[tuple[Any, ...]],
) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "app_user",
            records=people,
            columns=["login", "name", "email", "password_hash", "language", "active", "created_at"],
        )
        await conn.copy_records_to_table(
            "org_unit", records=units, columns=["code", "name_zh", "name_en", "active"]
        )
        await conn.copy_records_to_table(
            "project",
            records=projects,
            columns=["code", "name_zh", "name_en", "phase", "client", "active"],
        )
        await conn.copy_records_to_table(
            "audit",
            records=audits,
            columns=[
                "checklist_key",
                "checklist_version",
                "kind",
                "title",
                "org_unit",
                "project",
                "lead_auditor",
                "status",
                "submitted_at",
                "score_percent",
                "score",
                "signer_name",
                "signature_meaning",
                "created_at",
            ],
        )
        await conn.copy_records_to_table("nonconformance", records=ncs, columns=NC_COLUMNS)
        await conn.copy_records_to_table(
            "corrective_action",
            records=actions,
            columns=[
                "nc",
                "kind",
                "description",
                "owner",
                "due_date",
                "status",
                "created_at",
                "done_note",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _ph(n: int) -> str:
    return ", ".join("?" for _ in range(n))


def _sqlite_load(
    path: str,
    ncs: list[tuple[Any, ...]],
    actions: list[tuple[Any, ...]],
    audits: list[tuple[Any, ...]],
    people: list[tuple[Any, ...]],
    units: list[tuple[Any, ...]],
    projects: list[tuple[Any, ...]],
) -> None:
    conn = sqlite3.connect(path, timeout=60)
    try:
        conn.executemany(
            "INSERT INTO app_user (login, name, email, password_hash, language, active, "
            f"created_at) VALUES ({_ph(7)})",
            people,
        )
        conn.executemany(
            f"INSERT INTO org_unit (code, name_zh, name_en, active) VALUES ({_ph(4)})", units
        )
        conn.executemany(
            "INSERT INTO project (code, name_zh, name_en, phase, client, active) "
            f"VALUES ({_ph(6)})",
            projects,
        )
        conn.executemany(
            "INSERT INTO audit (checklist_key, checklist_version, kind, title, org_unit, project, "
            "lead_auditor, status, submitted_at, score_percent, score, signer_name, "
            f"signature_meaning, created_at) VALUES ({_ph(14)})",
            audits,
        )
        conn.executemany(
            f"INSERT INTO nonconformance ({', '.join(NC_COLUMNS)}) VALUES ({_ph(len(NC_COLUMNS))})",
            ncs,
        )
        conn.executemany(
            "INSERT INTO corrective_action (nc, kind, description, owner, due_date, status, "
            f"created_at, done_note) VALUES ({_ph(8)})",
            actions,
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def _add_roles(url: str, engine: str, rows: list[tuple[int, str]]) -> None:
    if engine == "postgresql":
        import asyncpg

        async def copy() -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.copy_records_to_table(
                    "user_role", records=rows, columns=["user", "role"]
                )
            finally:
                await conn.close()

        asyncio.run(copy())
        return
    with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60) as conn:
        conn.executemany('INSERT INTO user_role ("user", role) VALUES (?, ?)', rows)


async def _rows(url: str, engine: str, sql: str) -> list[tuple[Any, ...]]:
    if engine == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return list(conn.execute(sql))


async def _ids(url: str, engine: str, table: str, where: str = "") -> list[int]:
    return [r[0] for r in await _rows(url, engine, f"SELECT id FROM {table} {where} ORDER BY id")]


async def _stored_ncs(url: str, engine: str) -> tuple[int, dict[int, int]]:
    """The highest NC id and the highest number per year already stored."""
    (top,) = await _rows(url, engine, "SELECT COALESCE(MAX(id), 0) FROM nonconformance")
    years = await _rows(url, engine, "SELECT year, MAX(seq) FROM nonconformance GROUP BY year")
    return int(top[0]), {int(y): int(q) for y, q in years}


def load(srv: Server, engine: str, n: int, open_share: float) -> dict[str, Any]:
    """Bulk-insert everything; returns a few ids the measurements use."""
    url = srv.env.get("AUDITRAIL_DATABASE_URL") or (
        "sqlite:///" + srv.env["AUDITRAIL_DATA_DIR"] + "/auditrail.sqlite3"
    )
    now = datetime.now(UTC)
    stamp = _ts(now, engine)
    people = [
        (f"bench{i:03d}", f"Bench person {i}", "", "x", "", True, stamp) for i in range(USERS)
    ]
    units = [(f"B{i:02d}", f"部门{i}", f"Department {i}", True) for i in range(UNITS)]
    projects = [
        (f"PB-{i:03d}", f"项目{i}", f"Project {i}", "execution", "", True) for i in range(PROJECTS)
    ]
    started = time.perf_counter()
    loader = _pg_load if engine == "postgresql" else None
    # People, units and projects first: the NCs and audits point at them.
    if loader:
        asyncio.run(loader(url, [], [], [], people, units, projects))
    else:
        _sqlite_load(url.removeprefix("sqlite:///"), [], [], [], people, units, projects)
    person_ids = asyncio.run(_ids(url, engine, "app_user", "WHERE login LIKE 'bench%'"))
    _add_roles(url, engine, [(pid, "owner") for pid in person_ids])
    unit_ids = asyncio.run(_ids(url, engine, "org_unit", "WHERE code LIKE 'B%'"))
    project_ids = asyncio.run(_ids(url, engine, "project", "WHERE code LIKE 'PB-%'"))
    rng = random.Random(7)
    audits = []
    for i in range(AUDITS):
        kind = rng.choice(("org_audit", "project_audit", "inspection"))
        submitted = now - timedelta(days=rng.uniform(0, 1095))
        audits.append(
            (
                "org.quality_management",
                1,
                kind,
                f"Bench audit {i}",
                rng.choice(unit_ids),
                rng.choice(project_ids) if rng.random() < 0.5 else None,
                rng.choice(person_ids),
                "submitted",
                _ts(submitted, engine),
                round(rng.uniform(55, 100), 1),
                "{}",
                "",
                "",
                stamp,
            )
        )
    if loader:
        asyncio.run(loader(url, [], [], audits, [], [], []))
    else:
        _sqlite_load(url.removeprefix("sqlite:///"), [], [], audits, [], [], [])
    audit_ids = asyncio.run(_ids(url, engine, "audit"))
    ncs, actions = generate(n, engine, now, person_ids, unit_ids, project_ids, audit_ids,
                            open_share, asyncio.run(_stored_ncs(url, engine)))
    if loader:
        asyncio.run(loader(url, ncs, actions, [], [], [], []))
    else:
        _sqlite_load(url.removeprefix("sqlite:///"), ncs, actions, [], [], [], [])
    print(
        f"  loaded {len(ncs):,} NCs ({sum(1 for r in ncs if r[13] in ACTIVE):,} open), "
        f"{len(actions):,} actions, {len(audits):,} audits, {len(people)} people in "
        f"{time.perf_counter() - started:.1f} s"
    )
    busiest = Counter(r[14] for r in ncs if r[14]).most_common(1)[0][0]
    return {"url": url, "unit": unit_ids[0], "busiest_owner": busiest}


def time_http(client: httpx.Client, path: str, runs: int) -> tuple[float, float]:
    for _ in range(3):
        client.get(path).raise_for_status()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return median(times), percentile(times, 90)


async def time_calls(
    calls: dict[str, Callable[[], Awaitable[Any]]], runs: int
) -> dict[str, tuple[float, float]]:
    out = {}
    for name, call in calls.items():
        for _ in range(2):
            await call()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await call()
            times.append((time.perf_counter() - started) * 1000)
        out[name] = (median(times), percentile(times, 90))
    return out


async def snapshot(work: Awaitable[Any]) -> Any:
    from server.findings.queries import read_snapshot

    async with read_snapshot():
        return await work


def data_layer(srv: Server, ids: dict[str, Any], runs: int) -> dict[str, tuple[float, float]]:
    from server import runtime
    from server.accounts.identity import load_user
    from server.accounts.tables import User
    from server.core.clock import today
    from server.core.settings import Settings
    from server.db import engine as db
    from server.findings.dashboard import DashFilters, dashboard
    from server.findings.queries import Filters, register

    settings = Settings.from_env(srv.env)

    async def main() -> dict[str, tuple[float, float]]:
        runtime.configure(settings)
        await db.start(settings)
        try:
            qm_row = await User.select(User.id).where(User.login == "quality_manager").first()
            qm = await load_user(qm_row["id"])
            day = today()
            return await time_calls(
                {
                    "dashboard()": lambda: dashboard(DashFilters(), day),
                    # As the handlers run it: inside read_snapshot().
                    "register(active)": lambda: snapshot(
                        register(Filters(state="active"), qm, day)
                    ),
                    "register(all, overdue)": lambda: snapshot(
                        register(Filters(state="all", overdue=True), qm, day)
                    ),
                },
                runs,
            )
        finally:
            await db.stop()

    return asyncio.run(main())


def bench_engine(engine: str, n: int, runs: int, open_share: float) -> None:
    print(f"{engine}:")
    with server(engine) as srv:
        ids = load(srv, engine, n, open_share)
        results: dict[str, tuple[float, float]] = {}
        with httpx.Client(base_url=srv.url, timeout=60, follow_redirects=True) as client:
            login(client, "quality_manager")
            results["GET /dashboard"] = time_http(client, "/dashboard", runs)
            results["GET /dashboard?org_unit=…"] = time_http(
                client, f"/dashboard?org_unit={ids['unit']}", runs
            )
            results["GET /dashboard/scores (htmx panel)"] = time_http(
                client, "/dashboard/scores", runs
            )
            results["GET /nonconformances"] = time_http(client, "/nonconformances", runs)
            results["GET /nonconformances?overdue"] = time_http(
                client, "/nonconformances?state=active&overdue=true", runs
            )
            results["GET /nonconformances?state=all&page=200"] = time_http(
                client, "/nonconformances?state=all&page=200", runs
            )
        token = srv.token("quality_manager")
        with httpx.Client(
            base_url=srv.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            results["GET /api/v1/nonconformances?state=active"] = time_http(
                api, "/api/v1/nonconformances?state=active", runs
            )
        # The person who owns the most NCs: their list goes through the scope.
        busy = srv.cli("users", "token", _login_of(ids["url"], engine, ids["busiest_owner"]))
        with httpx.Client(
            base_url=srv.url,
            timeout=60,
            headers={"Authorization": f"Bearer {busy.splitlines()[-1]}"},
        ) as api:
            results["GET /api/v1/nonconformances (scoped owner)"] = time_http(
                api, "/api/v1/nonconformances", runs
            )
        results.update(data_layer(srv, ids, runs))
        data_dir = srv.env["AUDITRAIL_DATA_DIR"]
    # The harness keeps its data folder; 100,000 NCs are 70 MB of SQLite: drop them.
    shutil.rmtree(data_dir, ignore_errors=True)
    width = max(len(k) for k in results)
    for name, (p50, p90) in results.items():
        flag = "" if p50 < 150 else "  (over the 150 ms target)"
        print(f"  {name:<{width}}  median {p50:7.1f} ms   p90 {p90:7.1f} ms{flag}")


def _login_of(url: str, engine: str, user_id: int) -> str:
    sql = f"SELECT login FROM app_user WHERE id = {int(user_id)}"
    if engine == "postgresql":
        import asyncpg

        async def fetch() -> str:
            conn = await asyncpg.connect(url)
            try:
                return str(await conn.fetchval(sql))
            finally:
                await conn.close()

        return asyncio.run(fetch())
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return str(conn.execute(sql).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--ncs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--open-share", type=float, default=0.06,
                        help="Share of NCs still open (default 0.06: 6,000 of 100,000).")
    args = parser.parse_args()
    print(f"NC dashboard and register, {args.ncs:,} NCs, median of {args.runs} runs")
    for engine in args.engines.split(","):
        bench_engine(engine.strip(), args.ncs, args.runs, args.open_share)


if __name__ == "__main__":
    main()
