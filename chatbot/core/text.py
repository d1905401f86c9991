"""Cleaning untrusted chat text before any flow sees it."""

from __future__ import annotations

import unicodedata
from itertools import chain

MAX_INCOMING_CHARS = 4096

# Full-width digits and Latin letters (typed by Chinese IMEs: "缺 ３ ７", "ｋ７ｍｘ…") become ASCII,
# and the ideographic space a plain space. Full-width punctuation (，：？) stays: it belongs in
# Chinese notice text, and the parsers accept both forms.
_FULLWIDTH_ALNUM = {
    code: code - 0xFEE0 for code in chain(range(0xFF10, 0xFF1A), range(0xFF21, 0xFF3B), range(0xFF41, 0xFF5B))
}
_FULLWIDTH_ALNUM[0x3000] = 0x20


def clean_text(text: str | None) -> str:
    """NFC-normalise, fold full-width letters/digits, drop control characters, trim and cap length."""
    if not text:
        return ""
    normalized = unicodedata.normalize("NFC", text).translate(_FULLWIDTH_ALNUM)
    kept = "".join(
        ch for ch in normalized if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs", "Co", "Cn"}
    )
    return kept.strip()[:MAX_INCOMING_CHARS]
