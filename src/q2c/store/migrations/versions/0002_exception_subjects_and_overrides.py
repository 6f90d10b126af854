"""exception subjects and overrides

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exception_subjects",
        sa.Column("exception_id", ID, nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exception_id"], ["exceptions.id"]),
        sa.PrimaryKeyConstraint("exception_id", "entity", "record_id"),
    )
    with op.batch_alter_table("exception_subjects", schema=None) as batch_op:
        batch_op.create_index("ix_exception_subjects_record", ["entity", "record_id", "status"], unique=False)
    op.create_table(
        "overrides",
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("canonical_id", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("source_value", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lapsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("entity", "canonical_id", "field"),
    )


def downgrade() -> None:
    op.drop_table("overrides")
    with op.batch_alter_table("exception_subjects", schema=None) as batch_op:
        batch_op.drop_index("ix_exception_subjects_record")
    op.drop_table("exception_subjects")
