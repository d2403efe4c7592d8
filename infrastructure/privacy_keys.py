"""Per-person AES-256 keys for crypto-shredding, stored in `privacy_keys` (read-model database,
outside the event store) and cached per process: a key never changes once created, and a destroyed
one never comes back, so a cached answer is always right except for a destruction made by another
process (which this process learns when its projection applies the erasure, or at restart).

Keys are created on first use (a person's first personal data: registration), with an INSERT that
ignores an existing row (a concurrent twin's) and returns the new key; only when it inserted nothing
is the stored one read, so every process uses the same key."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from infrastructure.privacy_tables import privacy_keys
from infrastructure.tables import among

CACHE_SIZE = 200_000  # ~100 bytes per cached key: 20 MB at most
_MISSING = object()


class KeyStore:
    def __init__(self, engine: sa.Engine, cache_size: int = CACHE_SIZE):
        self.engine = engine
        self.cache_size = cache_size
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    # -- cache ---------------------------------------------------------------------------------

    def _cached(self, subject: str) -> object:
        with self._lock:
            found = self._cache.get(subject, _MISSING)
            if found is not _MISSING:
                self._cache.move_to_end(subject)
            return found

    def _remember(self, subject: str, key: bytes | None) -> None:
        with self._lock:
            self._cache[subject] = key
            self._cache.move_to_end(subject)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def forget(self, subject: str) -> None:
        """The subject's key was destroyed (maybe by another process): never use it again here."""
        self._remember(subject, None)

    # -- keys ----------------------------------------------------------------------------------

    def key(self, subject: str, *, create: bool) -> bytes | None:
        """The subject's key; None when it was destroyed (or, with `create=False`, never existed)."""
        if "\x00" in subject:  # ids never hold NUL (requests are refused before any event); PostgreSQL can't
            raise ValueError("a privacy subject cannot contain NUL characters")
        cached = self._cached(subject)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        row = self._create(subject) if create else None
        if row is None:  # it existed already (or a concurrent twin inserted it first)
            row = self._read(subject)
        if row is None:
            return None  # never created and not wanted: nothing was ever encrypted for it
        key = bytes(row.key) if row.key is not None else None
        self._remember(subject, key)
        return key

    def _create(self, subject: str) -> sa.Row[tuple[bytes | None]] | None:
        """Insert a new key and return it, in one statement (a new subject, such as a new transaction's,
        costs one round trip); None when the subject has a row already, destroyed or not."""
        with self.engine.begin() as conn:  # the INSERT first: SQLite takes the write lock at once
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            return conn.execute(
                insert(privacy_keys)
                .values(subject=subject, key=os.urandom(32), created_at=time.time())
                .on_conflict_do_nothing(index_elements=["subject"])
                .returning(privacy_keys.c.key)
            ).first()

    def preload(self, subjects: set[str], chunk: int = 1000) -> None:
        """Read the keys of these subjects (those not cached yet) with one query per `chunk` of them.
        Subjects without a row stay uncached (`key` decides what their absence means)."""
        wanted = sorted(s for s in subjects if "\x00" not in s and self._cached(s) is _MISSING)
        for start in range(0, len(wanted), chunk):
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(privacy_keys.c.subject, privacy_keys.c.key).where(
                        among(conn, privacy_keys.c.subject, wanted[start : start + chunk])
                    )
                ).all()
            for subject, key in rows:
                self._remember(subject, bytes(key) if key is not None else None)

    def _read(self, subject: str) -> sa.Row[tuple[bytes | None]] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(privacy_keys.c.key).where(privacy_keys.c.subject == subject)).first()

    def destroy(self, subject: str, conn: sa.Connection | None = None) -> None:
        """Erase the key for good (a tombstone row stays, so it is never created again)."""
        if conn is None:
            with self.engine.begin() as own:
                self._destroy(own, subject)
        else:
            self._destroy(conn, subject)
        self.forget(subject)

    @staticmethod
    def _destroy(conn: sa.Connection, subject: str) -> None:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete=ON")  # the key's bytes are overwritten in the file
        now = time.time()
        updated = conn.execute(
            privacy_keys.update()
            .where(privacy_keys.c.subject == subject, privacy_keys.c.key.is_not(None))
            .values(key=None, destroyed_at=now)
        ).rowcount
        if not updated:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                insert(privacy_keys)
                .values(subject=subject, key=None, created_at=now, destroyed_at=now)
                .on_conflict_do_nothing(index_elements=["subject"])
            )

    def destroyed(self, subject: str) -> bool:
        row = self._read(subject)
        return row is not None and row.key is None

    def prime(self, subjects: list[str]) -> None:
        """Create (one INSERT per 500, ignoring existing rows) and cache the keys of many subjects at
        once: a bulk import's first use of thousands of people, instead of two statements each."""
        wanted = [s for s in dict.fromkeys(subjects) if self._cached(s) is _MISSING]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            now = time.time()
            with self.engine.begin() as conn:
                insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                conn.execute(
                    insert(privacy_keys).on_conflict_do_nothing(index_elements=["subject"]),
                    [{"subject": subject, "key": os.urandom(32), "created_at": now} for subject in chunk],
                )
                rows = conn.execute(
                    sa.select(privacy_keys.c.subject, privacy_keys.c.key).where(
                        among(conn, privacy_keys.c.subject, chunk)
                    )
                ).all()
            for row in rows:
                self._remember(row.subject, bytes(row.key) if row.key is not None else None)
