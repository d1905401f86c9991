"""Foundation commands: migrate, demo, console, and the default main job."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chatbot.app import App
from chatbot.commands import add_command, fail
from chatbot.i18n import N_, _, ngettext
from chatbot.people.invites import INVITE_ROLES, InviteLine, issue_school_invites
from chatbot.people.roster import (
    RosterError,
    RowError,
    bad_rows_summary,
    import_file,
    summary,
    write_template,
)
from db.models import School
from db.session import transaction


def register(sub: Any) -> None:
    roster = add_command(
        sub, "import-roster", cmd_import_roster, _("Import or update pupils, guardians and teachers.")
    )
    roster.add_argument(
        "file", type=Path, metavar="FILE", help=_(".csv (UTF-8 or GB18030) or .xlsx; see docs/people.md")
    )
    roster.add_argument("--region", help=_("region code; created if new (default: the only region)"))
    roster.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help=_("progress bar")
    )
    template = add_command(
        sub, "roster-template", cmd_roster_template, _("Write an empty roster file to fill in.")
    )
    template.add_argument("file", type=Path, metavar="FILE", help=_(".xlsx (recommended) or .csv"))
    template.add_argument("--english", action="store_true", help=_("English column names instead of Chinese"))
    invites = add_command(
        sub, "invites", cmd_invites, _("Write one new invite code per guardian and teacher.")
    )
    invites.add_argument("--school", required=True, help=_("the school's name"))
    invites.add_argument("--out", required=True, type=Path, help=_("the CSV file to write"))
    invites.add_argument("--role", choices=INVITE_ROLES, default="all")
    invites.add_argument(
        "--unlinked",
        action="store_true",
        help=_("only people who do not use the bot yet (reprint lost slips)"),
    )


def cmd_import_roster(args: argparse.Namespace, app: App) -> int:
    """Validate the whole file, then import it in one transaction; bad rows import nothing."""
    started = time.perf_counter()
    try:
        with transaction(app.session_factory) as session:
            counts, errors = import_file(session, args.file, args.region, app.clock(), args.progress)
            if errors:
                raise _BadRows(errors)
    except RosterError as exc:
        return fail(str(exc))
    except _BadRows as bad:
        for error in bad.errors:
            print(str(error), file=sys.stderr)
        return fail(bad_rows_summary(bad.errors))
    assert counts is not None
    print(summary(counts))
    print(_("Done in {seconds} s.").format(seconds=f"{time.perf_counter() - started:.1f}"))
    return 0


def cmd_roster_template(args: argparse.Namespace, app: App) -> int:
    """Give schools a file with the right headers, so their first import is not a list of errors."""
    try:
        write_template(args.file, english=args.english)
    except RosterError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(_("Cannot write {path}: {error}").format(path=args.file, error=exc.strerror))
    print(_("Roster template written to {path}.").format(path=args.file))
    return 0


class _BadRows(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(len(errors))
        self.errors = errors


def cmd_invites(args: argparse.Namespace, app: App) -> int:
    """Issue codes for a school and write the printable sheet (the only place codes exist in clear)."""
    try:
        # The codes are committed only once the sheet holding them is safely written.
        with transaction(app.session_factory) as session:
            schools = list(session.scalars(select(School).where(School.name == args.school)))
            if len(schools) != 1:
                message = (
                    _("No school named {name!r}.")
                    if not schools
                    else _("Several schools are named {name!r}.")
                )
                return fail(message.format(name=args.school))
            school = schools[0]
            lines = issue_school_invites(
                session,
                school,
                args.role,
                app.clock(),
                timedelta(days=app.settings.invite_valid_days),
                unlinked_only=getattr(args, "unlinked", False),
            )
            if not lines:
                return fail(_("Nobody to invite at {name}.").format(name=school.name))
            write_invite_sheet(args.out, lines, ZoneInfo(school.tz))
    except OSError as exc:
        return fail(_("Cannot write {path}: {error}").format(path=args.out, error=exc.strerror))
    print(
        ngettext(
            "{count} invite code written to {path}.", "{count} invite codes written to {path}.", len(lines)
        ).format(count=len(lines), path=args.out)
    )
    return 0


def write_invite_sheet(path: Path, lines: list[InviteLine], tz: ZoneInfo) -> None:
    """UTF-8 with BOM, so Excel shows the Chinese correctly."""
    headers = [_("name"), _("role"), _("class"), _("child"), _("code"), _("expires")]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        for line in lines:
            writer.writerow(
                [
                    line.name,
                    _(INVITE_ROLE_LABELS.get(line.role, line.role)),
                    line.klass,
                    line.child,
                    line.code,
                    line.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                ]
            )


INVITE_ROLE_LABELS = {
    "guardian": N_("guardian"),
    "class_teacher": N_("class teacher"),
    "teacher": N_("teacher"),
    "principal": N_("principal"),
    "county_admin": N_("county administrator"),
}
