"""Translation catalogs, one gettext domain per package so work on one domain never touches another.

    python -m chatbot.catalogs update [DOMAIN ...]   extract strings, merge into every locale's .po
    python -m chatbot.catalogs check                 fail on any missing, fuzzy or mismatched entry
    python -m chatbot.catalogs fill DOMAIN FILE.json set translations from
                                                     {"msgid": {"zh_Hans": "...", "zh_Hant": "..."}}

New English entries are filled in automatically (the msgid is the English text); Chinese ones
must be translated by hand. `check` is what CI runs (through tests/test_catalogs.py too).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from chatbot.i18n import LOCALE_DIR, LOCALES

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}

# Domain → source paths. Every module under chatbot/ belongs to exactly one domain.
DOMAINS: dict[str, tuple[str, ...]] = {
    "core": (
        "chatbot/core",
        "chatbot/app.py",
        "chatbot/cli.py",
        "chatbot/commands.py",
        "chatbot/demo.py",
        "chatbot/cli_i18n.py",
        "chatbot/config.py",
        "chatbot/i18n.py",
        "chatbot/logs.py",
        "chatbot/clock.py",
        "chatbot/catalogs.py",
        "chatbot/__init__.py",
        "chatbot/channels/__init__.py",
        "chatbot/channels/console.py",
        "chatbot/channels/cli.py",
        "chatbot/channels/base.py",
        "chatbot/channels/registry.py",
        "chatbot/channels/serve.py",
    ),
    "people": ("chatbot/people",),
    "aid": ("chatbot/aid",),
    "attendance": ("chatbot/attendance",),
    "broadcast": ("chatbot/broadcast",),
    "delivery": ("chatbot/delivery",),
    "calendar": ("chatbot/calendar",),
    "reminders": ("chatbot/reminders", "chatbot/scheduler.py"),
    "telegram": ("chatbot/channels/telegram",),
    "wechat": ("chatbot/channels/wechat",),
}
# A translation must keep the msgid's placeholders: str.format fields ({name}, {name!r}, {n:,}) and
# the %-style ones that argparse's messages use (%(name)s, %(name)r, %s, %r, %d); "%%" is a literal.
PLACEHOLDER = re.compile(
    r"\{[a-zA-Z_][a-zA-Z0-9_]*(?:![rsa])?(?::[^{}]*)?\}"
    r"|%%"
    r"|%(?:\([a-zA-Z_][a-zA-Z0-9_]*\))?[sdri]"
)


def _placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def domain_files(domain: str) -> Iterator[Path]:
    for rel in DOMAINS[domain]:
        path = ROOT / rel
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        elif path.with_suffix(".py").exists() and not path.suffix:
            yield path.with_suffix(".py")
        elif path.exists():
            yield path
        elif (ROOT / (rel + ".py")).exists():
            yield ROOT / (rel + ".py")


def unmapped_modules() -> list[str]:
    mapped = {p.resolve() for d in DOMAINS for p in domain_files(d)}
    return sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "chatbot").rglob("*.py") if p.resolve() not in mapped
    )


def extract(domain: str) -> Catalog:
    template = Catalog(domain=domain)
    for path in domain_files(domain):
        for lineno, message, comments, context in extract_from_file(
            "python", str(path), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            template.add(
                message,
                locations=[(str(path.relative_to(ROOT)), lineno)],
                auto_comments=comments,
                context=context,
                flags=("python-brace-format",) if isinstance(message, str) and "{" in message else (),
            )
    return template


def po_path(locale: str, domain: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def update(domain: str) -> None:
    template = extract(domain)
    for locale in LOCALES:
        path = po_path(locale, domain)
        if path.exists():
            with path.open("rb") as fp:
                catalog = read_po(fp, locale=locale, domain=domain)
        else:
            catalog = Catalog(locale=locale, domain=domain, project="jiaxiao", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        if locale == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        catalog.fuzzy = False
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fp:
            write_po(fp, catalog, width=0, omit_header=False, ignore_obsolete=True, sort_output=False)


def problems() -> list[str]:
    found = [f"{module}: not in any domain of chatbot/catalogs.py" for module in unmapped_modules()]
    for domain in DOMAINS:
        wanted = {m.id for m in extract(domain) if m.id}
        for locale in LOCALES:
            path = po_path(locale, domain)
            if not wanted:
                continue
            if not path.exists():
                found.append(f"{path.relative_to(ROOT)}: missing ({len(wanted)} messages)")
                continue
            with path.open("rb") as fp:
                catalog = read_po(fp, locale=locale, domain=domain)
            for msgid in sorted(wanted, key=str):
                message = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
                where = f"{path.relative_to(ROOT)}: {msgid!r}"
                if message is None:
                    found.append(f"{where}: not in catalog (run: python -m chatbot.catalogs update {domain})")
                elif message.fuzzy:
                    found.append(f"{where}: fuzzy")
                elif not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                    found.append(f"{where}: untranslated")
                else:
                    source = str(msgid if isinstance(msgid, str) else msgid[0])
                    strings = (
                        tuple(message.string)
                        if isinstance(message.string, (tuple, list))
                        else (str(message.string),)
                    )
                    for translated in strings:
                        if _placeholders(source) != _placeholders(translated):
                            found.append(f"{where}: placeholders differ in {translated!r}")
    return found


def fill(domain: str, translations: dict[str, dict[str, str]]) -> int:
    """Write given translations into the domain's catalogs; returns how many were set."""
    count = 0
    for locale in LOCALES:
        path = po_path(locale, domain)
        with path.open("rb") as fp:
            catalog = read_po(fp, locale=locale, domain=domain)
        for msgid, by_locale in translations.items():
            message = catalog.get(msgid)
            if message is not None and by_locale.get(locale):
                message.string = by_locale[locale]
                message.flags.discard("fuzzy")
                count += 1
        with path.open("wb") as fp:
            write_po(fp, catalog, width=0, ignore_obsolete=True, sort_output=False)
    return count


def main(argv: list[str]) -> int:
    if argv[:1] == ["fill"] and len(argv) == 3:
        import json

        print(fill(argv[1], json.loads(Path(argv[2]).read_text(encoding="utf-8"))), "strings set")
        return 0
    if not argv or argv[0] not in {"update", "check"}:
        print(__doc__)
        return 2
    if argv[0] == "update":
        for domain in argv[1:] or list(DOMAINS):
            if domain not in DOMAINS:
                print(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}", file=sys.stderr)
                return 2
            update(domain)
        return 0
    issues = problems()
    for line in issues:
        print(line)
    print(f"{len(issues)} translation problems")
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
