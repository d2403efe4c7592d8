"""Admin settings commands: a section write merges the patch over the stored section (or the
defaults) and records it; the first write of either aggregate creates it (no 500 before a GET)."""

from __future__ import annotations

import threading
from typing import Any

from application.marketplace import Marketplace
from domain.platform_settings import (
    PLATFORM_SECTIONS,
    PROFILE,
    AdminProfileSettings,
    PlatformSettings,
    merged_section,
)


class PlatformSettingsService:
    def __init__(self, market: Marketplace, defaults: dict[str, dict[str, Any]]):
        self.market = market
        self.defaults = defaults
        # Writers of this process take turns (settings are written rarely): the one platform-wide
        # aggregate then sees conflicts only between processes, which the event store decides and
        # `Marketplace.run` retries, instead of every request thread racing every other.
        self._turn = threading.Lock()

    def update_section(self, admin_id: str, section: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Record `patch` (already validated by the caller's schema) and return the whole section."""
        with self._turn:
            return self._update(admin_id, section, patch)

    def _update(self, admin_id: str, section: str, patch: dict[str, Any]) -> dict[str, Any]:
        if section == PROFILE:
            return self._update_profile(admin_id, patch)
        if section not in PLATFORM_SECTIONS:
            raise ValueError(section)

        def command() -> tuple[dict[str, Any], list[Any]]:
            found = self.market.find(PlatformSettings.create_id(), snapshotted=True)
            settings = found if isinstance(found, PlatformSettings) else PlatformSettings()
            stored = settings.sections.get(section) or self.defaults[section]
            values = merged_section(section, stored, patch)
            if values == stored and found is not None and section in settings.sections:
                return values, []  # nothing changes: no event
            known = {key: patch[key] for key in patch if key in values}
            settings.update_section(section=section, patch=known, values=values, admin_id=admin_id)
            return values, [settings]

        return self.market.run(command)

    def _update_profile(self, admin_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        def command() -> tuple[dict[str, Any], list[Any]]:
            found = self.market.find(AdminProfileSettings.create_id(admin_id))
            profile = found if isinstance(found, AdminProfileSettings) else AdminProfileSettings(admin_id=admin_id)
            stored = profile.profile or self.defaults[PROFILE]
            values = merged_section(PROFILE, stored, patch)
            if values == stored and found is not None and profile.profile:
                return values, []
            known = {key: patch[key] for key in patch if key in values}
            profile.update_profile(patch=known, values=values, admin_id=admin_id)
            return values, [profile]

        return self.market.run(command)
