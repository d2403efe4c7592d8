"""`/agora` (contract platform §7): RTC tokens for the channel `appointment-<id>` (its client, its
consultant, admins) and the cloud recording of the call. Not configured: 503; Agora failing: 502."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from application.video import Caller, VideoCalls
from interfaces.http.deps import AppContainer, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ErrorBody, ok
from interfaces.http.fields import Body

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    502: {"model": ErrorBody, "description": "Agora refused or failed"},
    503: {"model": ErrorBody, "description": "Video calls (or recording) are not configured"},
}
router = APIRouter(prefix="/agora", tags=["video calls"], responses=RESPONSES)
Participant = Annotated[Principal, Depends(require("Admin", "Consultant", "Client"))]
Manager = Annotated[Principal, Depends(require("Admin", "Consultant"))]
Uid = Annotated[int, Field(ge=0, le=4_294_967_295)] | Annotated[str, Field(max_length=255)]


class TokenRequest(Body):
    channelName: Annotated[str, Field(min_length=1, max_length=200, description="appointment-<appointmentId>")]
    uid: Uid = 0
    role: Literal["publisher", "audience"] = "publisher"
    expireTime: Annotated[int, Field(ge=60, le=86_400)] = 3600


class RecordingRequest(Body):
    """`storageConfig` of the original is ignored: storage comes from server configuration only."""

    appointmentId: Annotated[str, Field(min_length=1, max_length=100)]
    mode: Literal["mix", "individual"] = "mix"


class TokenData(Document):
    token: str
    channelName: str
    uid: int | str
    appId: str


class RecordingStarted(Document):
    resourceId: str
    sid: str
    channelName: str


class RecordingStopped(Document):
    fileUrl: str | None = Field(description="the first recorded file's name in the storage bucket")


def _video(app: AppContainer) -> VideoCalls:
    assert app.platform is not None
    return app.platform.video


def _caller(principal: Principal) -> Caller:
    return Caller(principal.id, principal.is_admin)


@router.post("/token", response_model=Envelope[TokenData])
def token(app: AppContainer, principal: Participant, body: TokenRequest) -> Any:
    data = _video(app).token(_caller(principal), body.channelName, body.uid, body.role == "publisher", body.expireTime)
    return ok("Token generated successfully", data)


@router.post("/recording/start", response_model=Envelope[RecordingStarted])
def start_recording(app: AppContainer, principal: Manager, body: RecordingRequest) -> Any:
    data = _video(app).start_recording(_caller(principal), body.appointmentId, body.mode)
    return ok("Recording started successfully", data)


@router.post("/recording/stop", response_model=Envelope[RecordingStopped])
def stop_recording(app: AppContainer, principal: Manager, body: RecordingRequest) -> Any:
    data = _video(app).stop_recording(_caller(principal), body.appointmentId)
    return ok("Recording stopped successfully", data)


@router.get("/recording/status/{appointmentId}", response_model=Envelope[Document])
def recording_status(
    app: AppContainer, principal: Participant, appointmentId: Annotated[str, Path(max_length=100)]
) -> Any:
    message, data = _video(app).recording_status(_caller(principal), appointmentId)
    return ok(message, data)
