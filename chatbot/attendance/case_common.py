"""What the dropout-risk case modules share: the school row a close hands over, the look-back, and
who holds a role in a scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Membership, Role, ScopeType
from db.sql import chunks

# Calendar days searched back for the last N roll-call days (covers a winter break of 20 school days).
LOOKBACK_DAYS = 75


@dataclass(frozen=True)
class SchoolRow:
    id: int
    region_id: int
    tz: str
    settings: dict[str, Any]


def people_with_role(
    session: Session, role: Role, scope_type: ScopeType, scope_ids: Sequence[int]
) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(sorted(set(scope_ids))):
        for scope_id, person_id in session.execute(
            select(Membership.scope_id, Membership.person_id).where(
                Membership.role == role, Membership.scope_type == scope_type, Membership.scope_id.in_(chunk)
            )
        ):
            found[scope_id].append(person_id)
    return found


__all__ = ["LOOKBACK_DAYS", "SchoolRow", "people_with_role"]
