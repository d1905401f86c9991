"""calendar: the State Council's holiday arrangement per year, imported by operators (调休).

Revision ID: 0009_official_days
Revises: 0008_extra
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0009_official_days"
down_revision: str | None = "0008_extra"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("holiday", sa.String(length=64), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_official_day")),
    )
    with op.batch_alter_table("official_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_official_day_year"), ["year"], unique=False)


def downgrade() -> None:
    op.drop_table("official_day")
