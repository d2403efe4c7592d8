"""The Agora adapters: AccessToken2 against Agora's published vectors, decoding and signature checks,
and the Cloud Recording REST adapter against a local server that checks every request."""

from __future__ import annotations

import base64
import zlib

import pytest

from domain.video import UpstreamFailed
from infrastructure.agora import (
    JOIN_CHANNEL,
    PUBLISHER_PRIVILEGES,
    AgoraCloudRecording,
    AgoraTokens,
    StorageConfig,
    build_rtc_token,
    parse_token,
)
from interfaces.http.errors import status_of
from tests.agora_fake import FakeAgora

# The inputs and expected tokens of Agora's own tests (AgoraIO/Tools, python3/test/AccessToken2Test.py).
APP_ID = "970CA35de60c44645bbae8a215061b33"
APP_CERT = "5CFd2fd1755d40ecb72977518be15d3b"
CHANNEL = "7d72365eb983485397e3e3f9d460bdda"
AGORA_RTC_UID = (
    "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj"
)
AGORA_RTC_UID_0 = (
    "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo="
)


def vector(uid: int | str) -> str:
    return build_rtc_token(APP_ID, APP_CERT, CHANNEL, uid, {JOIN_CHANNEL: 600}, expire=600, issue_ts=1111111, salt=1)


def test_tokens_equal_agoras_published_vectors():
    assert vector(2882341273) == AGORA_RTC_UID
    assert vector("2882341273") == AGORA_RTC_UID  # a user account string packs like the uid
    assert vector(0) == AGORA_RTC_UID_0


def test_a_token_decodes_to_what_was_packed_and_its_signature_checks():
    parsed = parse_token(AGORA_RTC_UID)
    assert (parsed.app_id, parsed.issue_ts, parsed.expire, parsed.salt) == (APP_ID, 1111111, 600, 1)
    assert parsed.services == {1: {"privileges": {1: 600}, "channel": CHANNEL, "uid": "2882341273"}}
    assert parsed.verifies(APP_CERT)
    assert not parsed.verifies(APP_CERT.replace("5C", "6C"))
    assert parse_token(AGORA_RTC_UID_0).services[1]["uid"] == ""


def test_any_change_to_the_packed_bytes_breaks_the_signature():
    raw = zlib.decompress(base64.b64decode(AGORA_RTC_UID[3:]))
    # the issue time, the last byte of the uid, the first byte of the join privilege's seconds
    for offset in (2 + 32 + 2 + 32, len(raw) - 1, len(raw) - 50):
        changed = bytearray(raw)
        changed[offset] ^= 0x01
        token = "007" + base64.b64encode(zlib.compress(bytes(changed))).decode()
        assert not parse_token(token).verifies(APP_CERT), offset


def test_builder_refuses_credentials_that_are_not_32_hex():
    with pytest.raises(ValueError):
        build_rtc_token("app", APP_CERT, CHANNEL, 0, {1: 60}, expire=60, issue_ts=1, salt=1)
    with pytest.raises(ValueError):
        AgoraTokens(APP_ID, "x" * 32)


def test_publisher_and_audience_privileges_and_expiry_from_the_clock():
    tokens = AgoraTokens(APP_ID, APP_CERT, clock=lambda: 1_700_000_000.7, salt=lambda: 42)
    publisher = parse_token(tokens.rtc_token("appointment-abc", 0, True, 3600))
    assert publisher.verifies(APP_CERT)
    assert (publisher.issue_ts, publisher.expire, publisher.salt) == (1_700_000_000, 3600, 42)
    assert publisher.services[1]["privileges"] == dict.fromkeys(PUBLISHER_PRIVILEGES, 3600)
    audience = parse_token(tokens.rtc_token("appointment-abc", "999999", False, 60))
    assert audience.services[1] == {"privileges": {JOIN_CHANNEL: 60}, "channel": "appointment-abc", "uid": "999999"}
    # only the numeric uid 0 means "Agora assigns one"; the account string "0" is packed as given (as Agora's builder)
    assert parse_token(tokens.rtc_token("c", 0, False, 60)).services[1]["uid"] == ""
    assert parse_token(tokens.rtc_token("c", "0", False, 60)).services[1]["uid"] == "0"


def test_parser_refuses_other_versions_and_truncated_tokens():
    with pytest.raises(ValueError):
        parse_token("006" + AGORA_RTC_UID[3:])
    raw = zlib.decompress(base64.b64decode(AGORA_RTC_UID[3:]))
    with pytest.raises(ValueError):
        parse_token("007" + base64.b64encode(zlib.compress(raw[:-3])).decode())


STORAGE = StorageConfig(
    vendor=1, region=14, bucket="recordings", access_key="AK", secret_key="SK", file_name_prefix=("calls",)
)


def test_cloud_recording_adapter_speaks_the_rest_api():
    with FakeAgora(APP_ID, "customer", "secret") as agora:
        recorder = AgoraCloudRecording(APP_ID, "customer", "secret", STORAGE, base_url=agora.url)
        resource_id = recorder.acquire("appointment-1")
        sid = recorder.start(resource_id, "mix", "appointment-1", "007token")
        assert recorder.query(resource_id, sid, "mix")["serverResponse"]["status"] == 5
        stopped = recorder.stop(resource_id, sid, "mix", "appointment-1")
        assert stopped["serverResponse"]["fileList"][0]["fileName"].endswith(".m3u8")
        recorder.close()
    methods_paths = [(r["method"], r["path"].split("/cloud_recording")[1]) for r in agora.requests]
    assert methods_paths == [
        ("POST", "/acquire"),
        ("POST", f"/resourceid/{resource_id}/mode/mix/start"),
        ("GET", f"/resourceid/{resource_id}/sid/{sid}/mode/mix/query"),
        ("POST", f"/resourceid/{resource_id}/sid/{sid}/mode/mix/stop"),
    ]
    assert {r["auth"] for r in agora.requests} == {agora.auth}
    start = agora.requests[1]["body"]
    assert start["uid"] == "999999" and start["clientRequest"]["token"] == "007token"
    assert start["clientRequest"]["storageConfig"] == {
        "vendor": 1,
        "region": 14,
        "bucket": "recordings",
        "accessKey": "AK",
        "secretKey": "SK",
        "fileNamePrefix": ["calls"],
    }
    assert agora.requests[0]["body"] == {
        "cname": "appointment-1",
        "uid": "999999",
        "clientRequest": {"resourceExpiredHour": 24},
    }


def test_cloud_recording_failures_are_upstream_failures():
    with FakeAgora(APP_ID, "customer", "secret") as agora:
        wrong = AgoraCloudRecording(APP_ID, "customer", "not-the-secret", STORAGE, base_url=agora.url)
        with pytest.raises(UpstreamFailed) as refused:
            wrong.acquire("appointment-1")
        assert status_of(refused.value) == 502 and "401" in refused.value.message
        right = AgoraCloudRecording(APP_ID, "customer", "secret", STORAGE, base_url=agora.url)
        with pytest.raises(UpstreamFailed):
            right.query("nope", "nope", "mix")
        agora.fail_with = 503
        with pytest.raises(UpstreamFailed):
            right.acquire("appointment-1")
        url = agora.url
    gone = AgoraCloudRecording(APP_ID, "customer", "secret", STORAGE, base_url=url, timeout=2)
    with pytest.raises(UpstreamFailed) as unreachable:
        gone.acquire("appointment-1")
    assert "unreachable" in unreachable.value.message
