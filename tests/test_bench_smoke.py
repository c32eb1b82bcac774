"""The benchmarks still run: each at its smallest size, on SQLite, as `make bench` runs
them (a module in its own process). They print figures and assert nothing, so without
this a change elsewhere (the demo data, a function's signature) broke them unnoticed
until the next `make bench`. The figures printed here are not measurements."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.core.settings import PROJECT_ROOT

SMALLEST = {
    "audit_saves": (["--engines", "sqlite", "--seconds", "0.3", "--rounds", "1",
                     "--largest", "20"],
                    "100 clients, form autosave, one save each per 1 s"),
    "batch_sync": (["--engines", "sqlite", "--answers", "20", "--rounds", "1"],
                   "20 queued answers, one answers:batch request"),
    "nc_dashboard": (["--engines", "sqlite", "--ncs", "300", "--runs", "1"],
                     "GET /dashboard "),
    "due_list": (["--assets", "60", "--runs", "1"], "page /inspections/due?view=overdue"),
    "labels": (["--assets", "21", "--runs", "1"], "labels: 21 assets"),
    "workers": (["--engines", "sqlite", "--seconds", "0.3", "--rounds", "1"],
                "form page, 8 clients"),
}


@pytest.mark.parametrize("name", sorted(SMALLEST))
def test_benchmark_runs(name: str) -> None:
    args, expected = SMALLEST[name]
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert expected in result.stdout, result.stdout[-2000:]
    assert "Traceback" not in result.stderr
