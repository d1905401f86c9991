"""WeChat channel: the shared access_token and messages deferred behind a template summary.

Revision ID: 0005_wechat
Revises: 0004_calendar
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0005_wechat"
down_revision: str | None = "0004_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wechat_access_token",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("expires_at", db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_wechat_access_token")),
    )
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


def downgrade() -> None:
    op.drop_index("ix_wechat_deferred_pending", table_name="wechat_deferred")
    op.drop_table("wechat_deferred")
    op.drop_table("wechat_access_token")
