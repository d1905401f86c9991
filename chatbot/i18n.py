"""Translations and locale-aware formatting.

Every user-facing string goes through `_()`. The active locale is per update and lives in a
ContextVar, so concurrent updates in one event loop never see each other's language.
Catalogs are split by domain (core.po, aid.po, ...) and merged per locale at load time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.lists import format_list as _babel_format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LOCALE = "zh_Hans"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"

# Names shown in the language picker are in their own language on purpose.
LOCALE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}

_current_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> int:
    """Build .mo files from .po files that are newer; returns how many were written."""
    written = 0
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # A temporary name of this process's own: several processes (test workers, a bot and its
        # worker) may compile at once, and each replaces the .mo atomically with its own copy.
        tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        tmp.replace(mo_path)
        written += 1
    return written


@cache
def domain_catalogs(locale: str) -> dict[str, NullTranslations]:
    """Each gettext domain's catalog for one locale, by domain name."""
    compile_catalogs()
    catalogs: dict[str, NullTranslations] = {}
    for mo_path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.mo")):
        with mo_path.open("rb") as fp:
            catalogs[mo_path.stem] = Translations(fp, domain=mo_path.stem)
    return catalogs


@cache
def translations(locale: str) -> NullTranslations:
    """All domains of one locale merged: the fallback for strings used outside their own domain."""
    merged = Translations()
    for catalog in domain_catalogs(locale).values():
        assert isinstance(catalog, Translations)
        merged.merge(catalog)
    return merged


# Module prefix → gettext domain. The same English text may be translated differently in two
# domains ("Status" is 状态 in attendance, 查看进度 in broadcast), so a module's own catalog wins.
MODULE_DOMAINS: tuple[tuple[str, str], ...] = (
    ("chatbot.channels.telegram", "telegram"),
    ("chatbot.channels.wechat", "wechat"),
    ("chatbot.people", "people"),
    ("chatbot.aid", "aid"),
    ("chatbot.attendance", "attendance"),
    ("chatbot.broadcast", "broadcast"),
    ("chatbot.delivery", "delivery"),
    ("chatbot.calendar", "calendar"),
    ("chatbot.reminders", "reminders"),
    ("chatbot.scheduler", "reminders"),
    ("chatbot", "core"),
)


@lru_cache(maxsize=512)
def domain_of_module(module: str | None) -> str | None:
    for prefix, domain in MODULE_DOMAINS:
        if module and (module == prefix or module.startswith(prefix + ".")):
            return domain
    return None


def _own_catalog(caller_module: str | None, key: object) -> NullTranslations | None:
    domain = domain_of_module(caller_module)
    if domain is None:
        return None
    own = domain_catalogs(_current_locale.get()).get(domain)
    return own if own is not None and key in getattr(own, "_catalog", {}) else None


def reset_translations() -> None:
    """Forget loaded catalogs (after a catalog file changed)."""
    translations.cache_clear()
    domain_catalogs.cache_clear()


def get_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Render in `locale` for the duration of the block, then restore the previous one."""
    token = _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield _current_locale.get()
    finally:
        _current_locale.reset(token)


def gettext(message: str) -> str:
    """Translate into the current locale, preferring the calling module's own domain catalog."""
    own = _own_catalog(sys._getframe(1).f_globals.get("__name__"), message)
    return (own or translations(_current_locale.get())).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    own = _own_catalog(sys._getframe(1).f_globals.get("__name__"), (singular, 0))
    return (own or translations(_current_locale.get())).ungettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (translated when shown)."""
    return message


_ = gettext

_HINT_MAP = {
    "zh-hant": "zh_Hant",
    "zh-tw": "zh_Hant",
    "zh-hk": "zh_Hant",
    "zh-mo": "zh_Hant",
    "zh": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "en": "en",
}


def recipient_locale(*candidates: str | None, default: str | None = None) -> str:
    """The one rule for a recipient's language: the first supported of the candidates (the chat
    account's own choice, then the person's), else the configured default, else zh_Hans."""
    for candidate in (*candidates, default):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE


def locale_from_hint(hint: str | None) -> str | None:
    """Map a platform language hint (IETF tag such as 'zh-TW' or 'en-US') to a supported locale."""
    if not hint:
        return None
    tag = hint.strip().replace("_", "-").lower()
    if tag in _HINT_MAP:
        return _HINT_MAP[tag]
    if tag in {loc.lower().replace("_", "-") for loc in LOCALES}:
        return next(loc for loc in LOCALES if loc.lower().replace("_", "-") == tag)
    primary = re.split(r"-", tag, maxsplit=1)[0]
    if primary == "zh":
        return "zh_Hant" if any(part in tag for part in ("hant", "tw", "hk", "mo")) else "zh_Hans"
    return _HINT_MAP.get(primary)


def babel_locale(locale: str | None = None) -> Locale:
    loc = locale or get_locale()
    return Locale.parse({"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW", "en": "en_US"}.get(loc, loc))


def format_number(value: int | float | Decimal, locale: str | None = None) -> str:
    return format_decimal(value, locale=babel_locale(locale))


def format_yuan(value: int | float | Decimal, locale: str | None = None) -> str:
    """Money the way a reader of that language writes it: '1,250元' in Chinese, '¥1,250' in English."""
    loc = locale or get_locale()
    number = format_decimal(value, format="#,##0.##", locale=babel_locale(loc))
    return f"¥{number}" if loc == "en" else f"{number}元"


def format_day(value: date, locale: str | None = None, with_year: bool = False) -> str:
    """A short date with the weekday, e.g. '11月23日 周一' or 'Mon, Nov 23' ('2027年1月16日 周六' with the year)."""
    loc = locale or get_locale()
    if with_year:
        pattern = "EEE, MMM d, y" if loc == "en" else "y年M月d日 EEE"
    else:
        pattern = "EEE, MMM d" if loc == "en" else "M月d日 EEE"
    return _babel_format_date(value, pattern, locale=babel_locale(loc))


def format_items(items: list[str], locale: str | None = None) -> str:
    """A list in the reader's language: '2027、2028和2029' or '2027, 2028, and 2029'."""
    return _babel_format_list(items, locale=babel_locale(locale))


def format_moment(value: datetime, tz: str, locale: str | None = None) -> str:
    loc = locale or get_locale()
    pattern = "MMM d, HH:mm" if loc == "en" else "M月d日 HH:mm"
    return _babel_format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=babel_locale(loc))
