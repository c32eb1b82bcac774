"""Simultaneous writes with the same version: exactly one wins, the other is told (409),
and the change log holds the winners in the order they were stored. On PostgreSQL the
requests really run side by side (READ COMMITTED, a pool of connections); on SQLite the
writer queue takes them one after the other. Both must answer the same way."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from server.changelog.tables import ChangeLog
from tests.support import login

PAIRS = 50
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def race(app: Any, send: Send, rounds: int = PAIRS) -> list[tuple[int, int]]:
    """Two copies of each round's request at once; the statuses of each pair, sorted."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as ac:
        results = []
        for n in range(rounds):
            first, second = await asyncio.gather(send(ac, n), send(ac, n))
            for response in (first, second):
                assert response.status_code < 500, response.text
            results.append(tuple(sorted((first.status_code, second.status_code))))
        return results


def one_wins(statuses: list[tuple[int, int]], ok: int = 200) -> None:
    assert statuses == [(ok, 409)] * len(statuses), statuses


async def log_of(table: str, record_id: int, action: str) -> list[dict[str, Any]]:
    """The record's log rows of one action, oldest first, since the record was created:
    the log is never emptied between tests, and SQLite hands the ids of deleted test
    records out again."""
    of_record = (ChangeLog.record_table == table) & (ChangeLog.record_id == str(record_id))
    created = await ChangeLog.select(ChangeLog.id).where(
        of_record & (ChangeLog.action == "create")).order_by(ChangeLog.id, ascending=False
                                                             ).first()
    since = created["id"] if created else 0
    return await ChangeLog.select(ChangeLog.changes).where(
        of_record & (ChangeLog.action == action) & (ChangeLog.id > since)).order_by(ChangeLog.id)


async def answer_log(audit_id: int, item: str) -> list[list[Any]]:
    rows = await log_of("audit", audit_id, "answer")
    pairs = []
    for row in rows:
        changes = row["changes"] if isinstance(row["changes"], dict) else json.loads(
            row["changes"])
        if f"{item}.value" in changes:
            pairs.append(changes[f"{item}.value"])
    return pairs


def chained(pairs: list[list[Any]], final: Any) -> None:
    """Each logged change starts from the value the one before it stored."""
    for before, after in itertools.pairwise(pairs):
        assert after[0] == before[1], pairs
    assert pairs[-1][1] == final


def start_audit(client: Any, headers: dict[str, str]) -> int:
    response = client.post("/api/v1/audits", json={"checklist": "test.all_types"},
                           headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_api_answer_saves_with_one_base_version(client: Any, api: Any, run: Any,
                                               all_types: str) -> None:
    h = api("auditor")
    audit = start_audit(client, h)
    values = ["yes", "no"]

    async def send(ac: httpx.AsyncClient, n: int) -> httpx.Response:
        # Round n starts from version n: both requests offer a different value.
        return await ac.put(f"/api/v1/audits/{audit}/answers/A1", headers=h,
                            json={"value": values[n % 2], "base_version": n})

    one_wins(run(race, client.app, send))
    stored = client.get(f"/api/v1/audits/{audit}", headers=h).json()["answers"]["A1"]
    assert stored["version"] == PAIRS
    pairs = run(answer_log, audit, "A1")
    assert len(pairs) == PAIRS
    chained(pairs, stored["value"])


def test_first_answers_at_once(client: Any, api: Any, run: Any, all_types: str) -> None:
    h = api("auditor")
    audits = [start_audit(client, h) for _ in range(PAIRS)]

    async def send(ac: httpx.AsyncClient, n: int) -> httpx.Response:
        return await ac.put(f"/api/v1/audits/{audits[n]}/answers/A1", headers=h,
                            json={"value": "yes", "base_version": 0})

    one_wins(run(race, client.app, send))
    for audit in audits[:5]:
        assert run(answer_log, audit, "A1") == [[None, "yes"]]


def test_form_autosaves_with_one_base_version(client: Any, api: Any, run: Any,
                                             all_types: str) -> None:
    audit = start_audit(client, api("auditor"))
    token = login(client, "auditor")
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    headers = {"cookie": cookies, "x-csrf-token": token, "hx-request": "true"}

    async def send(ac: httpx.AsyncClient, n: int) -> httpx.Response:
        return await ac.post(f"/audits/{audit}/answers/A3", headers=headers,
                             data={"value": str(1 + n % 5), "base_version": str(n)})

    one_wins(run(race, client.app, send))
    pairs = run(answer_log, audit, "A3")
    assert len(pairs) == PAIRS
    chained(pairs, pairs[-1][1])


def drafts(client: Any, headers: dict[str, str], n: int) -> list[int]:
    made = []
    for i in range(n):
        response = client.post("/api/v1/nonconformances", headers=headers, json={
            "source": "manual", "title": f"Race {i}", "severity": "minor",
            "description": "found twice"})
        assert response.status_code == 201, response.text
        made.append(int(response.json()["id"]))
    return made


def test_nc_edits_with_one_version(client: Any, api: Any, run: Any) -> None:
    qm = api("quality_manager")
    (nc,) = drafts(client, qm, 1)

    async def send(ac: httpx.AsyncClient, n: int) -> httpx.Response:
        return await ac.patch(f"/api/v1/nonconformances/{nc}", headers=qm,
                              json={"title": f"Round {n} by {id(asyncio.current_task())}",
                                    "version": n})

    one_wins(run(race, client.app, send))
    assert client.get(f"/api/v1/nonconformances/{nc}", headers=qm).json()["version"] == PAIRS


def test_nc_transitions_with_one_version(client: Any, api: Any, run: Any) -> None:
    qm = api("quality_manager")
    owner = client.get("/api/v1/me", headers=api("owner")).json()["id"]
    ncs = drafts(client, qm, PAIRS)

    async def send(ac: httpx.AsyncClient, n: int) -> httpx.Response:
        return await ac.post(f"/api/v1/nonconformances/{ncs[n]}/transitions", headers=qm,
                             json={"to": "open", "owner": owner, "version": 0})

    one_wins(run(race, client.app, send))

    assert all(len(run(log_of, "nonconformance", nc, "issue")) == 1 for nc in ncs)
