"""outbox: WeChat messages owed in full wait in the outbox as `awaiting_reply`, not in wechat_deferred.

Outside WeChat's 48-hour window a message goes out as a short template summary; the full text is
delivered with the reply to the user's next message. It used to wait in a second queue
(wechat_deferred); it is now an outbox row in the state `awaiting_reply`. Pending rows are moved.

Revision ID: 0010_held_for_reply
Revises: 0009_official_days
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0010_held_for_reply"
down_revision: str | None = "0009_official_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD_REF = "held_for_reply"


def upgrade() -> None:
    # Each pending message becomes an outbox row like the one it was sent for, with its full text.
    op.execute(
        sa.text(
            "INSERT INTO outbox (identity_id, person_id, channel, kind, text, buttons, priority, not_before,"
            " status, attempts, ref_type, ref_id, tz, created_at)"
            " SELECT d.identity_id, i.person_id, i.channel, COALESCE(o.kind, 'notice'), d.text, d.buttons,"
            " COALESCE(o.priority, 10), d.created_at, 'awaiting_reply', 0, :ref, d.outbox_id,"
            " COALESCE(o.tz, 'Asia/Shanghai'), d.created_at"
            " FROM wechat_deferred d JOIN channel_identity i ON i.id = d.identity_id"
            " LEFT JOIN outbox o ON o.id = d.outbox_id"
            " WHERE d.delivered_at IS NULL ORDER BY d.id"
        ).bindparams(ref=HELD_REF)
    )
    op.drop_index("ix_wechat_deferred_pending", table_name="wechat_deferred")
    op.drop_table("wechat_deferred")


def downgrade() -> None:
    op.create_table(
        "wechat_deferred",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identity.id"],
            name=op.f("fk_wechat_deferred_identity_id_channel_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_deferred")),
    )
    op.create_index("ix_wechat_deferred_pending", "wechat_deferred", ["identity_id", "delivered_at"])
    op.execute(
        sa.text(
            "INSERT INTO wechat_deferred (identity_id, outbox_id, text, buttons, created_at)"
            " SELECT identity_id, ref_id, text, buttons, created_at FROM outbox"
            " WHERE status = 'awaiting_reply' AND ref_type = :ref"
        ).bindparams(ref=HELD_REF)
    )
    op.execute(sa.text("DELETE FROM outbox WHERE status = 'awaiting_reply'"))
