"""Hand-written: the database itself refuses to update or delete change-log rows,
so an application bug cannot rewrite history (tampering needs deliberate DDL,
and `auditrail log verify` still catches it).

Each step can run again without failing: a half-applied or repeated migration must
not stop an upgrade or a rollback. PostgreSQL's trigger is dropped and re-created in
the migration's transaction, so there is no moment without it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-22T02:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "change log is append-only"

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS change_log_no_update BEFORE UPDATE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS change_log_no_delete BEFORE DELETE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS change_log_no_update",
    "DROP TRIGGER IF EXISTS change_log_no_delete",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION change_log_refuse() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'change_log is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS change_log_append_only ON change_log",
    "CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log "
    "FOR EACH ROW EXECUTE FUNCTION change_log_refuse()",
]
POSTGRES_BACKWARDS = [
    "DROP TRIGGER IF EXISTS change_log_append_only ON change_log",
    "DROP FUNCTION IF EXISTS change_log_refuse()",
]


async def _run(postgres: list[str], sqlite: list[str]) -> None:
    # The engine is looked up when the step runs (not cached on a table class at first
    # use), so the statements join the migration's transaction on the current database.
    db = engine_finder()
    assert db is not None
    for sql in postgres if db.engine_type == "postgres" else sqlite:
        await db.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_triggers() -> None:
        await _run(POSTGRES, SQLITE)

    async def drop_triggers() -> None:
        await _run(POSTGRES_BACKWARDS, SQLITE_BACKWARDS)

    manager.add_raw(create_triggers)
    manager.add_raw_backwards(drop_triggers)
    return manager
