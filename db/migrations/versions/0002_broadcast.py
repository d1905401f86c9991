"""broadcast: notices, their recipients, and the outbox columns for progress edits

Revision ID: 0002_broadcast
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0002_broadcast"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_person_id", sa.Integer(), nullable=True),
        sa.Column(
            "scope_type",
            sa.Enum("region", "school", "grade", "class", name="broadcast_scope", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column(
            "audience",
            sa.Enum("parents", "teachers", "both", name="broadcast_audience", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("base_locale", sa.String(length=16), nullable=False),
        sa.Column("ack_required", sa.Boolean(), nullable=False),
        sa.Column("scheduled_at", db.base.UTCDateTime(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "cancelled", name="broadcast_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", db.base.UTCDateTime(), nullable=True),
        sa.Column("reminded_at", db.base.UTCDateTime(), nullable=True),
        sa.Column("progress_at", db.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sender_person_id"],
            ["person.id"],
            name=op.f("fk_broadcast_sender_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast")),
        sa.UniqueConstraint("request_key", name=op.f("uq_broadcast_request_key")),
    )
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcast_sender_person_id"), ["sender_person_id"], unique=False)

    op.create_table(
        "broadcast_recipient",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("acked_at", db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcast.id"],
            name=op.f("fk_broadcast_recipient_broadcast_id_broadcast"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_broadcast_recipient_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "person_id", name=op.f("pk_broadcast_recipient")),
    )
    with op.batch_alter_table("broadcast_recipient", schema=None) as batch_op:
        batch_op.create_index("ix_broadcast_recipient_ack", ["broadcast_id", "acked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcast_recipient_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edit_external_message_id", sa.String(length=128), nullable=True))
        batch_op.create_index("ix_outbox_ref_status", ["ref_type", "ref_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ref_status")
        batch_op.drop_column("edit_external_message_id")
    with op.batch_alter_table("broadcast_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_recipient_person_id"))
        batch_op.drop_index("ix_broadcast_recipient_ack")
    op.drop_table("broadcast_recipient")
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_sender_person_id"))
    op.drop_table("broadcast")
