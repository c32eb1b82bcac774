"""The `auditrail` command line, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server.checklists.loader import load_file
from server.core.settings import PROJECT_ROOT
from tests.support import checklist_yaml


def cli(*args: str, cwd: Path = PROJECT_ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_validate_library_passes_and_bad_files_fail(tmp_path: Path) -> None:
    ok = cli("checklists", "validate")
    assert ok.returncode == 0, ok.stderr
    assert "0 problems" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        checklist_yaml().replace("max: 27", "max: 27\n        weight: -3"), encoding="utf-8"
    )
    result = cli("checklists", "validate", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "bad.yaml:" in result.stderr and "item S1.02: weight must not be negative" in result.stderr
    )


def test_xlsx_round_trip_through_the_cli(tmp_path: Path) -> None:
    exported = cli(
        "checklists", "export-xlsx", "inspection.ups.weekly", "--output", str(tmp_path / "ups.xlsx")
    )
    assert exported.returncode == 0, exported.stderr
    imported = cli(
        "checklists",
        "import-xlsx",
        str(tmp_path / "ups.xlsx"),
        "--output",
        str(tmp_path / "ups.yaml"),
    )
    assert imported.returncode == 0, imported.stderr
    original = load_file(PROJECT_ROOT / "checklists" / "inspection" / "ups_weekly.yaml")
    again = load_file(tmp_path / "ups.yaml")
    assert again.checklist == original.checklist


def test_import_of_a_broken_workbook_reports_and_fails(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    result = cli("checklists", "import-xlsx", str(junk))
    assert result.returncode == 1
    assert "junk.xlsx: not an Excel workbook" in result.stderr


def test_schema_command_matches_published_schema() -> None:
    result = cli("checklists", "schema")
    published = (PROJECT_ROOT / "docs" / "checklist.schema.json").read_text(encoding="utf-8")
    assert result.stdout == published


def test_serve_compiles_every_template_and_freezes_the_start_up_heap(tmp_path: Path) -> None:
    """`serve` settles the app before taking requests (cli._settle); in a process of its
    own, as gc.freeze() affects the whole interpreter."""
    script = (
        "import gc\n"
        "from server.app import create_app\n"
        "from server.cli import _settle\n"
        "from server.core.settings import Settings\n"
        "app = create_app(Settings.from_env())\n"
        "env = app.template_engine.engine\n"
        "before = len(env.cache)\n"
        "_settle(app)\n"
        "print(before, len(env.cache), len(env.list_templates(extensions=['html'])),"
        " gc.get_freeze_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**os.environ, "AUDITRAIL_DATA_DIR": str(tmp_path)}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    before, cached, templates, frozen = map(int, result.stdout.split())
    assert before == 0 and templates > 20
    assert cached == templates
    assert frozen > 100_000  # the libraries, templates and app: well over 100k objects


def test_demo_sets_up_a_new_database_and_gives_the_procedures_roles(tmp_path: Path) -> None:
    """`auditrail demo` on a data folder that has never been served migrated nothing
    and ended in a traceback (no such table: org_unit)."""
    first = cli("demo", AUDITRAIL_DATA_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "'users': 9" in first.stdout and "Traceback" not in first.stderr
    again = cli("demo", AUDITRAIL_DATA_DIR=str(tmp_path))
    assert again.returncode == 0 and "'users': 0" in again.stdout  # idempotent
    script = (
        "import asyncio\n"
        "from server import runtime\n"
        "from server.core.settings import Settings\n"
        "from server.db import engine\n"
        "from server.accounts.tables import User, UserRole\n"
        "from server.org.tables import OrgUnit, Project\n"
        "async def main():\n"
        "    s = Settings.from_env(); runtime.configure(s); await engine.start(s)\n"
        "    for login in ('department_head', 'project_manager'):\n"
        "        uid = (await User.select(User.id).where(User.login == login).first())['id']\n"
        "        r = await UserRole.select().where(UserRole.user == uid).first()\n"
        "        heads = await OrgUnit.count().where(OrgUnit.head == uid)\n"
        "        runs = await Project.count().where(Project.manager == uid)\n"
        "        print(login, r['role'], r['org_unit'] is not None, r['project'] is not None,"
        " heads, runs)\n"
        "    await engine.stop()\n"
        "asyncio.run(main())\n"
    )
    shown = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, text=True,
                           capture_output=True, timeout=120,
                           env={**os.environ, "AUDITRAIL_DATA_DIR": str(tmp_path)})
    assert shown.returncode == 0, shown.stderr
    # each holds the role for the one department or project they lead, not everywhere
    assert "department_head department_head True False 1 0" in shown.stdout
    assert "project_manager project_manager False True 0 1" in shown.stdout
