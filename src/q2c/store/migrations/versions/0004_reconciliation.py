"""drifts: what each reconciliation run found, record by record

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "drifts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("pair", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("left_values", sa.JSON(), nullable=True),
        sa.Column("right_values", sa.JSON(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("fix", sa.JSON(), nullable=True),
        sa.Column("exception_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_drifts_run", "drifts", ["run_id", "pair"])
    op.create_index("ix_drifts_record", "drifts", ["pair", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_drifts_record", table_name="drifts")
    op.drop_index("ix_drifts_run", table_name="drifts")
    op.drop_table("drifts")
