"""calendar tables (owned by the calendar domain)."""

from __future__ import annotations

__all__: list[str] = []
