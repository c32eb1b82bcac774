"""Piccolo's configuration module (PICCOLO_CONF=server.db.piccolo_conf).

`DB` is replaced by `server.db.engine.configure()` when the app or CLI starts,
so the engine always follows the running Settings rather than import time.
"""

from piccolo.conf.apps import AppRegistry

from server.db.engine import make_engine
from server.settings import Settings

DB = make_engine(Settings.from_env())
APP_REGISTRY = AppRegistry(apps=["server.db.piccolo_app"])
