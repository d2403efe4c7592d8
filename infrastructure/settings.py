"""Configuration from the environment (pydantic-settings), with safe defaults for the embedded mode."""

from __future__ import annotations

import secrets
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# the development servers of the two apps (Vite's default port and the admin portal's)
DEV_ORIGINS = ("http://localhost:3000", "http://localhost:5173")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path("./var")
    redis_url: str | None = None
    jwt_secret: str | None = None
    jwt_expires_in: str = "24h"
    business_timezone: str = "Asia/Kolkata"
    cors_origins: str = ""
    environment: Literal["development", "production"] = "development"
    rate_limit_max: int = 500
    auth_rate_limit_max: int = 15
    rate_limit_window_seconds: int = 900
    allow_otp_in_response: bool = False
    password_hash_rounds: int = 10
    frontend_url: str = "http://localhost:5173"
    platform_currency: str = "INR"
    read_your_writes_timeout: float = 5.0
    max_body_bytes: int = 1_000_000
    # `consult import`: events per atomic write (larger: faster, more memory; a crash loses at most one)
    import_batch_events: int = Field(default=5000, ge=1, le=1_000_000)
    reporting_url: str | None = None
    # the DuckDB reporting store's buffer memory (DuckDB's own default is 80% of the machine's RAM; past
    # the limit it spills to its temporary directory), so the owning process stays bounded as the store grows
    reporting_memory_limit: str = Field(default="512MB", pattern=r"^\d+(\.\d+)?\s*([KMGT]i?B|B)$")
    socketio_channel: str = "consult-socketio"
    # FastAPI's OpenTelemetry instrumentation (a span, metrics and logs per request, to the providers
    # the OpenTelemetry SDK was given). Off unless asked for: even with no provider configured it
    # asked the environment for three of them on every request.
    otel_telemetry: bool = False
    backend_url: str = "http://127.0.0.1:8000"
    payment_gateway: Literal["sandbox", "live"] = "sandbox"
    razorpay_key_id: str | None = None
    razorpay_key_secret: str | None = None
    razorpay_api_url: str = "https://api.razorpay.com/v1"
    paypal_client_id: str | None = None
    paypal_client_secret: str | None = None
    paypal_api_url: str = "https://api-m.sandbox.paypal.com"
    # money hardening (issue 12): the largest single amount any request may carry (major units),
    # and the retries of failed gateway refunds (exponential backoff, then Failed + admin notice)
    max_amount: Decimal = Field(default=Decimal("10000000"), gt=0, le=Decimal("1000000000000"))
    refund_max_attempts: int = Field(default=8, ge=1, le=50)
    refund_retry_base_seconds: float = Field(default=60.0, gt=0)
    refund_retry_max_delay_seconds: float = Field(default=21600.0, gt=0)
    # abuse limits (docs/SECURITY.md): per-account and per-phone throttles, trusted proxies
    login_failure_limit: int = 10
    otp_guess_limit: int = 10
    account_throttle_window_seconds: int = 900
    forwarded_allow_ips: str = ""
    # delivery of OTP codes and reset links: SMTP mail, an HTTP SMS provider (Twilio's Messages API)
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: str | None = None
    smtp_timeout: float = 10.0
    mail_from: str = "no-reply@localhost"
    sms_provider: Literal["log", "twilio"] = "log"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    storage_url: str = "file://"
    # Video calls (Agora): tokens need the app id and certificate; cloud recording also needs the
    # customer id/secret and where Agora stores the files (never taken from a request)
    agora_app_id: str | None = None
    agora_app_certificate: str | None = None
    agora_customer_id: str | None = None
    agora_customer_secret: str | None = None
    agora_api_url: str = "https://api.agora.io"
    agora_storage_vendor: int | None = None
    agora_storage_region: int | None = None
    agora_storage_bucket: str | None = None
    agora_storage_access_key: str | None = None
    agora_storage_secret_key: str | None = None
    agora_storage_file_prefix: str = ""

    @field_validator(
        "database_url",
        "redis_url",
        "jwt_secret",
        "reporting_url",
        "razorpay_key_id",
        "razorpay_key_secret",
        "paypal_client_id",
        "paypal_client_secret",
        "smtp_host",
        "smtp_port",
        "smtp_username",
        "smtp_password",
        "smtp_ca_file",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from",
        "agora_app_id",
        "agora_app_certificate",
        "agora_customer_id",
        "agora_customer_secret",
        "agora_storage_vendor",
        "agora_storage_region",
        "agora_storage_bucket",
        "agora_storage_access_key",
        "agora_storage_secret_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url) and self.database_url.split(":", 1)[0].startswith("postgres")

    @property
    def sqlite_path(self) -> Path:
        if self.database_url:
            return Path(self.database_url.split("///", 1)[1])
        return self.data_dir / "consult.db"

    @property
    def sqlalchemy_url(self) -> str:
        if self.uses_postgres:
            assert self.database_url
            rest = self.database_url.split("://", 1)[1]
            return "postgresql+psycopg://" + rest
        return f"sqlite:///{self.sqlite_path}"

    @property
    def cors_origin_list(self) -> list[str]:
        """CORS_ORIGINS; unset outside production: the two apps' development servers."""
        listed = [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
        return listed or ([] if self.is_production else list(DEV_ORIGINS))

    @property
    def forwarded_allow_list(self) -> list[str]:
        """Proxies whose X-Forwarded-For is believed (addresses, networks or `*`); none by default."""
        return [host.strip() for host in self.forwarded_allow_ips.split(",") if host.strip()]

    @property
    def otp_echo_enabled(self) -> bool:
        return self.allow_otp_in_response and not self.is_production

    @cached_property
    def resolved_jwt_secret(self) -> str:
        """JWT_SECRET, or in development a secret generated once and kept in DATA_DIR."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.is_production:
            raise RuntimeError("JWT_SECRET is required when ENVIRONMENT=production")
        return self._generated_secret("jwt_secret")

    @cached_property
    def resolved_razorpay_secret(self) -> str:
        """RAZORPAY_KEY_SECRET, or for the sandbox gateway a secret generated once into DATA_DIR."""
        if self.razorpay_key_secret:
            return self.razorpay_key_secret
        if self.payment_gateway == "live":
            raise RuntimeError("RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET are required when PAYMENT_GATEWAY=live")
        return self._generated_secret("razorpay_secret")

    def _generated_secret(self, name: str) -> str:
        path = self.data_dir / name
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            candidate = secrets.token_urlsafe(48)
            try:
                with path.open("x") as handle:  # exclusive create: concurrent starters agree
                    handle.write(candidate)
                path.chmod(0o600)
            except FileExistsError:
                pass
        return path.read_text().strip()

    def jwt_lifetime_seconds(self) -> int:
        return parse_duration(self.jwt_expires_in)


def parse_duration(text: str) -> int:
    """`24h`, `15m`, `7d`, `3600s` or a bare number of seconds (as jsonwebtoken's `expiresIn`)."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)
