"""Real delivery of OTP codes and password-reset links: an SMTP mailer (stdlib smtplib: STARTTLS,
implicit TLS or plain, optional AUTH) and an HTTP SMS adapter speaking Twilio's Messages API
(`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` or
`MessagingServiceSid`, `Body`, HTTP basic auth with the account SID and auth token).

Neither logs a message's content: a log line says that a message went out (or failed), to whom
(masked) and the provider's id or status. A delivery that fails answers 503 (`Unavailable`);
nothing of the secret leaks into the error either. `build_delivery` picks the adapters from the
settings and refuses, in production, the logging ones (`production_problem`)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import httpx

from domain.errors import Unavailable
from domain.phones import to_e164
from infrastructure.messaging import LoggingMailer, LoggingSms, masked
from infrastructure.settings import Settings

log = logging.getLogger("consult.delivery")

SMS_FAILED = "Could not send the OTP. Please try again later."
MAIL_FAILED = "Could not send the e-mail. Please try again later."
TEMPLATES = {
    "reset-password": (
        "Reset your password",
        "Hello {user_name},\n\nSomeone (hopefully you) asked to reset your password. Open this link within "
        "{expiry_time} to choose a new one:\n\n{reset_link}\n\nIf you did not ask for it, ignore this e-mail.\n",
    ),
}


def render(template: str, data: dict[str, Any]) -> tuple[str, str]:
    subject, body = TEMPLATES.get(template, (template, ""))
    if not body:
        return subject, "".join(f"{key}: {value}\n" for key, value in data.items())
    return subject, body.format(**{key: str(value) for key, value in data.items()})


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int | None = None,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str = "no-reply@localhost",
        ca_file: str | None = None,
        timeout: float = 10.0,
    ):
        self.host = host
        self.security = security
        self.port = port or {"ssl": 465, "starttls": 587}.get(security, 25)
        self.username = username
        self.password = password
        self.sender = sender
        self.ca_file = ca_file
        self.timeout = timeout

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def send(self, to: str, template: str, data: dict[str, Any]) -> None:
        subject, body = render(template, data)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            client: smtplib.SMTP
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if self.security == "starttls":
                    client.starttls(context=self._context())
                    client.ehlo()
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            log.error("e-mail %s to %s failed: %s", template, masked(to), type(error).__name__)
            raise Unavailable(MAIL_FAILED) from None
        log.info("e-mail %s to %s handed to %s:%s", template, masked(to), self.host, self.port)


class TwilioSms:
    def __init__(self, account_sid: str, auth_token: str, sender: str, api_url: str = "https://api.twilio.com"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.http = httpx.Client(timeout=10.0)

    def send(self, mobile: str, text: str) -> None:
        to = to_e164(mobile)
        form = {"To": to, "Body": text}
        form["MessagingServiceSid" if self.sender.startswith("MG") else "From"] = self.sender
        try:
            reply = self.http.post(self.url, data=form, auth=(self.account_sid, self.auth_token))
        except httpx.HTTPError as error:
            log.error("SMS to %s failed: %s", masked(to), type(error).__name__)
            raise Unavailable(SMS_FAILED) from None
        if reply.status_code >= 300:
            code = _json(reply).get("code")
            log.error("SMS to %s refused by the provider: HTTP %s, error code %s", masked(to), reply.status_code, code)
            raise Unavailable(SMS_FAILED)
        log.info("SMS to %s accepted by the provider (message %s)", masked(to), _json(reply).get("sid"))


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def production_problem(settings: Settings) -> str | None:
    """Why this configuration may not run as `ENVIRONMENT=production` (None: it may)."""
    problems = []
    if settings.sms_provider == "twilio" and not (
        settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
    ):
        problems.append("SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM")
    if settings.is_production:
        if settings.sms_provider == "log":
            problems.append(
                "ENVIRONMENT=production refuses the logging SMS sender: set SMS_PROVIDER=twilio with "
                "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM"
            )
        if not settings.smtp_host:
            problems.append(
                "ENVIRONMENT=production refuses the logging mailer: set SMTP_HOST (and SMTP_PORT, SMTP_SECURITY, "
                "SMTP_USERNAME, SMTP_PASSWORD, MAIL_FROM)"
            )
    return "; ".join(problems) or None


def build_delivery(settings: Settings) -> tuple[Any, Any]:
    """(SMS sender, mailer) for these settings; raises RuntimeError where `production_problem` objects."""
    problem = production_problem(settings)
    if problem:
        raise RuntimeError(problem)
    sms: Any = LoggingSms()
    if settings.sms_provider == "twilio":
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
        sms = TwilioSms(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from, settings.twilio_api_url
        )
    mailer: Any = LoggingMailer()
    if settings.smtp_host:
        mailer = SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            settings.smtp_password,
            settings.mail_from,
            settings.smtp_ca_file,
            settings.smtp_timeout,
        )
    return sms, mailer
