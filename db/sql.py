"""Small SQL helpers for batch work: IN lists in chunks, and "every row" without an IN list."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import true

T = TypeVar("T")
# Under SQLite's parameter limit (999 in old builds) and comfortable for PostgreSQL's planner.
CHUNK = 900


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def within(column: Any, ids: Sequence[int] | None) -> Any:
    """`column IN ids`, or no condition at all when ids is None (every row: no giant IN list)."""
    return true() if ids is None else column.in_(ids)


def school_groups(ids: Sequence[int] | None, size: int = CHUNK) -> list[Sequence[int] | None]:
    """Chunks of school ids, or one None standing for every school."""
    return [None] if ids is None else list(chunks(list(ids), size))
