"""What a second server process buys: answer saves (back to back, 16 and 64 clients) and
form-page reads (8 clients) against `serve --workers 1` and `serve --workers 2`, each on
its own fresh database, the two measured in turn within each round so that both see the
same machine. The load generator shares the machine's cores with the servers.

    .venv/bin/python -m bench.workers [--engines postgresql,sqlite] [--seconds 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.audit_saves import saves, start_audits, throughput, write_checklist
from bench.harness import login, median, percentile, server

COUNTS = (1, 2)


def run_engine(engine: str, seconds: float, rounds: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-checklists-"))
    key = write_checklist(directory, 100)
    print(f"\n== {engine}: serve --workers 1 against --workers 2 ==")
    with ExitStack() as stack:
        servers = {n: stack.enter_context(server(engine, directory, workers=n)) for n in COUNTS}
        setup = {}
        for n, srv in servers.items():
            token = srv.token("auditor")
            audits = asyncio.run(start_audits(srv.url, token, key, 64))
            with httpx.Client(base_url=srv.url, timeout=60, follow_redirects=True) as c:
                login(c, "auditor")
                cookies = c.cookies
            setup[n] = (token, audits, cookies)
        figures: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for _ in range(rounds):
            for load in ("saves, 16 clients", "saves, 64 clients", "form page, 8 clients"):
                for n in COUNTS:
                    token, audits, cookies = setup[n]
                    url = servers[n].url
                    if load.startswith("saves"):
                        clients = int(load.split()[1])
                        lat, errors, count = asyncio.run(
                            saves(url, token, audits, 100, clients, seconds))
                        if errors:
                            print(f"    {errors} errors ({load}, {n} workers)")
                        figures.setdefault((load, n), []).append(
                            (count / seconds, percentile(lat, 99)))
                    else:
                        rate = asyncio.run(throughput(url, f"/audits/{audits[0]}", cookies,
                                                      seconds, clients=8))
                        figures.setdefault((load, n), []).append((rate, float("nan")))
        for load in ("saves, 16 clients", "saves, 64 clients", "form page, 8 clients"):
            one, two = figures[(load, 1)], figures[(load, 2)]
            ratios = [b[0] / a[0] for a, b in zip(one, two, strict=True) if a[0]]
            line = (f"{load:<22} per s: 1 worker {median([r[0] for r in one]):7.1f}, "
                    f"2 workers {median([r[0] for r in two]):7.1f} "
                    f"(ratio within a round, median {median(ratios):4.2f}x)")
            if load.startswith("saves"):
                line += (f"; p99 {median([r[1] for r in one]):6.1f} ms against "
                         f"{median([r[1] for r in two]):6.1f} ms")
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for engine in args.engines.split(","):
        run_engine(engine, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
