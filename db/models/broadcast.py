"""broadcast tables (owned by the broadcast domain)."""

from __future__ import annotations

__all__: list[str] = []
