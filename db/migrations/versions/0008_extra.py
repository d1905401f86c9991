"""Slot for the extra domain's schema changes (a no-op until that domain needs tables).

Revision ID: 0008_extra
Revises: 0007_telegram
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import db.base  # noqa: F401

revision: str = "0008_extra"
down_revision: str | None = "0007_telegram"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
