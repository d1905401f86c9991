"""calendar: calendar entries per region/school, and the reminder idempotency ledger.

Revision ID: 0004_calendar
Revises: 0003_attendance
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0004_calendar"
down_revision: str | None = "0003_attendance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "term",
                "vacation",
                "day_off",
                "school_day",
                name="calendar_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_calendar_entry_region_id_region"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_calendar_entry_school_id_school"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entry")),
    )
    with op.batch_alter_table("calendar_entry", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_entry_region_first", ["region_id", "first_day"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_entry_school_id"), ["school_id"], unique=False)

    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("occurrence", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum("queued", "missed", "done", name="reminder_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("due_at", db.base.UTCDateTime(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sent")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_sent_key")),
    )
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_sent_rule"), ["rule"], unique=False)


def downgrade() -> None:
    op.drop_table("reminder_sent")
    op.drop_table("calendar_entry")
