"""Issue 12 §5: real delivery of OTP codes and reset links, and secrets kept out of logs.

The SMTP mailer is tested against a real local SMTP server (aiosmtpd: plain with AUTH, STARTTLS and
implicit TLS with a test CA), the Twilio-shaped SMS adapter against a local HTTP server that checks
each request as the provider would (path, basic auth, form fields). `ENVIRONMENT=production`
refuses the logging adapters at start."""

from __future__ import annotations

import base64
import logging
import re
import secrets
import ssl
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient

from domain.errors import Unavailable
from infrastructure.delivery import SmtpMailer, TwilioSms
from interfaces.http.app import create_app
from interfaces.http.errors import status_of
from tests.conftest import ROOT, free_port, make_settings, settings_env, signup
from tests.fake_http import JsonHandler, serving

AUTH = "/api/v1/auth"
SID, TOKEN, SENDER = "AC" + "1" * 32, "auth-token-" + "z" * 8, "+15005550006"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, str]]:
    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield server_context, str(ca_file)


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    started: list[Controller] = []

    def start(**kwargs: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, **kwargs)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


def text_of(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def test_smtp_plain_with_auth_starttls_and_implicit_tls(smtp_server: Any, tls: tuple[ssl.SSLContext, str]) -> None:
    server_context, ca_file = tls
    data = {
        "user_name": "Asha",
        "reset_link": "http://localhost:5173/reset-password/abc123",
        "expiry_time": "10 minutes",
    }
    cases = [
        ({"auth_require_tls": False}, {"security": "none", "username": "mailer", "password": "s3cret"}),
        (
            {"tls_context": server_context, "require_starttls": True, "auth_required": True},
            {"security": "starttls", "username": "mailer", "password": "s3cret", "ca_file": ca_file},
        ),
        ({"ssl_context": server_context}, {"security": "ssl", "ca_file": ca_file}),
    ]
    for server_options, mailer_options in cases:
        inbox, port = smtp_server(**server_options)
        SmtpMailer("127.0.0.1", port, sender="Marketplace <no-reply@example.com>", **mailer_options).send(
            "asha@example.com", "reset-password", data
        )
        assert inbox.recipients == [["asha@example.com"]], mailer_options
        message = inbox.messages[0]
        assert (message["Subject"], message["To"]) == ("Reset your password", "asha@example.com")
        assert "Hello Asha" in text_of(message) and data["reset_link"] in text_of(message)
    # a wrong password, an untrusted certificate and a closed port: 503, the link nowhere in the error
    inbox, port = smtp_server(auth_require_tls=False)
    failures = [
        SmtpMailer("127.0.0.1", port, security="none", username="mailer", password="wrong"),
        SmtpMailer("127.0.0.1", smtp_server(ssl_context=server_context)[1], security="ssl"),
        SmtpMailer("127.0.0.1", free_port(), security="none", timeout=2),
    ]
    for mailer in failures:
        with pytest.raises(Unavailable) as refused:
            mailer.send("asha@example.com", "reset-password", data)
        assert status_of(refused.value) == 503 and "abc123" not in str(refused.value)
    assert inbox.messages == []


class TwilioLike(JsonHandler):
    """Twilio's Messages API as far as the adapter uses it; refuses what Twilio would refuse."""

    received: list[dict[str, list[str]]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server hook)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        expected_auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return self._answer(404, {"code": 20404, "message": "The requested resource was not found"})
        if self.headers.get("Authorization") != expected_auth:
            return self._answer(401, {"code": 20003, "message": "Authenticate"})
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self._answer(400, {"code": 21609, "message": "Invalid content type"})
        form = parse_qs(body)
        if not re.fullmatch(r"\+[1-9]\d{6,14}", (form.get("To") or [""])[0]) or not form.get("Body"):
            return self._answer(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})
        if form.get("From") != [SENDER]:
            return self._answer(400, {"code": 21606, "message": "The From phone number is not valid"})
        self.received.append(form)
        self._answer(201, {"sid": "SM" + secrets.token_hex(16), "status": "queued", "to": form["To"][0]})


@pytest.fixture
def twilio() -> Iterator[str]:
    TwilioLike.received = []
    with serving(TwilioLike) as url:
        yield url


def test_twilio_adapter_sends_what_the_provider_checks(twilio: str) -> None:
    TwilioSms(SID, TOKEN, SENDER, twilio).send("9876543210", "Your verification code is 123456.")
    assert TwilioLike.received == [
        {"To": ["+919876543210"], "From": [SENDER], "Body": ["Your verification code is 123456."]}
    ]
    for adapter in (TwilioSms(SID, "wrong-token", SENDER, twilio), TwilioSms(SID, TOKEN, "+1999", twilio)):
        with pytest.raises(Unavailable) as refused:
            adapter.send("+919876543210", "Your verification code is 654321.")
        assert status_of(refused.value) == 503 and "654321" not in str(refused.value)
    with pytest.raises(Unavailable):
        TwilioSms(SID, TOKEN, SENDER, f"http://127.0.0.1:{free_port()}").send("+919876543210", "x")


def secrets_in(records: list[logging.LogRecord], *secret_values: str) -> list[str]:
    """Leaks in the service's log records (not the test client's own httpx lines, which name its
    URLs, whether Starlette's test client runs on `httpx2` or on `httpx`, nor the local SMTP server's
    `mail.log`, which is the receiving end)."""
    leaks = []
    for record in records:
        client_line = record.name in ("httpx2", "httpx") and "http://testserver/" in record.getMessage()
        if record.name == "mail.log" or client_line:
            continue
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        leaks += [f"{record.name}: {text}" for value in secret_values if value in text]
    return leaks


def run_flows(api: TestClient, codes: Any, links: Any) -> tuple[list[str], list[str]]:
    """send-otp + verify-otp, forgot-password + reset-password; returns the codes and links sent."""
    mobile = "+9193" + str(secrets.randbelow(10**8)).zfill(8)
    assert api.post(f"{AUTH}/send-otp", json={"mobile": mobile}).status_code == 200
    code = codes(mobile)
    verified = api.post(f"{AUTH}/verify-otp", json={"mobile": mobile, "otp": code})
    assert verified.status_code == 200, verified.text
    email = signup(api, "Client")["user"]["email"]
    assert api.post(f"{AUTH}/forgot-password", json={"email": email}).status_code == 200
    link = links(email)
    token = link.rsplit("/", 1)[1]
    reset = api.put(f"{AUTH}/reset-password/{token}", json={"password": "N3wPassword!"})
    assert reset.status_code == 200, reset.text
    return [code], [link, token]


def test_codes_and_links_never_reach_the_logs_with_the_logging_adapters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(make_settings(tmp_path))) as api:
        container = api.app.state.container
        codes, links = run_flows(
            api,
            lambda mobile: re.search(r"\b\d{6}\b", container.sms.sent[-1][1]).group(0),  # type: ignore[union-attr]
            lambda email: container.mailer.sent[-1][2]["reset_link"],
        )
    assert secrets_in(caplog.records, *codes, *links) == []
    said = [r.getMessage() for r in caplog.records if r.name == "consult.messaging"]
    assert any(m.startswith("SMS to +91") for m in said) and any("e-mail reset-password" in m for m in said), said


def test_codes_and_links_never_reach_the_logs_with_real_delivery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, twilio: str, smtp_server: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server(auth_require_tls=False)
    settings = make_settings(
        tmp_path,
        allow_otp_in_response=False,
        sms_provider="twilio",
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from=SENDER,
        twilio_api_url=twilio,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        mail_from="no-reply@example.com",
    )
    with TestClient(create_app(settings)) as api:
        codes, links = run_flows(
            api,
            lambda mobile: re.search(r"\b\d{6}\b", TwilioLike.received[-1]["Body"][0]).group(0),  # type: ignore[union-attr]
            lambda email: re.search(r"http\S+/reset-password/\w+", text_of(inbox.messages[-1])).group(0),  # type: ignore[union-attr]
        )
    assert TwilioLike.received[-1]["To"][0].startswith("+9193")
    assert secrets_in(caplog.records, *codes, *links) == []
    assert any(r.name == "consult.delivery" and "accepted by the provider" in r.getMessage() for r in caplog.records)


def test_production_refuses_to_start_on_the_logging_sender_and_mailer(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    env = {**settings_env(settings), "ENVIRONMENT": "production"}
    for command in (["serve", "--port", str(free_port())], ["worker"]):
        result = subprocess.run(
            [sys.executable, "-m", "interfaces.cli", *command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert "refuses the logging SMS sender" in result.stderr and "SMS_PROVIDER=twilio" in result.stderr
        assert "refuses the logging mailer" in result.stderr and "SMTP_HOST" in result.stderr
    with pytest.raises(RuntimeError, match="SMTP_HOST"):
        create_app(
            make_settings(
                tmp_path,
                environment="production",
                sms_provider="twilio",
                twilio_account_sid=SID,
                twilio_auth_token=TOKEN,
                twilio_from=SENDER,
            )
        )


def test_access_log_lines_lose_reset_tokens_and_query_tokens() -> None:
    from interfaces.http.redaction import RedactSecrets

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "PUT", "/api/v1/auth/reset-password/0123abcd?x=1", "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "PUT /api/v1/auth/reset-password/[redacted]?x=1 HTTP/1.1" 200'
    record.args = ("127.0.0.1:5000", "GET", "/api/v1/storage/proxy?key=k&token=eyJ.abc.def", "1.1", 200)
    RedactSecrets().filter(record)
    assert "eyJ" not in record.getMessage() and "token=[redacted]" in record.getMessage()


def test_production_never_echoes_the_code_and_the_provider_gets_it(tmp_path: Path, twilio: str) -> None:
    settings = make_settings(
        tmp_path,
        environment="production",
        allow_otp_in_response=True,  # ignored in production
        sms_provider="twilio",
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from=SENDER,
        twilio_api_url=twilio,
        smtp_host="127.0.0.1",
    )
    with TestClient(create_app(settings)) as api:
        mobile = "+9192" + str(secrets.randbelow(10**8)).zfill(8)
        reply = api.post(f"{AUTH}/send-otp", json={"mobile": mobile})
        assert reply.json() == {"success": True, "message": "OTP sent successfully"}
        assert TwilioLike.received[-1]["To"] == [mobile]
        code = re.search(r"\b(\d{6})\b", TwilioLike.received[-1]["Body"][0]).group(1)  # type: ignore[union-attr]
        answer = api.post(f"{AUTH}/verify-otp", json={"mobile": mobile, "otp": code})
        assert answer.status_code == 200 and answer.json()["data"]["isNewUser"] is True
