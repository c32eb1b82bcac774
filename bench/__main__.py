"""`python -m bench` (or `make bench`): every benchmark in turn, each in its own process
so one's memory and caches do not colour the next. Figures go to stdout; copy the
ones that matter into docs/performance.md with the date and the machine."""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = [
    "bench.audit_saves",
    "bench.batch_sync",
    "bench.photo_processing",
    "bench.pdf_report",
    "bench.nc_dashboard",
    "bench.labels",
    "bench.due_list",
    "bench.workers",
]


def main(names: list[str]) -> int:
    chosen = [f"bench.{n}" if not n.startswith("bench.") else n for n in names] or BENCHMARKS
    failed = []
    for module in chosen:
        print(f"\n===== {module} =====", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", module])
        print(f"({module}: {time.perf_counter() - started:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
