"""Hand-written: PostgreSQL refuses TRUNCATE of the change log.

TRUNCATE fires no row triggers, so change_log_append_only (BEFORE UPDATE OR DELETE, FOR
EACH ROW) let it empty the table in one statement; a statement-level trigger refuses it.
SQLite has no TRUNCATE: its `DELETE FROM` without WHERE still fires the row triggers. The
SQL is idempotent (a half-applied or repeated run is harmless), and so is the way back.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "change log refuses TRUNCATE on PostgreSQL"


FORWARDS = [
    "CREATE OR REPLACE FUNCTION change_log_refuse_truncate() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'change_log is append-only: TRUNCATE refused'; END; $$ "
    "LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS change_log_no_truncate ON change_log",
    "CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION change_log_refuse_truncate()",
]
BACKWARDS = [
    "DROP TRIGGER IF EXISTS change_log_no_truncate ON change_log",
    "DROP FUNCTION IF EXISTS change_log_refuse_truncate()",
]


async def _run(statements: list[str]) -> None:
    # The engine is looked up when the step runs (a table class would keep the engine of
    # its first use), so the statements join the migration's transaction on this database.
    db = engine_finder()
    assert db is not None
    if db.engine_type == "postgres":
        for sql in statements:
            await db.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def refuse_truncate() -> None:
        await _run(FORWARDS)

    async def allow_truncate() -> None:
        await _run(BACKWARDS)

    manager.add_raw(refuse_truncate)
    manager.add_raw_backwards(allow_truncate)
    return manager
