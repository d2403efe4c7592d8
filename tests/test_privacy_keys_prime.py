"""`KeyStore.prime`: the bulk creation of personal-data keys an import uses agrees with `key()`."""

from __future__ import annotations

from infrastructure.bootstrap import migrate
from infrastructure.database import create_read_engine
from infrastructure.privacy_keys import KeyStore


def test_prime_creates_once_keeps_existing_and_destroyed_keys(settings):
    migrate(settings)
    engine = create_read_engine(settings)
    try:
        first = KeyStore(engine)
        existing = first.key("a" * 24, create=True)
        first.destroy("b" * 24)
        subjects = ["a" * 24, "b" * 24, *(f"{n:024x}" for n in range(1200))]
        first.prime(subjects)
        other = KeyStore(engine)  # another process: reads what the bulk statement stored
        other.prime(subjects)
        assert other.key("a" * 24, create=False) == existing
        assert other.key("b" * 24, create=True) is None  # a destroyed key never comes back
        for subject in subjects[2:]:
            key = other.key(subject, create=False)
            assert key is not None and len(key) == 32 and key == first.key(subject, create=False)
    finally:
        engine.dispose()


def test_preload_reads_existing_and_destroyed_keys_and_creates_none(settings):
    """What decoding a batch uses (`PersonalDataMapper.preload_keys`): one read, nothing created."""
    migrate(settings)
    engine = create_read_engine(settings)
    try:
        first = KeyStore(engine)
        existing = first.key("a" * 24, create=True)
        first.key("b" * 24, create=True)
        first.destroy("b" * 24)
        reader = KeyStore(engine)  # another process
        reader.preload({"a" * 24, "b" * 24, "c" * 24})
        with engine.begin() as conn:  # what it cached is answered without the database
            conn.exec_driver_sql("DELETE FROM privacy_keys WHERE subject IN ('" + "a" * 24 + "', '" + "b" * 24 + "')")
        assert reader.key("a" * 24, create=False) == existing
        assert reader.key("b" * 24, create=False) is None  # destroyed stays destroyed
        assert reader.key("c" * 24, create=False) is None and KeyStore(engine).key("c" * 24, create=False) is None
    finally:
        engine.dispose()
