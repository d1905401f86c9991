"""Slot for the telegram domain's schema changes (a no-op until that domain needs tables).

Revision ID: 0007_telegram
Revises: 0006_aid
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import db.base  # noqa: F401

revision: str = "0007_telegram"
down_revision: str | None = "0006_aid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
