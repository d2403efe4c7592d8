"""`/agora` through HTTP (contract platform §7): tokens for the appointment's parties and admins only,
503 when Agora is not configured, recording start/status/stop against a local Agora that checks the
requests, 502 when Agora fails. Never a 401 or a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.agora import PUBLISHER_PRIVILEGES, parse_token
from interfaces.http.app import create_app
from tests.agora_fake import FakeAgora
from tests.conftest import bearer, employee_token, make_settings, refused
from tests.test_appointments import World, next_weekday

API = "/api/v1"
APP_ID = "0123456789abcdef0123456789abcdef"
APP_CERT = "fedcba9876543210fedcba9876543210"
AGORA = {
    "agora_app_id": APP_ID,
    "agora_app_certificate": APP_CERT,
    "agora_customer_id": "customer",
    "agora_customer_secret": "secret",
    "agora_storage_vendor": 1,
    "agora_storage_region": 14,
    "agora_storage_bucket": "recordings",
    "agora_storage_access_key": "AK",
    "agora_storage_secret_key": "SK",
}


@pytest.fixture
def agora() -> Iterator[FakeAgora]:
    with FakeAgora(APP_ID, "customer", "secret") as fake:
        yield fake


def open_api(tmp_path: Path, backend: str | None, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(tmp_path, backend, **overrides)))


def appointment(world: World) -> tuple[str, Any, Any]:
    consultant, client = world.consultant(), world.client()
    made = world.direct(world.admin, client, consultant, next_weekday(0), "09:00", "10:00")
    assert made.status_code == 201, made.text
    return made.json()["data"]["_id"], consultant, client


def test_tokens_for_the_parties_and_admins_only(tmp_path, backend):
    with open_api(tmp_path, backend, **AGORA) as api:
        world = World(api)
        appointment_id, consultant, client = appointment(world)
        channel = f"appointment-{appointment_id}"
        before = int(time.time())
        for token in (client.token, consultant.token, world.admin):
            reply = api.post(f"{API}/agora/token", headers=bearer(token), json={"channelName": channel})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["message"] == "Token generated successfully"
            data = body["data"]
            assert (data["uid"], data["appId"], data["channelName"]) == (0, APP_ID, channel)
            parsed = parse_token(data["token"])
            assert parsed.verifies(APP_CERT) and parsed.app_id == APP_ID
            assert parsed.services[1]["channel"] == channel and parsed.services[1]["uid"] == ""
            assert parsed.services[1]["privileges"] == dict.fromkeys(PUBLISHER_PRIVILEGES, 3600)
            assert before <= parsed.issue_ts <= int(time.time()) and parsed.expire == 3600
        audience = api.post(
            f"{API}/agora/token",
            headers=client.auth,
            json={"channelName": channel, "uid": 1234, "role": "audience", "expireTime": 600},
        ).json()["data"]
        assert audience["uid"] == 1234
        assert parse_token(audience["token"]).services[1] == {"privileges": {1: 600}, "channel": channel, "uid": "1234"}

        stranger = world.client()
        refused(
            api.post(f"{API}/agora/token", headers=stranger.auth, json={"channelName": channel}),
            403,
            "Not authorized to join this channel",
        )
        refused(
            api.post(
                f"{API}/agora/token",
                headers=bearer(employee_token(api, bearer(world.admin))),
                json={"channelName": channel},
            ),
            403,
            "Forbidden: Access denied",
        )
        refused(api.post(f"{API}/agora/token", json={"channelName": channel}), 401, "Access denied. No token provided.")
        refused(
            api.post(f"{API}/agora/token", headers=client.auth, json={"channelName": "appointment-zz"}),
            400,
            "Invalid ID format",
        )
        missing = f"appointment-{'ab' * 12}"
        refused(
            api.post(f"{API}/agora/token", headers=client.auth, json={"channelName": missing}),
            404,
            "Invalid channel name",
        )
        for bad in ({}, {"channelName": channel, "expireTime": 59}, {"channelName": channel, "role": "host"}):
            refused(api.post(f"{API}/agora/token", headers=client.auth, json=bad), 400, "Validation failed")


def test_not_configured_is_503_after_the_participant_checks(tmp_path):
    with open_api(tmp_path, None) as api:
        world = World(api)
        appointment_id, consultant, client = appointment(world)
        channel = f"appointment-{appointment_id}"
        refused(
            api.post(f"{API}/agora/token", headers=client.auth, json={"channelName": channel}),
            503,
            "Video calls are not configured",
        )
        refused(
            api.post(f"{API}/agora/token", headers=world.client().auth, json={"channelName": channel}),
            403,
            "Not authorized to join this channel",
        )
        start = {"appointmentId": appointment_id}
        refused(
            api.post(f"{API}/agora/recording/start", headers=consultant.auth, json=start),
            503,
            "Recording is not configured",
        )
        refused(
            api.post(f"{API}/agora/recording/stop", headers=consultant.auth, json=start),
            400,
            "Recording not started for this appointment",
        )
        status = api.get(f"{API}/agora/recording/status/{appointment_id}", headers=client.auth)
        assert status.status_code == 200 and status.json()["data"] == {"status": "not_started"}
    # app credentials alone give tokens, not recordings
    with open_api(tmp_path / "tokens-only", None, agora_app_id=APP_ID, agora_app_certificate=APP_CERT) as api:
        world = World(api)
        appointment_id, consultant, client = appointment(world)
        reply = api.post(
            f"{API}/agora/token", headers=client.auth, json={"channelName": f"appointment-{appointment_id}"}
        )
        assert reply.status_code == 200
        refused(
            api.post(f"{API}/agora/recording/start", headers=consultant.auth, json={"appointmentId": appointment_id}),
            503,
            "Recording is not configured",
        )


def test_recording_start_status_stop_through_agora(tmp_path, backend, agora):
    with open_api(tmp_path, backend, **AGORA, agora_api_url=agora.url) as api:
        world = World(api)
        appointment_id, consultant, client = appointment(world)
        body = {"appointmentId": appointment_id, "storageConfig": {"bucket": "from-the-browser", "secretKey": "x"}}
        refused(
            api.post(f"{API}/agora/recording/start", headers=client.auth, json=body), 403, "Forbidden: Access denied"
        )
        other = world.consultant()
        refused(
            api.post(f"{API}/agora/recording/start", headers=other.auth, json=body),
            403,
            "Only consultant can start recording",
        )
        refused(
            api.get(f"{API}/agora/recording/status/{appointment_id}", headers=world.client().auth),
            403,
            "Not authorized to view this recording",
        )
        refused(
            api.post(f"{API}/agora/recording/start", headers=consultant.auth, json={"appointmentId": "ab" * 12}),
            404,
            "Appointment not found",
        )
        refused(
            api.post(f"{API}/agora/recording/start", headers=consultant.auth, json={"appointmentId": "x"}),
            400,
            "Invalid ID format",
        )
        assert agora.requests == []  # every refusal came before any call to Agora

        started = api.post(f"{API}/agora/recording/start", headers=consultant.auth, json=body)
        assert started.status_code == 200, started.text
        data = started.json()["data"]
        assert data["channelName"] == f"appointment-{appointment_id}" and data["sid"] in agora.sessions
        start_request = agora.requests[1]["body"]
        assert start_request["clientRequest"]["storageConfig"]["bucket"] == "recordings"  # never the browser's
        recorder_token = parse_token(start_request["clientRequest"]["token"])
        assert recorder_token.verifies(APP_CERT) and recorder_token.services[1]["uid"] == "999999"

        status = api.get(f"{API}/agora/recording/status/{appointment_id}", headers=client.auth)
        assert status.status_code == 200 and status.json()["message"] == "Recording status fetched"
        assert status.json()["data"]["sid"] == data["sid"]

        agora.fail_with = 500
        refused_stop = api.post(f"{API}/agora/recording/stop", headers=consultant.auth, json=body)
        assert refused_stop.status_code == 502 and refused_stop.json()["success"] is False
        agora.fail_with = None

        stopped = api.post(f"{API}/agora/recording/stop", headers=bearer(world.admin), json=body)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["message"] == "Recording stopped successfully"
        file_url = stopped.json()["data"]["fileUrl"]
        assert file_url == f"{data['sid']}_appointment-{appointment_id}.m3u8"
        after = api.get(f"{API}/agora/recording/status/{appointment_id}", headers=consultant.auth).json()["data"]
        assert after == {"status": "stopped", "resourceId": data["resourceId"], "sid": data["sid"], "fileUrl": file_url}

        agora.fail_with = 503
        refused_start = api.post(f"{API}/agora/recording/start", headers=consultant.auth, json=body)
        assert refused_start.status_code == 502 and refused_start.json()["success"] is False
