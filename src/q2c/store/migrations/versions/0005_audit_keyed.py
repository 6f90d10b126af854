"""audit_head.keyed_from: where the audit trail's keyed chain (HMAC-SHA256) takes over from plain SHA-256

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00

Existing entries keep their SHA-256 hashes; the first entry appended with a key sets the column. A downgrade
leaves the keyed entries in place, which older code then reads as altered.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_head", sa.Column("keyed_from", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from")
