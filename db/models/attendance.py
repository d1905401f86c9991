"""attendance tables (owned by the attendance domain)."""

from __future__ import annotations

__all__: list[str] = []
