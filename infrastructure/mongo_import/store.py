"""The event store an import writes to, wired as `infrastructure.bootstrap.build` wires it: the
personal-data mapper has its key store attached, so imported personal fields are sealed per person
(crypto-shredding works on imported people exactly as on people who signed up)."""

from __future__ import annotations

from collections.abc import Callable

from application.marketplace import Marketplace
from infrastructure.database import create_read_engine, event_store_env
from infrastructure.privacy_keys import KeyStore
from infrastructure.privacy_mapper import PersonalDataMapper
from infrastructure.settings import Settings


def open_market(settings: Settings) -> tuple[Marketplace, Callable[[], None]]:
    """The application over the store of `settings` (migrated first) and its closer."""
    from infrastructure.bootstrap import migrate

    migrate(settings)
    engine = create_read_engine(settings)
    market = Marketplace(env=event_store_env(settings))
    assert isinstance(market.mapper, PersonalDataMapper), "event_store_env names the personal-data mapper"
    market.mapper.attach(KeyStore(engine), lambda uuid: next(iter(market.recorder.select_events(uuid, lte=1)), None))

    def close() -> None:
        market.close()
        engine.dispose()

    return market, close
