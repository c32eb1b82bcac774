"""A device back online with a day's queued answers: 500 answers acknowledged by one
`answers:batch` request (target: under 1 s on SQLite), beside the same answers as 500
single saves, and the batch's two ways of committing (one transaction, or one per item)
measured in-process on the same database.

    .venv/bin/python -m bench.batch_sync [--engines sqlite,postgresql] [--answers 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.audit_saves import value_for, write_checklist
from bench.harness import median, server


def queued(items: int, variant: int = 0) -> list[dict[str, Any]]:
    """What a device's outbox holds after answering every item once, offline."""
    return [{"item_id": f"I{i}", "value": value_for(i, variant), "base_version": 0}
            for i in range(items)]


def start(client: httpx.Client, key: str) -> int:
    response = client.post("/api/v1/audits", json={"checklist": key})
    response.raise_for_status()
    return int(response.json()["id"])


def over_http(url: str, token: str, key: str, answers: int, rounds: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        batch_times, single_times = [], []
        for _ in range(rounds):
            audit = start(client, key)
            began = time.perf_counter()
            response = client.post(f"/api/v1/audits/{audit}/answers:batch",
                                   json={"answers": queued(answers)})
            batch_times.append(time.perf_counter() - began)
            response.raise_for_status()
            statuses = {r["status"] for r in response.json()["results"]}
            assert statuses == {200}, statuses
        audit = start(client, key)
        began = time.perf_counter()
        for entry in queued(answers):
            client.put(f"/api/v1/audits/{audit}/answers/{entry['item_id']}",
                       json={"value": entry["value"], "base_version": 0}).raise_for_status()
        single_times.append(time.perf_counter() - began)
    print(f"  {answers} queued answers, one answers:batch request: median "
          f"{median(batch_times) * 1000:.0f} ms, best {min(batch_times) * 1000:.0f} ms "
          f"({rounds} rounds, each on a new run)")
    print(f"  the same {answers} answers as single saves, one after another: "
          f"{single_times[0] * 1000:.0f} ms")


def in_process(env: dict[str, str], key: str, answers: int, rounds: int) -> None:
    """save_answers itself, committing once per batch or once per item."""
    from server import runtime
    from server.audits import service
    from server.audits.schemas import BatchAnswer
    from server.changelog.record import SYSTEM
    from server.core.settings import Settings
    from server.db import engine as db

    settings = Settings.from_env(env)
    runtime.configure(settings)

    async def measure() -> dict[bool, list[float]]:
        await db.start(settings)
        times: dict[bool, list[float]] = {True: [], False: []}
        try:
            for _ in range(rounds):
                for one in (True, False):
                    audit = await service.start_audit(key, SYSTEM)
                    entries = [BatchAnswer(**e) for e in queued(answers)]
                    began = time.perf_counter()
                    await service.save_answers(audit.id, entries, SYSTEM, one_transaction=one)
                    times[one].append(time.perf_counter() - began)
        finally:
            await db.stop()
        return times

    times = asyncio.run(measure())
    for one, label in ((True, "one transaction for the batch"),
                       (False, "one transaction per answer")):
        print(f"  save_answers in-process, {label}: median "
              f"{median(times[one]) * 1000:.0f} ms ({rounds} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--answers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    library = Path(tempfile.mkdtemp(prefix="bench-checklists-"))
    key = write_checklist(library, max(args.answers, 1))
    for engine in args.engines.split(","):
        print(f"{engine}: batch sync of {args.answers} answers")
        with server(engine, library) as srv:
            over_http(srv.url, srv.token("auditor"), key, args.answers, args.rounds)
            in_process(srv.env, key, args.answers, args.rounds)


if __name__ == "__main__":
    main()
