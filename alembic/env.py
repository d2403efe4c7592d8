"""Alembic environment: migrates the read-model tables in the database of the event store.

The URL comes from the Config attribute `sqlalchemy.url` set by `infrastructure.migrations`
(or from the settings when alembic is run by hand)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from infrastructure.tables import metadata

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from infrastructure.settings import Settings

        url = Settings().sqlalchemy_url
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
