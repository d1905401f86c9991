"""`python bot.py SUBCOMMAND`: the operator's command line. Each domain adds its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from chatbot.aid import cli as aid_cli
from chatbot.app import App, NotMigrated
from chatbot.attendance import cli as attendance_cli
from chatbot.broadcast import cli as broadcast_cli
from chatbot.calendar import cli as calendar_cli
from chatbot.channels import cli as channels_cli
from chatbot.channels.console import ConsoleChannel, banner, interactive_lines
from chatbot.channels.registry import configured_types
from chatbot.cli_i18n import argparse_translations
from chatbot.clock import utcnow
from chatbot.commands import Handler, add_command, fail
from chatbot.config import ConfigError, Settings, load_settings
from chatbot.delivery import cli as delivery_cli
from chatbot.demo import ensure_demo_if_empty, seed_demo
from chatbot.i18n import DEFAULT_LOCALE, LOCALES, _, set_locale
from chatbot.logs import configure_logging
from chatbot.people import cli as people_cli
from chatbot.people.demo import ROLE_NAMES, demo_person
from chatbot.reminders import cli as reminders_cli
from db.migrate import upgrade
from db.models import Person
from db.session import transaction

# Each module exposes `register(subparsers)`, adding parsers whose defaults set `handler=`.
CLI_MODULES = (
    people_cli,
    aid_cli,
    attendance_cli,
    broadcast_cli,
    delivery_cli,
    calendar_cli,
    reminders_cli,
    channels_cli,
)


def register_foundation(sub: Any) -> None:
    """The commands that belong to no domain: the schema and the console."""
    add_command(sub, "migrate", cmd_migrate, _("Create or upgrade the database schema (Alembic)."))
    add_command(sub, "demo", cmd_demo, _("Seed the demo county (idempotent)."))
    console = add_command(sub, "console", cmd_console, _("Chat in the terminal as a demo person."))
    console.add_argument(
        "--as",
        dest="as_who",
        default="parent",
        help=_("parent, teacher, principal, admin, a person id, or guest (an unlinked user)"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description=_("Jiaxiao 家校 — aid questions, attendance, dropout alerts, reminders and notices."),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_foundation(sub)
    for module in CLI_MODULES:
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


def cmd_migrate(args: argparse.Namespace, app: App) -> int:
    upgrade(app.settings.database_url)
    print(_("Database is up to date."))
    return 0


def cmd_demo(args: argparse.Namespace, app: App) -> int:
    with transaction(app.session_factory) as session:
        created = seed_demo(session, app.clock())
    print(_("Demo county created.") if created else _("Demo county already exists; nothing changed."))
    return 0


def resolve_console_person(app: App, who: str) -> int | str | None:
    if who == "guest":
        return "guest"
    with app.session_factory() as session:
        if who.isdecimal():
            person = session.get(Person, int(who))
        elif who in ROLE_NAMES:
            person = demo_person(session, who)
        else:
            return None
        return person.id if person else None


CONSOLE_LOG = Path("data/console.log")


def cmd_console(args: argparse.Namespace, app: App) -> int:
    # The terminal is the chat: log lines belong in the log, not between a parent's messages.
    configure_logging(app.settings.log_level, Path(app.settings.log_file or CONSOLE_LOG))
    ensure_demo_if_empty(app)
    who = resolve_console_person(app, args.as_who)
    if who is None:
        return fail(
            _("Unknown person {who!r}: use parent, teacher, principal, admin, guest or a person id.").format(
                who=args.as_who
            )
        )
    console = ConsoleChannel(app.session_factory, app.router, clock=app.clock)
    interactive = sys.stdin.isatty()
    if interactive:
        print(banner())
        lines = interactive_lines("> ")
    else:
        lines = iter(sys.stdin.readline, "")
    console.chat(who, lines, interactive=interactive)
    return 0


def run_default(args: argparse.Namespace, app: App) -> int:
    """The main job: channels when a token is configured, else the console as the demo parent."""
    if configured_types(app.settings):
        return channels_cli.run_channels(app)
    args.as_who = "parent"
    return cmd_console(args, app)
