"""Read-model tables of the documents (contract platform §4), on the shared `MetaData`: the documents and
how many there are of each type and status (the admin's list's `total` without a count of the rows)."""

from __future__ import annotations

import sqlalchemy as sa

from infrastructure.tables import ID, UtcDateTime, metadata

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("consultant_id", ID, nullable=False),
    sa.Column("appointment_id", ID, nullable=True),
    sa.Column("uploaded_by", ID, nullable=False),
    sa.Column("file_key", sa.String(200), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # notification id of the creation: newest first
    sa.Column("document", sa.Text, nullable=False),
    sa.Index("ix_documents_client_seq", "client_id", "seq"),
    sa.Index("ix_documents_consultant_seq", "consultant_id", "seq"),
    sa.Index("ix_documents_seq", "seq"),
    sa.Index("ix_documents_file_key", "file_key"),
    sa.Index("ix_documents_type_seq", "type", "seq"),  # a list of one type, newest first
    sa.Index("ix_documents_status_seq", "status", "seq"),  # a list of one status, newest first
)

document_counters = sa.Table(
    "document_counters",
    metadata,
    sa.Column("type", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)
