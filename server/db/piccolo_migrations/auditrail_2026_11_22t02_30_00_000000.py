"""Hand-written: Piccolo has no composite unique constraint, and a manager's raw
steps run before its table steps, so the index gets a migration of its own."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a checklist version is identified by (key, version)"


class ChecklistVersion(Table, tablename="checklist_version"):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_index() -> None:
        await ChecklistVersion.raw(
            "CREATE UNIQUE INDEX checklist_version_key_version "
            "ON checklist_version (key, version)"
        )

    async def drop_index() -> None:
        await ChecklistVersion.raw("DROP INDEX checklist_version_key_version")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
