"""document counters: the admin's document lists without a count of the documents

Revision ID: 0023
Revises: 0022

The admin's `GET /documents` counted every document of the list for its `total` on each page, and a
list of one type or one status walked all the documents newest first testing each. The documents
projection now keeps `document_counters` (per type and status); here they are counted from the documents
already projected, and the documents get an index in each such list's order."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = "INSERT INTO document_counters (type, status, n) SELECT type, status, count(*) FROM documents GROUP BY type, status"


def upgrade() -> None:
    op.create_table(
        "document_counters",
        sa.Column("type", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.execute(FILL)
    op.create_index("ix_documents_type_seq", "documents", ["type", "seq"])
    op.create_index("ix_documents_status_seq", "documents", ["status", "seq"])


def downgrade() -> None:
    op.drop_index("ix_documents_status_seq", "documents")
    op.drop_index("ix_documents_type_seq", "documents")
    op.drop_table("document_counters")
