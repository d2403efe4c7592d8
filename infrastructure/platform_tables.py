"""Read-model tables of the platform features (admin settings), on the shared `MetaData`."""

from __future__ import annotations

import sqlalchemy as sa

from infrastructure.tables import metadata

# One row for the platform-wide sections (`key` = "platform") and one per admin's profile
# (`key` = "profile:<adminId>"); `document` holds only what was saved (defaults fill the rest).
platform_settings = sa.Table(
    "platform_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

PLATFORM_READ_MODEL_TABLES = (platform_settings,)
