"""NC titles in both languages: the title of an NC raised from an item, from its prompts."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T17:51:23:201307"
VERSION = "1.38.0"
DESCRIPTION = "NC titles in both languages"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="auditrail", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Nonconformance",
        tablename="nonconformance",
        column_name="title_en",
        db_column_name="title_en",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 300,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Nonconformance",
        tablename="nonconformance",
        column_name="title_zh",
        db_column_name="title_zh",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 300,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
