"""Piccolo configuration: one engine, pointed at the database chosen at start-up.

The URL comes from DATABASE_URL, or from the embedded PostgreSQL that
`paydeck` starts; `server.db.configure()` sets it before the pool opens.
"""

import os

from piccolo.conf.apps import AppRegistry

from server.db_engine import PaydeckEngine

DB = PaydeckEngine(config={"dsn": os.environ.get("DATABASE_URL", "")})

APP_REGISTRY = AppRegistry(apps=["db.piccolo_app"])
