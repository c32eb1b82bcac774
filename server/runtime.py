"""What the app, the CLI and the tests set up before any work, from one Settings: the
organisation's clock and the database engine behind every table."""

from __future__ import annotations

from piccolo.engine.base import Engine

from server import schema
from server.core import clock
from server.core.settings import Settings
from server.db import engine as db


def configure(settings: Settings) -> Engine:
    clock.configure(settings.timezone)
    return db.configure(settings, schema.APP_CONFIG.table_classes)
