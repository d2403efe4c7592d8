"""Engines for the read models and the environment of the event store, from the settings."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from infrastructure.settings import Settings

MIGRATION_LOCK_KEY = 7_264_001  # any constant shared by every process of this service
# PostgreSQL: an API process's read-model connections on its event loop (`infrastructure.reads`:
# every request's account-status check and the available-slots query), taken from the read
# engine's former overflow (5 + 5 before), so a process still opens at most 28 connections
ASYNC_READ_POOL_SIZE = 4


def create_read_engine(
    settings: Settings,
    pool_size: int = 5,
    max_overflow: int = 1,
    connect_args: dict[str, str] | None = None,
    *,
    autocommit: bool = True,
) -> sa.Engine:
    """On PostgreSQL the read engine runs each statement in its own implicit transaction
    (`autocommit`): a read-committed read sees a fresh snapshot per statement either way, and a
    query then costs one round trip instead of three (BEGIN, the query, the ROLLBACK of the
    connection's return to the pool). Engines that write pass `autocommit=False`."""
    if settings.uses_postgres:
        return sa.create_engine(
            settings.sqlalchemy_url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            pool_timeout=30,
            connect_args=connect_args or {},
            **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        )
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        settings.sqlalchemy_url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=20,
        max_overflow=40,
    )

    @sa_event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def event_store_env(settings: Settings, *, create_tables: bool = False) -> dict[str, str]:
    """The eventsourcing environment: Postgres (psycopg 3) for a postgres URL, SQLite otherwise."""
    if settings.uses_postgres:
        assert settings.database_url
        parts = urlsplit(settings.database_url)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            # per process at most: event store 6+6, read models 5+1 and 4 on the event loop, secrets
            # 2+2, projections 2+2 connections (28); a burst of requests waits for a pooled connection instead, so
            # `serve --workers 2` plus its projection worker stay inside PostgreSQL's default 100
            "POSTGRES_POOL_SIZE": "6",
            "POSTGRES_MAX_OVERFLOW": "6",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "infrastructure.event_store:OneTripRecorder",  # one round trip a write
        }
    else:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    env["CREATE_TABLE"] = "y" if create_tables else "n"  # `consult migrate` (or build) creates them once
    env["MAPPER_TOPIC"] = "infrastructure.privacy_mapper:PersonalDataMapper"  # crypto-shredding; keys: build()
    return env


@contextmanager
def migration_lock(settings: Settings) -> Iterator[None]:
    """Serialise schema changes of processes starting together (for example `serve --workers N`)."""
    if settings.uses_postgres:
        engine = sa.create_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                    conn.commit()
        finally:
            engine.dispose()
        return
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with open(settings.sqlite_path.parent / ".migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_write_engine(settings: Settings) -> sa.Engine:
    """The engine projections write through. On SQLite its transactions start with BEGIN IMMEDIATE,
    so a projector takes the write lock up front instead of failing to upgrade a read lock."""
    if settings.uses_postgres:
        return create_read_engine(settings, pool_size=2, max_overflow=2, autocommit=False)
    engine = create_read_engine(settings)

    @sa_event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @sa_event.listens_for(engine, "begin")
    def _begin_immediate(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_projection_engine(settings: Settings, write_engine: sa.Engine) -> sa.Engine:
    """The engine the projection runner writes through. On PostgreSQL its commits do not wait for the
    WAL flush (`synchronous_commit=off`): a crash can lose the last few projected batches, but each
    batch and its tracking position commit or vanish together, so the runner projects those events
    again from the (durable) event store: read models stay exactly-once. Elsewhere the write engine."""
    if not settings.uses_postgres:
        return write_engine
    return create_read_engine(
        settings, pool_size=2, max_overflow=2, connect_args={"options": "-c synchronous_commit=off"}, autocommit=False
    )
