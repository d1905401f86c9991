"""Slot for the aid domain's schema changes (a no-op until that domain needs tables).

Revision ID: 0006_aid
Revises: 0005_wechat
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import db.base  # noqa: F401

revision: str = "0006_aid"
down_revision: str | None = "0005_wechat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
