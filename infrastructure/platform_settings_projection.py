"""Admin settings: the projector of the settings events into `platform_settings`, and the reads
of the routes (whole document for an admin, the public subset), defaults filling what was never saved."""

from __future__ import annotations

import copy
from typing import Any

import sqlalchemy as sa

from domain.ids import admin_settings_document_id, platform_settings_public_id
from domain.platform_settings import (
    PLATFORM_SECTIONS,
    PROFILE,
    PUBLIC_SECTIONS,
    AdminProfileSettings,
    PlatformSettings,
)
from infrastructure.directory_projection import iso_utc
from infrastructure.json_text import dumps, loads
from infrastructure.platform_tables import platform_settings
from infrastructure.projector import Batch, Handles, HandlesDeclared

PLATFORM_ROW = "platform"


def profile_key(admin_id: str) -> str:
    return "profile:" + admin_id


class PlatformSettingsProjector(HandlesDeclared):
    handles = Handles(PlatformSettings.Event, AdminProfileSettings.Event)

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(platform_settings.delete())

    def flush(self, batch: Batch) -> None:
        return None

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not self.handles.covers(event):
            return
        when = iso_utc(event.timestamp)
        if isinstance(event, PlatformSettings.Created):
            self._create(batch, PLATFORM_ROW, when)
        elif isinstance(event, AdminProfileSettings.Created):
            self._create(batch, profile_key(event.admin_id), when)
        elif isinstance(event, PlatformSettings.SectionUpdated):
            self._set(batch, PLATFORM_ROW, event.section, event.values, when)
        elif isinstance(event, AdminProfileSettings.ProfileUpdated):
            self._set(batch, profile_key(event.admin_id), PROFILE, event.values, when)
        elif isinstance(event, AdminProfileSettings.Erased):  # the admin's account was erased
            batch.conn.execute(platform_settings.delete().where(platform_settings.c.key == profile_key(event.admin_id)))

    @staticmethod
    def _create(batch: Batch, key: str, when: str) -> None:
        batch.conn.execute(platform_settings.insert().values(key=key, document="{}", created_at=when, updated_at=when))

    @staticmethod
    def _set(batch: Batch, key: str, section: str, values: dict[str, Any], when: str) -> None:
        conn = batch.conn
        raw = conn.execute(sa.select(platform_settings.c.document).where(platform_settings.c.key == key)).scalar()
        if raw is None:
            return
        document = loads(raw)
        document[section] = values
        conn.execute(
            platform_settings.update()
            .where(platform_settings.c.key == key)
            .values(document=dumps(document), updated_at=when)
        )


class PlatformSettingsQueries:
    """The documents the admin-settings routes answer with (contract platform §6.2, §6.3)."""

    def __init__(self, engine: sa.Engine, defaults: dict[str, dict[str, Any]]):
        self.engine = engine
        self.defaults = defaults

    def _rows(self, keys: list[str]) -> dict[str, Any]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(platform_settings).where(platform_settings.c.key.in_(keys))).all()
        return {row.key: row for row in rows}

    def _sections(self, row: Any, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        saved = loads(row.document) if row is not None else {}
        return {name: {**copy.deepcopy(self.defaults[name]), **saved.get(name, {})} for name in names}

    def public(self) -> dict[str, Any]:
        """`security`, `platform` and `general` only: never a profile, notifications or an admin."""
        row = self._rows([PLATFORM_ROW]).get(PLATFORM_ROW)
        public_id = platform_settings_public_id()
        return {"_id": public_id, "id": public_id, **self._sections(row, PUBLIC_SECTIONS)}

    def of_admin(self, admin_id: str) -> dict[str, Any]:
        rows = self._rows([PLATFORM_ROW, profile_key(admin_id)])
        platform, profile = rows.get(PLATFORM_ROW), rows.get(profile_key(admin_id))
        stamps = [row for row in (platform, profile) if row is not None]
        document_id = admin_settings_document_id(admin_id)
        return {
            "_id": document_id,
            "id": document_id,
            "admin": admin_id,
            **self._sections(profile, (PROFILE,)),
            **self._sections(platform, PLATFORM_SECTIONS),
            "createdAt": min((row.created_at for row in stamps), default=None),
            "updatedAt": max((row.updated_at for row in stamps), default=None),
        }
