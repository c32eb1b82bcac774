"""Audit form and answer saves on a real server: form page time for 100- and 1000-item
checklists (and req/s beside the same bytes served static), answer saves p50/p99 and
saves/s at 1, 16, 64 and 100 concurrent clients on SQLite and PostgreSQL, and one save
on a 10-item vs a 1000-item checklist, through the API and through the form's autosave.

    .venv/bin/python -m bench.audit_saves [--engines sqlite,postgresql] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.harness import ROOT, login, median, percentile, server


def write_checklist(directory: Path, items: int) -> str:
    key = f"bench.items{items}"
    lines = [
        f"key: {key}",
        "version: 1",
        "kind: project_audit",
        "scope: {phase: execution}",
        f"title: {{zh-CN: 基准{items}项, en: Bench {items} items}}",
        "sections:",
    ]
    per_section = 25
    for s in range(0, items, per_section):
        lines += [
            f"  - id: S{s // per_section}",
            f"    title: {{zh-CN: 第{s // per_section}节, en: Section {s // per_section}}}",
            "    items:",
        ]
        for i in range(s, min(items, s + per_section)):
            kind = ["yes_no_na", "pass_fail", "number", "text"][i % 4]
            lines += [
                f"      - id: I{i}",
                f"        type: {kind}",
                f"        prompt: {{zh-CN: 检查项{i}, en: Check {i}}}",
                f"        guidance: {{zh-CN: 查看记录{i}, en: Look at record {i}}}",
            ]
            if kind == "number":
                lines += [
                    "        unit: {zh-CN: 摄氏度, en: °C}",
                    "        min: 18",
                    "        max: 27",
                ]
    (directory / f"{key}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return key


def value_for(i: int, variant: int) -> object:
    return [["yes", "no"], ["pass", "fail"], [20 + variant, 30], [f"note {variant}"] * 2][i % 4][
        variant % 2
    ]


async def start_audits(url: str, token: str, key: str, count: int) -> list[int]:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        ids = []
        for _ in range(count):
            r = await client.post("/api/v1/audits", json={"checklist": key})
            r.raise_for_status()
            ids.append(r.json()["id"])
        return ids


async def saves(
    url: str,
    token: str,
    audits: list[int],
    items: int,
    clients: int,
    seconds: float,
    interval: float = 0.0,
    form: tuple[dict[str, str], str] | None = None,
) -> tuple[list[float], int, int]:
    """Each client saves in a loop; with `interval`, it waits so that it sends at most one
    save per interval (an auditor answering every few seconds), else back to back.
    Through the API, or with `form` (session cookies, CSRF token) through the form's htmx
    autosave, whose response re-renders the item and the progress bar.

    The clients share one aiohttp session in this process. The generator shares the 2
    cores with the server, so it must be light: with httpx, 100 clients took so much CPU
    (in one process: seconds of self-inflicted wait; in four: half a core) that the
    figures were the generator's (100 clients at one save a second: p99 185 ms against
    35 ms with aiohttp, on the same server)."""
    latencies: list[float] = []
    errors = 0
    failures: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=clients + 4)
    headers = {"Authorization": f"Bearer {token}"}  # the API; pages go by the cookie
    if form:
        headers.update({"X-CSRF-Token": form[1], "HX-Request": "true"})
    async with aiohttp.ClientSession(
        base_url=url, headers=headers, connector=connector,
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=60),
    ) as client:
        if form:
            client.cookie_jar.update_cookies(form[0])

        async def stored_values(audit: int) -> dict[int, Any]:
            async with client.get(f"/api/v1/audits/{audit}") as r:
                answers = (await r.json())["answers"]
            return {int(k[1:]): v["value"] for k, v in answers.items()}

        # Every save changes the stored value (a save of the same value writes nothing), so
        # each client starts from what its audit holds.
        starts = await asyncio.gather(*(stored_values(audits[n % len(audits)])
                                        for n in range(clients)))

        async def worker(n: int) -> None:
            nonlocal errors
            audit = audits[n % len(audits)]
            rng = random.Random(n)
            last = starts[n]
            turn = 0
            if interval:
                await asyncio.sleep(rng.random() * interval)  # spread the clients out
            while time.perf_counter() < stop:
                started = time.perf_counter()
                i = rng.randrange(items)
                turn += 1
                while value_for(i, turn) == last.get(i):
                    turn += 1
                last[i] = value_for(i, turn)
                t0 = time.perf_counter()
                try:
                    if form:
                        request = client.post(f"/audits/{audit}/answers/I{i}",
                                              data={"value": str(last[i])})
                    else:
                        request = client.put(f"/api/v1/audits/{audit}/answers/I{i}",
                                             json={"value": last[i]})
                    async with request as r:
                        await r.read()
                        status = r.status
                except aiohttp.ClientError as exc:  # counted, not fatal: the run goes on
                    errors += 1
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                if status != 200:
                    errors += 1
                    failures[str(status)] = failures.get(str(status), 0) + 1
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))

        stop = time.perf_counter() + seconds
        await asyncio.gather(*(worker(n) for n in range(clients)))
    if failures:
        print(f"    failures: {failures}")
    return latencies, errors, len(latencies)


def form_page(url: str, audit: int, rounds: int = 15) -> tuple[float, bytes]:
    with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as client:
        login(client, "auditor")
        times = []
        body = b""
        for _ in range(rounds):
            t0 = time.perf_counter()
            r = client.get(f"/audits/{audit}")
            times.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            body = r.content
        return median(times), body


def answer_all(url: str, token: str, audit: int, items: int) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:
        for i in range(items):
            client.put(f"/api/v1/audits/{audit}/answers/I{i}",
                       json={"value": value_for(i, 1)}).raise_for_status()


async def throughput(
    url: str, path: str, cookies: httpx.Cookies | None, seconds: float, clients: int = 8
) -> float:
    done = 0
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                (await client.get(path)).raise_for_status()
                done += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    return done / seconds


def run_engine(engine: str, seconds: float, rounds: int = 3, largest: int = 1000) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-checklists-"))
    keys = {n: write_checklist(directory, n) for n in {10, 100, largest}}
    print(f"\n== {engine} ==")
    with server(engine, directory) as srv:
        token = srv.token("auditor")
        for n in (100, largest):
            (audit,) = asyncio.run(start_audits(srv.url, token, keys[n], 1))
            ms, body = form_page(srv.url, audit, 15 if largest >= 100 else 2)
            static = ROOT / "static" / f"bench-page-{n}.html"
            static.write_bytes(body)
            try:
                with httpx.Client(base_url=srv.url, timeout=60, follow_redirects=True) as c:
                    login(c, "auditor")
                    cookies = c.cookies
                dyn = asyncio.run(throughput(srv.url, f"/audits/{audit}", cookies, seconds / 2))
                sta = asyncio.run(throughput(srv.url, f"/static/{static.name}", None, seconds / 2))
            finally:
                static.unlink()
            print(
                f"form page {n:>4} items: median {ms:7.1f} ms, {len(body) / 1024:6.0f} KiB; "
                f"{dyn:6.1f} req/s vs {sta:6.1f} req/s for the same bytes static "
                f"(ratio {sta / dyn:4.1f}x)"
            )
        for n in (10, largest):
            audits = asyncio.run(start_audits(srv.url, token, keys[n], 1))
            lat, errors, count = asyncio.run(saves(srv.url, token, audits, n, 1, seconds / 2))
            print(
                f"one client, {n:>4}-item checklist: p50 {percentile(lat, 50):6.1f} ms, "
                f"p99 {percentile(lat, 99):6.1f} ms ({count} saves, {errors} errors)"
            )
        with httpx.Client(base_url=srv.url, timeout=60, follow_redirects=True) as c:
            csrf = login(c, "auditor")
            session = (dict(c.cookies.items()), csrf)
        for n in (10, largest):
            audits = asyncio.run(start_audits(srv.url, token, keys[n], 1))
            answer_all(srv.url, token, audits[0], n)
            lat, errors, count = asyncio.run(
                saves(srv.url, token, audits, n, 1, seconds / 2, form=session))
            print(
                f"form autosave, {n:>4}-item checklist, every item answered: p50 "
                f"{percentile(lat, 50):6.1f} ms, p99 {percentile(lat, 99):6.1f} ms "
                f"({count} saves, {errors} errors)"
            )
        audits = asyncio.run(start_audits(srv.url, token, keys[100], 100))
        for clients in (1, 16, 64, 100):
            lat, errors, count = asyncio.run(saves(srv.url, token, audits, 100, clients, seconds))
            print(
                f"{clients:>3} clients back to back: p50 {percentile(lat, 50):7.1f} ms, p99 "
                f"{percentile(lat, 99):7.1f} ms, {count / seconds:7.1f} saves/s, {errors} errors"
            )
        # The target (p99 <= 50 ms with 100 clients) is read at these paces: 100 people each
        # saving an answer every second is already faster than anyone fills a form. Back to
        # back, 100 clients in flight would need 2,000 saves/s for a 50 ms turn (Little's law).
        # Each pace runs in rounds: a tail is only worth quoting if it repeats.
        for path, interval in (("API", 2.0), ("API", 1.0), ("API", 0.5),
                               ("form autosave", 2.0), ("form autosave", 1.0)):
            results = []
            for _ in range(rounds):
                lat, errors, count = asyncio.run(saves(
                    srv.url, token, audits, 100, 100, seconds * 2, interval,
                    session if path == "form autosave" else None))
                results.append((percentile(lat, 50), percentile(lat, 99), count, errors))
            print(
                f"100 clients, {path}, one save each per {interval:g} s "
                f"({sum(r[2] for r in results) / (seconds * 2 * rounds):.1f} saves/s, "
                f"{sum(r[3] for r in results)} errors): p50 "
                + " / ".join(f"{r[0]:.1f}" for r in results) + " ms, p99 "
                + " / ".join(f"{r[1]:.1f}" for r in results) + " ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each paced load")
    parser.add_argument("--largest", type=int, default=1000,
                        help="items of the largest checklist (smaller only to try the script)")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        run_engine(engine, args.seconds, args.rounds, args.largest)


if __name__ == "__main__":
    main()
