"""Migrations: upgrading a database of the previous release keeps its rows, every step
can be undone and redone to the same schema, hand-written steps can run twice, and the
table classes match what the migrations build (Piccolo's auto-migration finds nothing).

Each database test makes a fresh database of its own: a temp SQLite file, or with
AUDITRAIL_TEST_POSTGRES (the PostgreSQL pass of `make test`) a new PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.apps.migrations.tables import Migration

from server.changelog.tables import ChangeLog
from server.core.settings import PROJECT_ROOT, Settings
from server.db import engine as db
from server.db.migrate import MigrationError, applied, known, migrate, migrate_back
from server.schema import APP_CONFIG

PG_ADMIN_URL = os.environ.get("AUDITRAIL_TEST_POSTGRES")
T = TypeVar("T")

Schema = list[dict[str, Any]]
SQLITE_CATALOG = ["SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"]
# Columns by name, not position: PostgreSQL keeps a dropped column's slot, so a column
# that a rollback dropped and a redo added comes back at the end of its table.
PG_CATALOG = [
    "SELECT table_name, column_name, data_type, character_maximum_length, "
    "is_nullable, column_default FROM information_schema.columns "
    "WHERE table_schema = 'public' ORDER BY table_name, column_name",
    "SELECT tablename, indexname, indexdef FROM pg_indexes "
    "WHERE schemaname = 'public' ORDER BY indexname",
    "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY tbl, conname",
    "SELECT tgrelid::regclass::text AS tbl, tgname, pg_get_triggerdef(oid) AS def "
    "FROM pg_trigger WHERE NOT tgisinternal ORDER BY tbl, tgname",
    "SELECT proname, pg_get_functiondef(oid) AS def FROM pg_proc "
    "WHERE pronamespace = 'public'::regnamespace ORDER BY proname",
    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename",
]
# What the hand-written migrations add: the comparisons below must not be vacuous.
HAND_WRITTEN_OBJECTS = [
    "checklist_version_key_version",
    "answer_audit_item",
    "nc_state_due",
    "change_log_record",
    "nc_raised_by",
]
TRIGGERS = {"sqlite": "change_log_no_update", "postgresql": "change_log_append_only"}


def _in_thread(make: Callable[[], Awaitable[T]]) -> T:
    # A fresh loop in a thread of its own: Playwright may own this thread's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, make()).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Settings]:
    """Settings for an empty database of this test's own."""
    env = {"AUDITRAIL_DATA_DIR": str(tmp_path), "AUDITRAIL_SECRET_KEY": "migrations-test"}
    name = None
    if PG_ADMIN_URL:
        name = f"auditrail_migrations_{secrets.token_hex(4)}"
        _in_thread(lambda: _pg_admin(f'CREATE DATABASE "{name}"'))
        env["AUDITRAIL_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield Settings.from_env(env)
    if name:
        _in_thread(lambda: _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _engine_set_aside() -> Iterator[None]:
    # The session's app and database stay configured for the tests that follow: put back
    # the engine every table (and Piccolo's migration table) had before.
    tables = [*APP_CONFIG.table_classes, Migration]
    current, engines = db._current, [table._meta._db for table in tables]
    try:
        yield
    finally:
        db._current = current
        for table, engine in zip(tables, engines, strict=True):
            table._meta._db = engine


def on_database(settings: Settings, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run `scenario` with every table on the database `settings` name."""

    async def main() -> T:
        db.configure(settings, APP_CONFIG.table_classes)
        await db.start(settings)
        try:
            return await scenario()
        finally:
            await db.stop()

    with _engine_set_aside():
        return _in_thread(main)


async def sql(statement: str, *args: Any) -> list[dict[str, Any]]:
    # Plain SQL on the configured engine ({} are placeholders); any table's raw() will do.
    return await ChangeLog.raw(statement, *args)


async def schema() -> Schema:
    catalog = PG_CATALOG if db.engine_name() == "postgresql" else SQLITE_CATALOG
    return [row for query in catalog for row in await sql(query)]


# Rows as the previous release would hold them, written as plain SQL rather than through
# the app's code (which follows the newest schema): a user with a role in an org unit, an
# audit of a checklist version with an answer, the NC it raised and a change-log row.
ROWS: list[tuple[str, list[Any]]] = [
    ("INSERT INTO org_unit (id, code, name_zh, name_en, active) "
     "VALUES (1, 'QA', '质量部', 'Quality', true)", []),
    ("INSERT INTO app_user (id, login, name, email, password_hash, language, active, org_unit) "
     "VALUES (1, 'mig.auditor', 'Auditor', 'a@example.com', 'x', 'en', true, 1)", []),
    ("INSERT INTO user_role (id, \"user\", role) VALUES (1, 1, 'auditor')", []),
    ("INSERT INTO checklist_version (id, key, version, kind, title_zh, title_en, item_count, "
     "content_hash, definition, source_file) "
     "VALUES (1, 'test.migrations', 1, 'audit', '迁移', 'Migrations', 1, 'h', {}, 'm.yaml')",
     [json.dumps({"key": "test.migrations", "items": ["Q1.01"]})]),
    ("INSERT INTO programme (id, year, half, title, created_by) "
     "VALUES (1, 2026, 1, 'H1 2026', 1)", []),
    ("INSERT INTO audit (id, checklist_key, checklist_version, kind, title, programme, "
     "org_unit, lead_auditor, planned_date, status, score_percent, passed, score, "
     "signer_name, signature_meaning, created_by) VALUES (1, 'test.migrations', 1, 'audit', "
     "'QA audit', 1, 1, 1, '2026-03-02', 'submitted', 90.0, true, {}, 'Auditor', 'approved', 1)",
     [json.dumps({"percent": 90.0})]),
    ("INSERT INTO answer (id, audit, item_id, value, comment, result, version, updated_by) "
     "VALUES (1, 1, 'Q1.01', {}, 'seen on site', 'fail', 2, 1)", [json.dumps("no")]),
    ("INSERT INTO nonconformance (id, ref, year, seq, source, audit, org_unit, title, "
     "requirement, evidence, severity, state, raised_by, due_date, five_whys) VALUES "
     "(1, 'NC-2026-001', 2026, 1, 'audit', 1, 1, 'No records', {}, {}, 'minor', 'draft', 1, "
     "'2026-04-01', {})",
     [json.dumps({"item": "Q1.01"}), json.dumps({"answer": "no"}), json.dumps(["why"])]),
    ("INSERT INTO change_log (id, actor_id, actor_login, action, record_table, record_id, "
     "changes, reason, prev_hash, hash) VALUES (1, 1, 'mig.auditor', 'create', 'audit', '1', "
     "{}, '', '', 'ab')", [json.dumps({"status": [None, "submitted"]})]),
]
TABLES = ["org_unit", "app_user", "user_role", "checklist_version", "programme", "audit",
          "answer", "nonconformance", "change_log"]


async def rows() -> dict[str, list[dict[str, Any]]]:
    return {table: await sql(f"SELECT * FROM {table} ORDER BY id") for table in TABLES}


def kept(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]
         ) -> bool:
    """Every row is still there with the values it had; columns a newer migration added
    (with their defaults) are not a change to the data."""
    return all(
        [{k: row[k] for k in old[0]} for row in after[table]] == old
        for table, old in before.items())


async def assert_change_log_append_only() -> None:
    # The triggers act per row: give them one.
    await sql("INSERT INTO change_log (id, action, record_table, record_id, hash) "
              "VALUES (999, 'create', 'audit', '999', 'cd')")
    with pytest.raises(Exception, match="append-only"):
        await sql("UPDATE change_log SET reason = 'rewritten'")
    with pytest.raises(Exception, match="append-only"):
        await sql("DELETE FROM change_log")


@pytest.mark.db
def test_upgrade_from_the_previous_release_keeps_rows_and_can_be_rolled_back(
    fresh: Settings,
) -> None:
    ids = [step.id for step in known()]

    async def scenario() -> None:
        await migrate(quiet=True, to=ids[-2])  # the previous release
        assert await applied() == ids[:-1]
        for statement, args in ROWS:
            await sql(statement, *args)
        before = await rows()
        assert all(before.values())

        await migrate(quiet=True)
        assert await applied() == ids
        upgraded = await schema()
        assert kept(before, await rows())

        undone = await migrate_back(1, quiet=True)
        assert [step.id for step in undone] == [ids[-1]]
        assert await applied() == ids[:-1]
        assert await rows() == before

        await migrate(quiet=True)
        assert await schema() == upgraded
        assert kept(before, await rows())
        await assert_change_log_append_only()

    on_database(fresh, scenario)


@pytest.mark.db
def test_every_migration_undoes_to_the_schema_before_it(fresh: Settings) -> None:
    ids = [step.id for step in known()]

    async def scenario() -> None:
        assert await applied() == []  # creates Piccolo's own table, part of every snapshot
        snapshots = [await schema()]
        for mid in ids:
            await migrate(quiet=True, to=mid)
            snapshots.append(await schema())
        newest = json.dumps(snapshots[-1], default=str)
        for name in [*HAND_WRITTEN_OBJECTS, TRIGGERS[db.engine_name()]]:
            assert name in newest

        for k in range(len(ids), 0, -1):
            undone = await migrate_back(quiet=True)
            assert [step.id for step in undone] == [ids[k - 1]]
            assert await schema() == snapshots[k - 1], f"undoing {ids[k - 1]}"
        assert await applied() == []

        await migrate(quiet=True)
        assert await schema() == snapshots[-1]
        with pytest.raises(MigrationError, match="cannot undo"):
            await migrate_back(len(ids) + 1, quiet=True)
        assert await applied() == ids  # refused: nothing undone
        undone = await migrate_back(len(ids), quiet=True)
        assert [step.id for step in undone] == ids[::-1]
        assert await schema() == snapshots[0]
        await migrate(quiet=True)
        assert await schema() == snapshots[-1]
        await assert_change_log_append_only()

    on_database(fresh, scenario)


async def _managers() -> list[MigrationManager]:
    return await BaseMigrationManager().get_migration_managers(app_config=APP_CONFIG)


@pytest.mark.db
def test_hand_written_steps_can_run_again(fresh: Settings) -> None:
    async def scenario() -> None:
        await migrate(quiet=True)
        migrated = await schema()
        hand_written = [m for m in await _managers() if m.raw or m.raw_backwards]
        assert len(hand_written) >= 4
        for manager in hand_written:
            assert manager.raw and manager.raw_backwards, manager.migration_id
            # a repeated step, and one undone twice then redone twice, change nothing
            for steps in (manager.raw, manager.raw_backwards, manager.raw_backwards,
                          manager.raw, manager.raw):
                for step in steps:
                    await step()
            assert await schema() == migrated, manager.migration_id

    on_database(fresh, scenario)


@pytest.mark.db
def test_migrate_back_on_the_command_line(fresh: Settings) -> None:
    ids = [step.id for step in known()]
    env = {
        **os.environ,
        "AUDITRAIL_DATA_DIR": str(fresh.data_dir),
        "AUDITRAIL_DATABASE_URL": fresh.database_url,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", "migrate", *args],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )

    assert cli().returncode == 0
    two = cli("--back", "2")
    assert two.returncode == 0, two.stderr
    assert two.stdout.splitlines() == [
        f"undid {ids[-1]}: {known()[-1].description}",
        f"undid {ids[-2]}: {known()[-2].description}",
        f"database is at {ids[-3]}",
    ]
    one = cli("--back")
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines()[0].startswith(f"undid {ids[-3]}: ")
    refused = cli("--back", str(len(ids)))
    assert refused.returncode == 1
    assert f"cannot undo {len(ids)}: {len(ids) - 3} migrations applied" in refused.stderr
    again = cli()
    assert again.returncode == 0, again.stderr
    assert "database is up to date" in again.stdout


def test_table_classes_match_the_migrations() -> None:
    """What `piccolo migrations new auditrail --auto` would write: nothing."""

    async def differences() -> list[str]:
        statements = await AutoMigrationManager(auto_input="n").get_alter_statements(
            app_config=APP_CONFIG
        )
        return [line for group in statements for line in group.statements]

    assert _in_thread(differences) == []
