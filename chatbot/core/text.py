"""Cleaning untrusted chat text before any flow sees it."""

from __future__ import annotations

import unicodedata

MAX_INCOMING_CHARS = 4096


def clean_text(text: str | None) -> str:
    """NFKC-normalise (full-width digits → ASCII), drop control characters, trim and cap length."""
    if not text:
        return ""
    normalized = unicodedata.normalize("NFKC", text)
    kept = "".join(
        ch for ch in normalized if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs", "Co", "Cn"}
    )
    return kept.strip()[:MAX_INCOMING_CHARS]
