"""Foundation commands: migrate, demo, console, and the default main job."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel, banner, interactive_lines
from chatbot.cli import add_command, fail
from chatbot.clock import utcnow
from chatbot.i18n import _
from chatbot.people.demo import ROLE_NAMES, demo_person, seed_demo
from db.migrate import upgrade
from db.models import Person, Region
from db.session import transaction


def register(sub: Any) -> None:
    add_command(sub, "migrate", cmd_migrate, "Create or upgrade the database schema (Alembic).")
    add_command(sub, "demo", cmd_demo, "Seed the demo county (idempotent).")
    console = add_command(sub, "console", cmd_console, "Chat in the terminal as a demo person.")
    console.add_argument(
        "--as",
        dest="as_who",
        default="parent",
        help="parent, teacher, principal, admin, a person id, or guest (an unlinked user)",
    )


def cmd_migrate(args: argparse.Namespace, app: App) -> int:
    upgrade(app.settings.database_url)
    print(_("Database is up to date."))
    return 0


def cmd_demo(args: argparse.Namespace, app: App) -> int:
    with transaction(app.session_factory) as session:
        created = seed_demo(session, utcnow())
    print(_("Demo county created.") if created else _("Demo county already exists; nothing changed."))
    return 0


def ensure_demo_if_empty(app: App) -> None:
    with transaction(app.session_factory) as session:
        if session.scalar(select(func.count()).select_from(Region)) == 0:
            seed_demo(session, utcnow())


def resolve_console_person(app: App, who: str) -> int | str | None:
    if who == "guest":
        return "guest"
    with app.session_factory() as session:
        if who.isdigit():
            person = session.get(Person, int(who))
        elif who in ROLE_NAMES:
            person = demo_person(session, who)
        else:
            return None
        return person.id if person else None


def cmd_console(args: argparse.Namespace, app: App) -> int:
    ensure_demo_if_empty(app)
    who = resolve_console_person(app, args.as_who)
    if who is None:
        return fail(
            _("Unknown person {who!r}: use parent, teacher, principal, admin, guest or a person id.").format(
                who=args.as_who
            )
        )
    console = ConsoleChannel(app.session_factory, app.router)
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
    if app.settings.telegram_token or app.settings.wechat_token:
        from chatbot.channels.cli import run_channels

        return int(run_channels(app))
    args.as_who = "parent"
    return cmd_console(args, app)
