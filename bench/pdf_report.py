"""How long the audit report PDF takes for a large audit: 100 items, 40 photos.

    .venv/bin/python -m bench.pdf_report [runs] [--out report.pdf]

Builds everything in a temporary SQLite data dir: migrations and the shipped checklists
(the CLI's prepare()), a generated 100-item checklist version (5 sections of 20 items of
every answerable type), an audit with an answer and a comment on every item, 40 photos
as the app stores them (2048x1536 JPEG with noise, so they compress like real photos,
plus a 320 px thumbnail) and a drawn signature. Prints the median render time of `runs`
renders (default 3) per language and the PDF size.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from server.core.settings import PROJECT_ROOT, Settings

ITEMS, SECTIONS, PHOTOS = 100, 5, 40
PHOTO_SIZE, THUMB_SIDE = (2048, 1536), 320
TYPES = ["yes_no_na", "pass_fail", "number", "single_choice", "text", "scale", "date"]


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


def make_checklist() -> dict[str, Any]:
    sections = []
    per_section = ITEMS // SECTIONS
    for s in range(1, SECTIONS + 1):
        items = []
        for i in range(1, per_section + 1):
            kind = TYPES[(s * per_section + i) % len(TYPES)]
            item: dict[str, Any] = {
                "id": f"B{s}.{i:02d}",
                "type": kind,
                "prompt": _text(
                    f"第{s}节第{i}项：检查设备标识、运行记录和现场环境是否符合要求",
                    f"Section {s} item {i}: equipment labels, run records and the site "
                    "meet the requirements",
                ),
                "critical": kind in ("yes_no_na", "pass_fail") and i % 9 == 0,
            }
            if kind == "number":
                item.update(unit=_text("摄氏度", "°C"), min=18, max=27)
            if kind == "single_choice":
                item["choices"] = [
                    {"id": "good", "label": _text("良好", "Good"), "points": 1},
                    {"id": "fair", "label": _text("一般", "Fair"), "points": 0.5},
                    {"id": "poor", "label": _text("差", "Poor"), "points": 0, "fails": True},
                ]
            items.append(item)
        sections.append(
            {
                "id": f"B{s}",
                "title": _text(f"第{s}部分 现场检查", f"Part {s}: on-site checks"),
                "items": items,
            }
        )
    return {
        "key": "bench.large",
        "version": 1,
        "kind": "project_audit",
        "scope": {"phase": "execution"},
        "title": _text("大型项目审核（基准）", "Large project audit (benchmark)"),
        "pass_threshold": 80,
        "sections": sections,
    }


def answer_for(kind: str, n: int) -> tuple[Any, str | None]:
    fail = n % 11 == 0
    return {
        "yes_no_na": ("no" if fail else "yes", "fail" if fail else "pass"),
        "pass_fail": ("fail" if fail else "pass", "fail" if fail else "pass"),
        "number": (31.5 if fail else 22.0, "fail" if fail else "pass"),
        "single_choice": ("poor" if fail else "good", "fail" if fail else "pass"),
        "text": ("机房温湿度正常，记录完整。Records complete.", None),
        "scale": (2 if fail else 4, "pass"),
        "date": ("2026-03-18", None),
    }[kind]


def make_photo(seed: int) -> tuple[bytes, bytes]:
    """A 2048x1536 JPEG that compresses like a photo, and its 320 px thumbnail."""
    width, height = PHOTO_SIZE
    grad = Image.linear_gradient("L").resize(PHOTO_SIZE)
    radial = Image.radial_gradient("L").resize(PHOTO_SIZE)
    base = Image.merge("RGB", (grad, radial, grad.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    noise = Image.effect_noise(PHOTO_SIZE, 60).filter(ImageFilter.GaussianBlur(1))
    image = Image.blend(base, Image.merge("RGB", (noise, noise, noise)), 0.4)
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x, y = (seed * 131 + i * 97) % width, (seed * 71 + i * 53) % height
        draw.rectangle((x, y, x + 300, y + 200), outline=(i * 20, 255 - i * 20, seed * 6), width=8)
    photo = io.BytesIO()
    image.save(photo, "JPEG", quality=85)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb = io.BytesIO()
    image.save(thumb, "JPEG", quality=80)
    return photo.getvalue(), thumb.getvalue()


def make_signature() -> bytes:
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line(
        [(20, 150), (120, 40), (200, 160), (320, 50), (460, 140), (580, 60)],
        fill=(10, 20, 80, 255),
        width=6,
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def build(settings: Settings) -> int:
    """The audit to render; returns its id."""
    from server.accounts.tables import User
    from server.audits.service import start_audit
    from server.audits.tables import Answer, Audit, Photo
    from server.changelog.record import as_actor
    from server.checklists.model import Checklist
    from server.checklists.tables import ChecklistVersion
    from server.cli import prepare

    await prepare(settings, lambda _line: None)
    user = User(login="bench", name="基准 审核员 Bench Auditor", password_hash="-")
    await user.save()
    checklist = Checklist.model_validate(make_checklist())
    definition = checklist.model_dump(mode="json", by_alias=True)
    text = json.dumps(definition, ensure_ascii=False)
    await ChecklistVersion(
        key=checklist.key,
        version=checklist.version,
        kind=checklist.kind.value,
        title_zh=checklist.title.zh_CN,
        title_en=checklist.title.en,
        item_count=len(checklist.items()),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        definition=text,
        source_file="bench",
    ).save()
    audit = await start_audit(checklist.key, as_actor(user), title="Benchmark")

    failed, critical, answers = [], [], []
    for n, item in enumerate(checklist.items()):
        value, result = answer_for(item.type.value, n)
        if result == "fail":
            failed.append(item.id)
            if item.critical:
                critical.append(item.id)
        answers.append(
            Answer(
                audit=audit.id,
                item_id=item.id,
                value=json.dumps(value),
                result=result,
                comment=f"备注 {n}: 现场已核实。Checked on site." if n % 3 else "",
                updated_by=user.id,
            )
        )
    await Answer.insert(*answers)

    folder = settings.data_dir / "photos" / str(audit.id)
    folder.mkdir(parents=True)
    items = checklist.items()
    photos = []
    for n in range(PHOTOS):
        data, thumb = make_photo(n)
        (folder / f"{n:03d}.jpg").write_bytes(data)
        (folder / f"{n:03d}_t.jpg").write_bytes(thumb)
        photos.append(
            Photo(
                audit=audit.id,
                item_id=items[(n * 5) % len(items)].id,
                kind="photo",
                path=f"photos/{audit.id}/{n:03d}.jpg",
                thumb_path=f"photos/{audit.id}/{n:03d}_t.jpg",
                sha256=hashlib.sha256(data).hexdigest(),
                content_type="image/jpeg",
                width=PHOTO_SIZE[0],
                height=PHOTO_SIZE[1],
                size_bytes=len(data),
                uploaded_by=user.id,
            )
        )
    (folder / "sig.png").write_bytes(make_signature())
    photos.append(
        Photo(
            audit=audit.id,
            item_id="B5.20",
            kind="signature",
            path=f"photos/{audit.id}/sig.png",
            thumb_path=f"photos/{audit.id}/sig.png",
            sha256="0" * 64,
            content_type="image/png",
            width=600,
            height=200,
            size_bytes=1,
            uploaded_by=user.id,
        )
    )
    await Photo.insert(*photos)

    sections = []
    for section in checklist.sections:
        ids = [i.id for i in section.items]
        bad = [i for i in failed if i in ids]
        possible = float(len(ids))
        sections.append(
            {
                "id": section.id,
                "earned": possible - len(bad),
                "possible": possible,
                "percent": 100 * (possible - len(bad)) / possible,
                "answered": len(ids),
                "required": len(ids),
                "failed": bad,
            }
        )
    percent = 100 * (ITEMS - len(failed)) / ITEMS
    await Audit.update(
        {
            Audit.status: "submitted",
            Audit.submitted_at: datetime.now(UTC),
            Audit.score: {
                "percent": percent,
                "passed": percent >= 80 and not critical,
                "threshold": 80,
                "earned": float(ITEMS - len(failed)),
                "possible": float(ITEMS),
                "failed": failed,
                "critical_failed": critical,
                "sections": sections,
            },
            Audit.signed_by: user.id,
            Audit.signer_name: user.name,
            Audit.signed_at: datetime.now(UTC),
            Audit.signature_meaning: "审核结论确认 Approved",
        }
    ).where(Audit.id == audit.id)
    return int(audit.id)


async def run(settings: Settings, runs: int, out: Path | None) -> None:
    from pypdf import PdfReader

    from server.db import engine as db
    from server.reports.audit_report import load_audit_report, render_audit_report

    await db.start(settings)
    try:
        started = time.perf_counter()
        audit_id = await build(settings)
        print(
            f"audit report PDF: {ITEMS} items, {PHOTOS} photos "
            f"({PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG + {THUMB_SIDE} px thumbnails), "
            f"{runs} runs; setup {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        report = await load_audit_report(audit_id)
        assert report is not None
        print(f"  load       {(time.perf_counter() - started) * 1000:.0f} ms")
        for lang in ("zh_CN", "en"):
            timings, cpu, pdf = [], [], b""
            for _ in range(runs):
                started, cpu_started = time.perf_counter(), time.process_time()
                pdf = render_audit_report(report, lang=lang, data_dir=settings.data_dir)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            # CPU time too: wall time swells when other work shares the machine
            print(
                f"  {lang:<6} median {statistics.median(timings):.2f} s "
                f"(min {min(timings):.2f}, max {max(timings):.2f}; "
                f"CPU median {statistics.median(cpu):.2f} s)  "
                f"{len(pdf) / 1e6:.2f} MB, {pages} pages"
            )
            if out is not None:
                target = out.with_name(f"{out.stem}-{lang}{out.suffix}")
                target.write_bytes(pdf)
                print(f"         written to {target}")
    finally:
        await db.stop()


def main(argv: list[str]) -> None:
    out = None
    if "--out" in argv:
        index = argv.index("--out")
        out = Path(argv[index + 1]).resolve()
        del argv[index : index + 2]
    runs = int(argv[0]) if argv else 3
    from server import runtime

    with tempfile.TemporaryDirectory(prefix="auditrail-bench-") as tmp:
        settings = Settings.from_env(
            {
                "AUDITRAIL_DATA_DIR": tmp,
                "AUDITRAIL_DEMO": "0",
                "AUDITRAIL_SECRET_KEY": "bench",
                "AUDITRAIL_CHECKLISTS_DIR": str(PROJECT_ROOT / "checklists"),
            }
        )
        runtime.configure(settings)
        asyncio.run(run(settings, runs, out))


if __name__ == "__main__":
    main(sys.argv[1:])
