"""Piccolo's configuration module (PICCOLO_CONF=server.db.piccolo_conf).

`DB` is whatever engine `server.db.engine.configure()` set up for the running Settings
(read on every use, so it follows the app or CLI rather than import time). The app
named by APP_REGISTRY lists every table; Piccolo imports it by name.
"""

from typing import Any

from piccolo.conf.apps import AppRegistry

from server.db import engine

APP_REGISTRY = AppRegistry(apps=["server.schema"])


def __getattr__(name: str) -> Any:
    if name == "DB":
        return engine.engine()
    raise AttributeError(name)
