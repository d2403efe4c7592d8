"""Wiring of the platform features (admin settings, locations, video calls): their projector and
services, attached to the container by the composition root (`infrastructure.bootstrap`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from application.marketplace import Marketplace
from application.platform_settings import PlatformSettingsService
from application.video import CloudRecorder, RtcTokens, VideoCalls
from domain.platform_settings import default_sections
from infrastructure.agora import AgoraCloudRecording, AgoraTokens, StorageConfig
from infrastructure.locations import Locations
from infrastructure.platform_settings_projection import PlatformSettingsProjector, PlatformSettingsQueries
from infrastructure.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings_service: PlatformSettingsService
    settings_queries: PlatformSettingsQueries
    locations: Locations
    video: VideoCalls

    def close(self) -> None:
        recorder: Any = self.video.recorder
        if recorder is not None and hasattr(recorder, "close"):
            recorder.close()


def platform_projectors() -> list[Any]:
    return [PlatformSettingsProjector()]


def agora_tokens(settings: Settings) -> RtcTokens | None:
    """None (503 `Video calls are not configured`) unless both app credentials are set and well formed."""
    if not (settings.agora_app_id and settings.agora_app_certificate):
        return None
    try:
        return AgoraTokens(settings.agora_app_id, settings.agora_app_certificate)
    except ValueError as error:
        log.error("video calls disabled: %s", error)
        return None


def agora_recorder(settings: Settings) -> CloudRecorder | None:
    """None (503 `Recording is not configured`) unless the app, customer and storage settings are all set."""
    needed = (
        settings.agora_app_id,
        settings.agora_customer_id,
        settings.agora_customer_secret,
        settings.agora_storage_bucket,
        settings.agora_storage_access_key,
        settings.agora_storage_secret_key,
    )
    if not all(needed) or settings.agora_storage_vendor is None or settings.agora_storage_region is None:
        return None
    assert settings.agora_app_id and settings.agora_customer_id and settings.agora_customer_secret
    assert settings.agora_storage_bucket and settings.agora_storage_access_key and settings.agora_storage_secret_key
    storage = StorageConfig(
        vendor=settings.agora_storage_vendor,
        region=settings.agora_storage_region,
        bucket=settings.agora_storage_bucket,
        access_key=settings.agora_storage_access_key,
        secret_key=settings.agora_storage_secret_key,
        file_name_prefix=tuple(p.strip() for p in settings.agora_storage_file_prefix.split(",") if p.strip()),
    )
    return AgoraCloudRecording(
        settings.agora_app_id,
        settings.agora_customer_id,
        settings.agora_customer_secret,
        storage,
        base_url=settings.agora_api_url,
    )


def build_platform(settings: Settings, market: Marketplace, engine: sa.Engine) -> Platform:
    defaults = default_sections(settings.platform_currency, settings.business_timezone)
    return Platform(
        PlatformSettingsService(market, defaults),
        PlatformSettingsQueries(engine, defaults),
        Locations(engine),
        VideoCalls(market, agora_tokens(settings), agora_recorder(settings)),
    )
