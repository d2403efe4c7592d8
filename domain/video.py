"""Video calls (contract platform §7): the channel of an appointment, who may join it, and the cloud
recording of its call as an aggregate (one per appointment, deterministic id)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError
from domain.ids import recording_id

CHANNEL_PREFIX = "appointment-"
RECORDER_UID = "999999"  # the uid the cloud recorder joins the channel with
RECORDING, STOPPED = "recording", "stopped"


class NotConfigured(DomainError):
    """A deliberate refusal: the service is not configured for this feature (never a crash, never a 401)."""


class UpstreamFailed(DomainError):
    """The external service (Agora) refused or failed."""


def channel_of(appointment_id: str) -> str:
    return CHANNEL_PREFIX + appointment_id


def appointment_of_channel(channel_name: str) -> str:
    """The appointment id a channel name names (the rest after the prefix, as the original strips it)."""
    return channel_name.removeprefix(CHANNEL_PREFIX)


def may_join(caller_id: str, is_admin: bool, client_id: str, consultant_id: str) -> bool:
    return is_admin or caller_id in (client_id, consultant_id)


class Recording(Aggregate):
    """The cloud recording of one appointment's call: the Agora resource and session it runs under."""

    @staticmethod
    def create_id(appointment_id: str) -> UUID:  # type: ignore[override]
        return recording_id(appointment_id)

    @event("Created")
    def __init__(self, appointment_id: str) -> None:
        self.appointment_id = appointment_id
        self.resource_id: str | None = None
        self.sid: str | None = None
        self.mode = "mix"
        self.status: str | None = None
        self.file_name: str | None = None

    @event("Started")
    def start(self, resource_id: str, sid: str, mode: str, channel_name: str, started_by: str) -> None:
        self.resource_id, self.sid, self.mode = resource_id, sid, mode
        self.status = RECORDING
        self.file_name = None

    @event("Stopped")
    def stop(self, file_name: str | None, stopped_by: str) -> None:
        self.status = STOPPED
        self.file_name = file_name

    @property
    def started(self) -> bool:
        return bool(self.resource_id and self.sid)
