"""The Piccolo app holding every Paydeck table and its committed migrations."""

import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="db",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "migrations"),
    table_classes=table_finder(modules=["db.tables"], exclude_imported=False),
    migration_dependencies=[],
    commands=[],
)
