"""The composition root: the one place that builds real adapters and wires the application."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from application.availability import SettingsService
from application.bookings import Bookings
from application.documents import Documents
from application.identity import Identity
from application.inbox import InboxService
from application.links import LinkService
from application.marketplace import Marketplace
from application.payments import Payments
from application.payouts import Payouts
from application.people import People
from application.privacy import Privacy
from application.privacy_files import PersonalFiles
from application.refunds import RetryPolicy
from application.throttles import ThrottledIdentity
from infrastructure import (
    migrations,
    people_export,  # noqa: F401  (the inbox's section of the privacy export)
)
from infrastructure.appointment_queries import AppointmentQueries
from infrastructure.appointments_projection import AppointmentsProjector
from infrastructure.barrier import Barrier, Barriers
from infrastructure.clock import system_clock
from infrastructure.database import (
    ASYNC_READ_POOL_SIZE,
    create_projection_engine,
    create_read_engine,
    create_write_engine,
    event_store_env,
    migration_lock,
)
from infrastructure.delivery import build_delivery
from infrastructure.directory import Directory
from infrastructure.directory_projection import DirectoryProjector
from infrastructure.document_queries import DocumentQueries
from infrastructure.documents_projection import DocumentsProjector
from infrastructure.event_reads import events_reader, preloading, snapshots_reader
from infrastructure.foreground import Foreground
from infrastructure.gateways import Gateways, PayPalGateway, RazorpayGateway, SandboxGateway
from infrastructure.inbox_queries import InboxQueries
from infrastructure.ledger_projection import LedgerProjector
from infrastructure.ledger_queries import LedgerQueries
from infrastructure.link_queries import LinkQueries
from infrastructure.people_projection import PEOPLE, PeopleProjector
from infrastructure.platform_wiring import Platform, build_platform, platform_projectors
from infrastructure.position_watch import PositionWatch
from infrastructure.privacy_export import documents_of, live_bookings_of, other_active_admins
from infrastructure.privacy_keys import KeyStore
from infrastructure.privacy_mapper import PersonalDataMapper
from infrastructure.privacy_projection import PrivacyProjector
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.pushes import Broadcaster, NullBroadcaster
from infrastructure.ratelimit import MemoryLimiter, RedisLimiter
from infrastructure.reads import AsyncReads
from infrastructure.refund_retries import RefundRetrier
from infrastructure.scheduler import Scheduler
from infrastructure.secrets_store import SqlSecrets
from infrastructure.security import BcryptHasher, JwtTokens
from infrastructure.settings import Settings
from infrastructure.settings_projection import SettingsProjector
from infrastructure.slots import SlotQueries
from infrastructure.storage import UrlSigner, build_store
from infrastructure.throttles import MemoryAttempts, RedisAttempts

log = logging.getLogger(__name__)
READ_MODELS = "read_models"
# seconds the background projection loops leave events to the commands that wrote them (run_forever)
SETTLE = 0.5


@dataclass
class Container:
    settings: Settings
    run_projections: bool
    engine: sa.Engine
    write_engine: sa.Engine
    market: Marketplace
    runner: ProjectionRunner
    directory: Directory
    identity: Identity
    people: People
    settings_service: SettingsService
    slots: SlotQueries
    bookings: Bookings
    appointments: AppointmentQueries
    scheduler: Scheduler
    tokens: JwtTokens
    limiter: Any
    sms: Any  # infrastructure.delivery: the logging adapters (development) or Twilio / SMTP
    mailer: Any
    gateway: Any
    payments: Payments
    payouts: Payouts
    ledger: LedgerQueries
    # the DuckDB reporting store and its queries, attached (reporting.wiring.attach) only in the one
    # process that owns the store
    reporting: Any = None
    analytics: Any = None
    # PostgreSQL only: hot read-model reads on the server's event loop, opened by the app's lifespan
    reads: AsyncReads | None = None
    # PostgreSQL, in a process that does not run the projections: their commits heard over LISTEN/NOTIFY
    watch: PositionWatch | None = None
    # the people projection (inbox, links): a runner of its own, so it starts from the whole history
    people_runner: ProjectionRunner | None = None
    inbox: Any = None  # application.inbox.InboxService
    links: Any = None  # application.links.LinkService
    # admin settings, locations and video calls (infrastructure.platform_wiring)
    platform: Platform | None = None
    # crypto-shredding keys (outside the event store) and the privacy commands (export, consent, erasure)
    keys: KeyStore | None = None
    privacy: Privacy | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    # files (contract platform §1-4): the file store, signed download URLs, documents
    store: Any = None
    signer: UrlSigner | None = None
    documents: Documents | None = None
    document_queries: DocumentQueries | None = None
    # the requests in flight, for the background threads to make way (infrastructure.foreground)
    foreground: Foreground = field(default_factory=Foreground)

    def set_broadcaster(self, broadcaster: Broadcaster) -> None:
        self.runner.broadcaster = broadcaster
        if self.people_runner is not None:
            self.people_runner.broadcaster = broadcaster

    @property
    def runners(self) -> list[ProjectionRunner]:
        return [self.runner, *([self.people_runner] if self.people_runner is not None else [])]

    def start_background(self) -> None:
        """Projections (when this process runs them) follow the event log in a thread."""
        if self.run_projections and not self._threads:
            self._stop.clear()
            # this process's commands project their own events (the barrier): the loops leave them that to do
            settle = {"settle": SETTLE}
            targets = [("projections", self.runner.run_forever, settle), ("scheduler", self.scheduler.run_forever, {})]
            if self.people_runner is not None:
                targets.append(("people", self.people_runner.run_forever, settle))
            for name, target, kwargs in targets:
                thread = threading.Thread(target=target, args=(self._stop,), kwargs=kwargs, daemon=True, name=name)
                thread.start()
                self._threads.append(thread)
        if self.reporting is not None and not any(t.name == "reporting" for t in self._threads):
            self.start_reporting()

    def start_reporting(self) -> None:
        assert self.reporting is not None
        self._stop.clear()
        thread = threading.Thread(
            target=self.reporting.run_forever,
            args=(self._stop,),
            kwargs={"busy": self.foreground.busy},
            daemon=True,
            name="reporting",
        )
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self.reporting is not None:
            self.reporting.close()
        if self.platform is not None:
            self.platform.close()
        if self.watch is not None:
            self.watch.close()
        self.market.close()
        self.engine.dispose()
        self.write_engine.dispose()
        self.runner.engine.dispose()


def migrate(settings: Settings) -> None:
    """Create the event store tables and upgrade the read models to the latest migration."""
    with migration_lock(settings):
        market = Marketplace(env=event_store_env(settings, create_tables=True))
        market.close()
        migrations.upgrade(settings.sqlalchemy_url)
        if not settings.uses_postgres:  # fresh statistics, so SQLite's planner uses the category indexes
            engine = create_read_engine(settings)
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            engine.dispose()


def invoice_url_of(settings: Settings) -> Any:
    base = settings.backend_url.rstrip("/")

    def invoice_url(key: str, filename: str) -> str:
        return f"{base}/api/v1/storage/proxy?{urlencode({'key': key, 'filename': filename}, safe='/')}"

    return invoice_url


def build_gateway(settings: Settings) -> Any:
    """The sandbox (embedded default) or the live Razorpay and PayPal adapters."""
    if settings.payment_gateway == "live":
        if not (settings.razorpay_key_id and settings.paypal_client_id and settings.paypal_client_secret):
            raise RuntimeError(
                "PAYMENT_GATEWAY=live needs RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, PAYPAL_CLIENT_ID "
                "and PAYPAL_CLIENT_SECRET"
            )
        return Gateways(
            RazorpayGateway(settings.razorpay_key_id, settings.resolved_razorpay_secret, settings.razorpay_api_url),
            PayPalGateway(settings.paypal_client_id, settings.paypal_client_secret, settings.paypal_api_url),
        )
    if settings.is_production:
        log.warning("PAYMENT_GATEWAY=sandbox in production: no real payment can be taken")
    return SandboxGateway(settings.razorpay_key_id or "rzp_test_sandbox", settings.resolved_razorpay_secret)


def build(
    settings: Settings | None = None, *, run_projections: bool = True, broadcaster: Broadcaster | None = None
) -> Container:
    settings = settings or Settings()
    migrate(settings)
    zone = ZoneInfo(settings.business_timezone)
    engine = create_read_engine(settings)
    write_engine = create_write_engine(settings)
    market = Marketplace(env=event_store_env(settings))
    keys = KeyStore(engine)
    assert isinstance(market.mapper, PersonalDataMapper), "event_store_env names the personal-data mapper"
    market.mapper.attach(keys, lambda uuid: next(iter(market.recorder.select_events(uuid, lte=1)), None))
    market.read_events = preloading(events_reader(market.recorder), market.mapper.preload_keys)
    if market.snapshots is not None:
        market.read_snapshots = preloading(snapshots_reader(market.snapshots.recorder), market.mapper.preload_keys)
    runner = ProjectionRunner(
        READ_MODELS,
        read_notifications=lambda start, limit: list(market.recorder.select_notifications(start, limit)),
        decode=market.mapper.to_domain_event,
        max_position=lambda: market.recorder.max_notification_id() or 0,
        engine=create_projection_engine(settings, write_engine),
        projectors=[
            SettingsProjector(),
            DirectoryProjector(),
            AppointmentsProjector(zone),
            LedgerProjector(),
            DocumentsProjector(),
            PrivacyProjector(keys),
        ]
        + platform_projectors(),
        broadcaster=broadcaster or NullBroadcaster(),
        batch_size=2000,
    )
    runner.ensure_tracking_row()
    people_runner = ProjectionRunner(  # the same log, its own tracking row
        PEOPLE,
        read_notifications=lambda start, limit: list(market.recorder.select_notifications(start, limit)),
        decode=market.mapper.to_domain_event,
        max_position=lambda: market.recorder.max_notification_id() or 0,
        engine=runner.engine,
        projectors=[PeopleProjector()],
        broadcaster=runner.broadcaster,
        batch_size=2000,
    )
    people_runner.ensure_tracking_row()
    if run_projections:
        market.on_saved = lambda saved: (runner.offer(saved), people_runner.offer(saved))
    timeout = settings.read_your_writes_timeout
    watch = position_watch(settings, market) if not run_projections else None
    market.barrier = Barriers(
        Barrier(runner, in_process=run_projections, timeout=timeout, watch=watch),
        Barrier(people_runner, in_process=run_projections, timeout=timeout, watch=watch),
    )
    directory = Directory(engine, zone)
    tokens = JwtTokens(settings.resolved_jwt_secret, settings.jwt_lifetime_seconds())
    secret_key = settings.resolved_jwt_secret.encode()
    sms, mailer = build_delivery(settings)
    hasher = BcryptHasher(settings.password_hash_rounds)
    identity = ThrottledIdentity(
        market,
        directory,
        directory,
        hasher,
        tokens,
        SqlSecrets(write_engine),
        sms,
        mailer,
        secret_digest=lambda value: hmac.new(secret_key, value.encode(), hashlib.sha256).hexdigest(),
        frontend_url=settings.frontend_url,
        clock=system_clock,
        attempts=RedisAttempts(settings.redis_url) if settings.redis_url else MemoryAttempts(),
        login_failures=settings.login_failure_limit,
        otp_guesses=settings.otp_guess_limit,
        window=settings.account_throttle_window_seconds,
    )
    people = People(market, directory, directory)
    settings_service = SettingsService(market, lambda cid: directory.by_id("consultant", cid) is not None)
    slots = SlotQueries(engine, zone)
    gateway = build_gateway(settings)
    invoice_url = invoice_url_of(settings)
    payments = Payments(
        market,
        gateway,
        settings.platform_currency,
        zone,
        invoice_url,
        clock=system_clock,
        refund_policy=refund_policy_of(settings),
    )
    bookings = Bookings(market, zone, system_clock, money=payments)
    appointment_queries = AppointmentQueries(engine)
    limiter = RedisLimiter(settings.redis_url) if settings.redis_url else MemoryLimiter()
    store = build_store(settings.storage_url, settings.data_dir)
    signer = UrlSigner(settings.backend_url, secret_key)
    document_queries = DocumentQueries(engine, signer.signed)
    documents = Documents(market, directory, store, document_queries.references)
    if run_projections:
        runner.catch_up()
        people_runner.catch_up()
    container = Container(
        settings,
        run_projections,
        engine,
        write_engine,
        market,
        runner,
        directory,
        identity,
        people,
        settings_service,
        slots,
        bookings,
        appointment_queries,
        Scheduler(bookings, appointment_queries, refunds=RefundRetrier(payments, engine)),
        tokens,
        limiter,
        sms,
        mailer,
        gateway,
        payments,
        Payouts(market, settings.platform_currency),
        LedgerQueries(engine, invoice_url),
        reads=AsyncReads(settings.database_url, ASYNC_READ_POOL_SIZE)
        if settings.uses_postgres and settings.database_url
        else None,
        store=store,
        signer=signer,
        documents=documents,
        document_queries=document_queries,
    )
    container.people_runner = people_runner
    container.watch = watch
    container.inbox = InboxService(market, InboxQueries(engine), system_clock)
    container.links = LinkService(market, LinkQueries(engine, zone))
    container.platform = build_platform(settings, market, engine)
    container.keys = keys
    container.privacy = Privacy(
        market,
        bookings,
        hasher,
        live_bookings_of(engine),
        other_active_admins(engine),
        keys,
        PersonalFiles(market, documents_of(engine), store, document_queries.references),
    )
    return container


def position_watch(settings: Settings, market: Marketplace) -> PositionWatch | None:
    """PostgreSQL: a started `PositionWatch` of this store (None on SQLite)."""
    if not (settings.uses_postgres and settings.database_url):
        return None
    return PositionWatch(settings.database_url, market.recorder.channel_name).start()  # type: ignore[attr-defined]


def refund_policy_of(settings: Settings) -> RetryPolicy:
    """Retries of failed gateway refunds (REFUND_MAX_ATTEMPTS, REFUND_RETRY_* settings)."""
    return RetryPolicy(
        max_attempts=settings.refund_max_attempts,
        base_seconds=settings.refund_retry_base_seconds,
        cap_seconds=settings.refund_retry_max_delay_seconds,
    )
