"""Benchmark: an A4 QR label sheet PDF for 500 assets (target: under 5 s).

    .venv/bin/python -m bench.labels [--assets 500] [--runs 3] [--layout l7160]

Runs the same path as POST /assets/labels.pdf after the query: QR codes for every
asset (the cache emptied before each run, so every code is encoded afresh), the label
template, WeasyPrint. One warm-up run first (imports, fonts); prints the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from server.assets import labels, qr
from server.reports.pdf import render_pdf

NAMES = ["精密空调", "UPS主机", "核心交换机", "计算节点", "边界防火墙", "存储阵列"]


def assets(n: int) -> list[dict[str, str]]:
    return [
        {
            "code": f"UPS-B{i % 9}-{i:04d}",
            "name": f"{NAMES[i % len(NAMES)]}{i:03d}号 Unit {i}",
            "site": "市大数据中心A栋",
            "location": f"{i % 5 + 1}F 机柜 A{i % 20:02d}",
        }
        for i in range(n)
    ]


def one_run(rows: list[dict[str, str]], layout: str, data_dir: Path) -> tuple[float, float, int]:
    qr.matrix.cache_clear()
    started = time.perf_counter()
    context = labels.label_context(rows, "https://auditrail.example.com", layout)
    encoded = time.perf_counter()
    pdf = render_pdf("assets/labels_pdf.html", context, data_dir=data_dir, lang="zh_CN")
    done = time.perf_counter()
    return done - started, encoded - started, len(pdf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layout", default=labels.DEFAULT_LAYOUT, choices=list(labels.LAYOUTS))
    args = parser.parse_args()
    rows = assets(args.assets)
    layout = labels.LAYOUTS[args.layout]
    with tempfile.TemporaryDirectory() as tmp:
        one_run(rows[:10], args.layout, Path(tmp))  # warm-up: imports, fonts, templates
        results = [one_run(rows, args.layout, Path(tmp)) for _ in range(args.runs)]
    totals = [r[0] for r in results]
    qr_times = [r[1] for r in results]
    pages = -(-args.assets // layout.per_page)
    print(
        f"labels: {args.assets} assets, layout {args.layout} ({layout.per_page}/sheet), "
        f"{pages} pages, {results[0][2] / 1024:.0f} KiB"
    )
    print(
        f"  total   median {statistics.median(totals):.2f} s  "
        f"(runs: {', '.join(f'{t:.2f}' for t in totals)})  target < 5 s"
    )
    pdf_times = [t - q for t, q in zip(totals, qr_times, strict=True)]
    print(
        f"  QR codes median {statistics.median(qr_times):.2f} s; "
        f"PDF median {statistics.median(pdf_times):.2f} s"
    )


if __name__ == "__main__":
    main()
