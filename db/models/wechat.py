"""wechat tables (owned by the wechat domain)."""

from __future__ import annotations

__all__: list[str] = []
