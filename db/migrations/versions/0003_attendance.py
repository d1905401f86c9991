"""Slot for the attendance domain's schema changes (a no-op until that domain needs tables).

Revision ID: 0003_attendance
Revises: 0002_broadcast
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import db.base  # noqa: F401

revision: str = "0003_attendance"
down_revision: str | None = "0002_broadcast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
