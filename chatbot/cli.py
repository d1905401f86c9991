"""`python bot.py SUBCOMMAND`: the operator's command line. Each domain adds its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from chatbot.app import App, NotMigrated
from chatbot.cli_i18n import argparse_translations
from chatbot.clock import utcnow
from chatbot.config import ConfigError, Settings, load_settings
from chatbot.i18n import DEFAULT_LOCALE, LOCALES, _, set_locale
from chatbot.logs import configure_logging

Handler = Callable[[argparse.Namespace, App], int]

# Each module exposes `register(subparsers)`, adding parsers whose defaults set `handler=`.
CLI_MODULES = (
    "chatbot.people.cli",
    "chatbot.aid.cli",
    "chatbot.attendance.cli",
    "chatbot.broadcast.cli",
    "chatbot.delivery.cli",
    "chatbot.calendar.cli",
    "chatbot.reminders.cli",
    "chatbot.channels.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description=_("Jiaxiao 家校 — aid questions, attendance, dropout alerts, reminders and notices."),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def cli_locale(argv: Sequence[str], settings: Settings | None) -> str:
    """The language of the command line itself: a `--lang X` in argv (some subcommands take one),
    else the settings' default_locale, else zh_Hans. Decided before the parser exists, so that
    help texts and argparse's own errors are rendered in it."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value in LOCALES:
            return value
    if settings is not None and settings.default_locale in LOCALES:
        return settings.default_locale
    return DEFAULT_LOCALE


def main(argv: Sequence[str] | None = None, clock: Callable[[], datetime] = utcnow) -> int:
    """Run one command. `clock` is the process clock (tests hand in theirs); nothing below reads another."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Settings first, for the language; a config problem waits until after parsing so --help still works.
    settings: Settings | None = None
    config_error: ConfigError | None = None
    try:
        settings = load_settings()
    except ConfigError as exc:
        config_error = exc
    set_locale(cli_locale(arguments, settings))
    with argparse_translations():
        args = build_parser().parse_args(arguments)
    if settings is None:
        print(str(config_error), file=sys.stderr)
        return 2
    set_locale(getattr(args, "lang", None) or settings.default_locale)
    configure_logging(settings.log_level, Path(settings.log_file) if settings.log_file else None)
    app = App(settings, clock=clock)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        from chatbot.people.cli import run_default

        handler = run_default
    try:
        return handler(args, app)
    except NotMigrated:
        print(_("The database is not migrated yet. Run: python bot.py migrate"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OperationalError as exc:
        # An unreachable or unusable database is a setting to fix, not a bug: one line, like ConfigError.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"configuration error: DATABASE_URL: {reason}", file=sys.stderr)
        return 2


def fail(message: str) -> int:
    """One clear line on stderr and exit code 2, for bad input on the command line."""
    print(message, file=sys.stderr)
    return 2


def add_command(
    sub: Any, name: str, handler: Handler, help_text: str, **kwargs: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
    parser.set_defaults(handler=handler)
    return parser
