"""Hand-written: indexes for a record's history (every detail page reads it) and for
the nonconformances a person raised (scoping of auditors' registers).

Each step can run again without failing (IF [NOT] EXISTS): a half-applied or repeated
migration must not stop an upgrade or a rollback."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for change-log history and NCs by raiser"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS change_log_record ON change_log (record_table, record_id, id)",
    "CREATE INDEX IF NOT EXISTS nc_raised_by ON nonconformance (raised_by)",
]
BACKWARDS = [
    "DROP INDEX IF EXISTS nc_raised_by",
    "DROP INDEX IF EXISTS change_log_record",
]


async def _run(statements: list[str]) -> None:
    # The engine is looked up when the step runs (not cached on a table class at first
    # use), so the statements join the migration's transaction on the current database.
    db = engine_finder()
    assert db is not None
    for sql in statements:
        await db.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_indexes() -> None:
        await _run(INDEXES)

    async def drop_indexes() -> None:
        await _run(BACKWARDS)

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
