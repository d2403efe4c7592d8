"""Agora adapters: RTC tokens in the public AccessToken2 ("007") format, and the Cloud Recording REST API.

AccessToken2 layout (as Agora's open-source builders, AgoraIO/Tools `DynamicKey/AgoraDynamicKey`, MIT):

    token   = "007" + base64(zlib(str(signature) + info))
    info    = str(appId) + u32 issueTs + u32 expire + u32 salt + u16 serviceCount + services
    rtc     = u16 1 + u16 n + n x (u16 privilege, u32 seconds, ascending) + str(channel) + str(uid)
    signing = HMAC-SHA256(key=u32 salt, msg=HMAC-SHA256(key=u32 issueTs, msg=appCertificate))
    signature = HMAC-SHA256(key=signing, msg=info)

`str(x)` is u16 length + bytes; integers little-endian; `expire` and privilege values are durations in
seconds from `issueTs`; `uid` is "" for uid 0, else its decimal (or the user account as given)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from domain.video import RECORDER_UID, UpstreamFailed

VERSION = "007"
RTC_SERVICE = 1
JOIN_CHANNEL, PUBLISH_AUDIO, PUBLISH_VIDEO, PUBLISH_DATA = 1, 2, 3, 4
PUBLISHER_PRIVILEGES = (JOIN_CHANNEL, PUBLISH_AUDIO, PUBLISH_VIDEO, PUBLISH_DATA)
HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _string(value: bytes) -> bytes:
    return _u16(len(value)) + value


def uid_string(uid: int | str) -> str:
    """The numeric uid 0 ("let Agora assign one") packs as ""; a user account string packs as given."""
    return "" if uid == 0 else str(uid)


def _rtc_service(channel_name: str, uid: int | str, privileges: dict[int, int]) -> bytes:
    packed = _u16(RTC_SERVICE) + _u16(len(privileges))
    for key in sorted(privileges):
        packed += _u16(key) + _u32(privileges[key])
    return packed + _string(channel_name.encode()) + _string(uid_string(uid).encode())


def build_rtc_token(
    app_id: str,
    app_certificate: str,
    channel_name: str,
    uid: int | str,
    privileges: dict[int, int],
    *,
    expire: int,
    issue_ts: int,
    salt: int,
) -> str:
    """An AccessToken2 with the RTC service. `privileges` maps privilege to seconds of validity."""
    if not (HEX32.match(app_id) and HEX32.match(app_certificate)):
        raise ValueError("AccessToken2 needs a 32-hex app id and app certificate")
    info = (
        _string(app_id.encode())
        + _u32(issue_ts)
        + _u32(expire)
        + _u32(salt)
        + _u16(1)
        + _rtc_service(channel_name, uid, privileges)
    )
    signing = hmac.new(_u32(issue_ts), app_certificate.encode(), hashlib.sha256).digest()
    signing = hmac.new(_u32(salt), signing, hashlib.sha256).digest()
    signature = hmac.new(signing, info, hashlib.sha256).digest()
    return VERSION + base64.b64encode(zlib.compress(_string(signature) + info)).decode()


@dataclass
class ParsedToken:
    signature: bytes
    app_id: str
    issue_ts: int
    expire: int
    salt: int
    services: dict[int, dict[str, Any]] = field(default_factory=dict)
    signed: bytes = b""  # the bytes the signature covers

    def verifies(self, app_certificate: str) -> bool:
        signing = hmac.new(_u32(self.issue_ts), app_certificate.encode(), hashlib.sha256).digest()
        signing = hmac.new(_u32(self.salt), signing, hashlib.sha256).digest()
        return hmac.compare_digest(hmac.new(signing, self.signed, hashlib.sha256).digest(), self.signature)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ValueError("truncated token")
        chunk, self.at = self.data[self.at : self.at + size], self.at + size
        return chunk

    def u16(self) -> int:
        return int(struct.unpack("<H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def string(self) -> bytes:
        return self.take(self.u16())


def parse_token(token: str) -> ParsedToken:
    """Decode an AccessToken2 with RTC services (for tests and for checking what the service issues)."""
    if not token.startswith(VERSION):
        raise ValueError("not an AccessToken2")
    data = zlib.decompress(base64.b64decode(token[len(VERSION) :]))
    reader = _Reader(data)
    signature = reader.string()
    start = reader.at
    parsed = ParsedToken(signature, reader.string().decode(), reader.u32(), reader.u32(), reader.u32())
    for _ in range(reader.u16()):
        kind = reader.u16()
        if kind != RTC_SERVICE:
            raise ValueError(f"service {kind} not supported")
        privileges = {reader.u16(): reader.u32() for _ in range(reader.u16())}
        channel, uid = reader.string().decode(), reader.string().decode()
        parsed.services[kind] = {"privileges": privileges, "channel": channel, "uid": uid}
    if reader.at != len(data):
        raise ValueError("trailing bytes in token")
    parsed.signed = data[start:]
    return parsed


class AgoraTokens:
    """The `RtcTokens` port: AccessToken2 for the configured app; token and privileges expire together."""

    def __init__(
        self,
        app_id: str,
        app_certificate: str,
        clock: Callable[[], float] = time.time,
        salt: Callable[[], int] = lambda: secrets.randbelow(99_999_999) + 1,
    ):
        if not (HEX32.match(app_id) and HEX32.match(app_certificate)):
            raise ValueError("AGORA_APP_ID and AGORA_APP_CERTIFICATE must be 32 hexadecimal characters")
        self.app_id = app_id
        self._certificate = app_certificate
        self._clock = clock
        self._salt = salt

    def rtc_token(self, channel_name: str, uid: int | str, publisher: bool, expire_seconds: int) -> str:
        privileges = PUBLISHER_PRIVILEGES if publisher else (JOIN_CHANNEL,)
        return build_rtc_token(
            self.app_id,
            self._certificate,
            channel_name,
            uid,
            dict.fromkeys(privileges, expire_seconds),
            expire=expire_seconds,
            issue_ts=int(self._clock()),
            salt=self._salt(),
        )


@dataclass(frozen=True)
class StorageConfig:
    """Where Agora writes the recording (server configuration only: never from a request)."""

    vendor: int
    region: int
    bucket: str
    access_key: str
    secret_key: str
    file_name_prefix: tuple[str, ...] = ()

    def as_request(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "vendor": self.vendor,
            "region": self.region,
            "bucket": self.bucket,
            "accessKey": self.access_key,
            "secretKey": self.secret_key,
        }
        if self.file_name_prefix:
            body["fileNamePrefix"] = list(self.file_name_prefix)
        return body


class AgoraCloudRecording:
    """The `CloudRecorder` port over Agora's Cloud Recording REST API (HTTP Basic auth with the
    customer id and secret). Every failure (network, non-2xx, an answer without the expected field)
    is `UpstreamFailed` (502) with a short message."""

    def __init__(
        self,
        app_id: str,
        customer_id: str,
        customer_secret: str,
        storage: StorageConfig,
        base_url: str = "https://api.agora.io",
        timeout: float = 10.0,
    ):
        self.storage = storage
        self._client = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/v1/apps/{app_id}/cloud_recording",
            auth=httpx.BasicAuth(customer_id, customer_secret),
            timeout=timeout,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            reply = self._client.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise UpstreamFailed(f"Agora cloud recording unreachable: {type(error).__name__}") from None
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        if reply.status_code >= 400 or not isinstance(answer, dict):
            reason = answer.get("reason") or answer.get("message") if isinstance(answer, dict) else None
            raise UpstreamFailed(f"Agora cloud recording failed ({reply.status_code}{': ' + reason if reason else ''})")
        return answer

    @staticmethod
    def _field(answer: dict[str, Any], name: str) -> str:
        value = answer.get(name)
        if not isinstance(value, str) or not value:
            raise UpstreamFailed(f"Agora cloud recording answered without {name}")
        return value

    def acquire(self, channel_name: str) -> str:
        body = {"cname": channel_name, "uid": RECORDER_UID, "clientRequest": {"resourceExpiredHour": 24}}
        return self._field(self._call("POST", "/acquire", body), "resourceId")

    def start(self, resource_id: str, mode: str, channel_name: str, token: str) -> str:
        body = {
            "cname": channel_name,
            "uid": RECORDER_UID,
            "clientRequest": {"token": token, "storageConfig": self.storage.as_request()},
        }
        return self._field(self._call("POST", f"/resourceid/{resource_id}/mode/{mode}/start", body), "sid")

    def query(self, resource_id: str, sid: str, mode: str) -> dict[str, Any]:
        return self._call("GET", f"/resourceid/{resource_id}/sid/{sid}/mode/{mode}/query")

    def stop(self, resource_id: str, sid: str, mode: str, channel_name: str) -> dict[str, Any]:
        body = {"cname": channel_name, "uid": RECORDER_UID, "clientRequest": {}}
        return self._call("POST", f"/resourceid/{resource_id}/sid/{sid}/mode/{mode}/stop", body)
