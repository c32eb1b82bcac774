"""Hand-written: indexes for a record's history (every detail page reads it) and for
the nonconformances a person raised (scoping of auditors' registers)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for change-log history and NCs by raiser"


class ChangeLog(Table, tablename="change_log"):
    pass


INDEXES = [
    "CREATE INDEX change_log_record ON change_log (record_table, record_id, id)",
    "CREATE INDEX nc_raised_by ON nonconformance (raised_by)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_indexes() -> None:
        for sql in INDEXES:
            await ChangeLog.raw(sql)

    manager.add_raw(create_indexes)
    return manager
