"""Video calls (contract platform §7): RTC tokens for an appointment's parties and admins, and the
cloud recording of its call. The order of checks is the contract's: validation, appointment lookup
(400/404), role and participant (403), state (400), configuration (503), then the external call
(its failures 502). Nothing here is a 500."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from application.marketplace import Marketplace
from domain.appointments import Appointment
from domain.errors import Forbidden, Invalid, NotFound
from domain.ids import aggregate_id, is_object_id
from domain.video import (
    RECORDER_UID,
    STOPPED,
    NotConfigured,
    Recording,
    appointment_of_channel,
    channel_of,
    may_join,
)

NOT_CONFIGURED = "Video calls are not configured"
RECORDING_NOT_CONFIGURED = "Recording is not configured"
RECORDER_TOKEN_SECONDS = 3600


class RtcTokens(Protocol):
    """Builds RTC tokens for one configured app (Agora AccessToken2 in production)."""

    app_id: str

    def rtc_token(self, channel_name: str, uid: int | str, publisher: bool, expire_seconds: int) -> str: ...


class CloudRecorder(Protocol):
    """The cloud-recording REST API (acquire, start, query, stop); raises `UpstreamFailed` on failures."""

    def acquire(self, channel_name: str) -> str: ...
    def start(self, resource_id: str, mode: str, channel_name: str, token: str) -> str: ...
    def query(self, resource_id: str, sid: str, mode: str) -> dict[str, Any]: ...
    def stop(self, resource_id: str, sid: str, mode: str, channel_name: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Caller:
    id: str
    is_admin: bool


def _file_name(answer: dict[str, Any]) -> str | None:
    """The first recorded file of a stop answer (`fileList` is a list, or a string in the older API)."""
    files = (answer.get("serverResponse") or {}).get("fileList")
    if isinstance(files, list) and files and isinstance(files[0], dict):
        name = files[0].get("fileName")
        return str(name) if name else None
    return files if isinstance(files, str) and files else None


class VideoCalls:
    def __init__(self, market: Marketplace, tokens: RtcTokens | None, recorder: CloudRecorder | None):
        self.market = market
        self.tokens = tokens
        self.recorder = recorder

    def _appointment(self, appointment_id: str, missing: str) -> Appointment:
        if not is_object_id(appointment_id.lower()):
            raise Invalid("Invalid ID format")
        found = self.market.find(aggregate_id(appointment_id.lower()), readonly=True)
        if not isinstance(found, Appointment) or found.deleted:
            raise NotFound(missing)
        return found

    def _recording(self, appointment_id: str) -> Recording | None:
        found = self.market.find(Recording.create_id(appointment_id))
        return found if isinstance(found, Recording) else None

    def token(self, caller: Caller, channel_name: str, uid: int | str, publisher: bool, expire: int) -> dict[str, Any]:
        appointment = self._appointment(appointment_of_channel(channel_name), "Invalid channel name")
        if not may_join(caller.id, caller.is_admin, appointment.client_id, appointment.consultant_id):
            raise Forbidden("Not authorized to join this channel")
        if self.tokens is None:
            raise NotConfigured(NOT_CONFIGURED)
        token = self.tokens.rtc_token(channel_name, uid, publisher, expire)
        return {"token": token, "channelName": channel_name, "uid": uid, "appId": self.tokens.app_id}

    def _recorder(self) -> tuple[RtcTokens, CloudRecorder]:
        if self.tokens is None or self.recorder is None:
            raise NotConfigured(RECORDING_NOT_CONFIGURED)
        return self.tokens, self.recorder

    def start_recording(self, caller: Caller, appointment_id: str, mode: str) -> dict[str, Any]:
        appointment = self._appointment(appointment_id, "Appointment not found")
        if not (caller.is_admin or caller.id == appointment.consultant_id):
            raise Forbidden("Only consultant can start recording")
        tokens, recorder = self._recorder()
        channel = channel_of(appointment.appointment_id)
        resource_id = recorder.acquire(channel)  # a fresh resource each time: one lives 5 minutes unused
        token = tokens.rtc_token(channel, RECORDER_UID, True, RECORDER_TOKEN_SECONDS)
        sid = recorder.start(resource_id, mode, channel, token)

        def command() -> tuple[None, list[Any]]:
            recording = self._recording(appointment.appointment_id) or Recording(
                appointment_id=appointment.appointment_id
            )
            recording.start(resource_id=resource_id, sid=sid, mode=mode, channel_name=channel, started_by=caller.id)
            return None, [recording]

        self.market.run(command)
        return {"resourceId": resource_id, "sid": sid, "channelName": channel}

    def stop_recording(self, caller: Caller, appointment_id: str) -> dict[str, Any]:
        appointment = self._appointment(appointment_id, "Appointment not found")
        if not (caller.is_admin or caller.id == appointment.consultant_id):
            raise Forbidden("Only consultant can stop recording")
        recording = self._recording(appointment.appointment_id)
        if recording is None or not recording.started:
            raise Invalid("Recording not started for this appointment")
        _, recorder = self._recorder()
        assert recording.resource_id is not None and recording.sid is not None
        channel = channel_of(appointment.appointment_id)
        answer = recorder.stop(recording.resource_id, recording.sid, recording.mode, channel)
        file_name = _file_name(answer)

        def command() -> tuple[None, list[Any]]:
            current = self._recording(appointment.appointment_id)
            assert current is not None
            current.stop(file_name=file_name, stopped_by=caller.id)
            return None, [current]

        self.market.run(command)
        return {"fileUrl": file_name, **answer}

    def recording_status(self, caller: Caller, appointment_id: str) -> tuple[str, dict[str, Any]]:
        appointment = self._appointment(appointment_id, "Appointment not found")
        if not may_join(caller.id, caller.is_admin, appointment.client_id, appointment.consultant_id):
            raise Forbidden("Not authorized to view this recording")
        recording = self._recording(appointment.appointment_id)
        if recording is None or not recording.started:
            return "Recording not started", {"status": "not_started"}
        if recording.status == STOPPED:  # Agora forgets a stopped session: answer from what was recorded
            stopped = {"status": STOPPED, "resourceId": recording.resource_id, "sid": recording.sid}
            return "Recording status fetched", {**stopped, "fileUrl": recording.file_name}
        _, recorder = self._recorder()
        assert recording.resource_id is not None and recording.sid is not None
        return "Recording status fetched", recorder.query(recording.resource_id, recording.sid, recording.mode)
