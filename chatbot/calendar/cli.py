"""`bot.py calendar import FILE` and `bot.py calendar show [--region CODE] [--school NAME|ID]`."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.events import describe, spans_years, upcoming_events
from chatbot.calendar.importer import CalendarImportError, import_calendar
from chatbot.calendar.official import OfficialCalendar
from chatbot.calendar.service import load_calendars
from chatbot.clock import local_today
from chatbot.commands import add_command, fail
from chatbot.i18n import _, format_items
from db.models import Region, School
from db.session import transaction


def register(sub: Any) -> None:
    calendar = sub.add_parser("calendar", help=_("School calendar: import and show."))
    calendar_sub = calendar.add_subparsers(dest="calendar_command", metavar="ACTION", required=True)
    importer = add_command(calendar_sub, "import", cmd_import, _("Import a calendar file (.yaml or .csv)."))
    importer.add_argument("file", type=Path)
    show = add_command(calendar_sub, "show", cmd_show, _("Show terms, vacations, holidays and school days."))
    show.add_argument("--region", help=_("region code (default: every region)"))
    show.add_argument("--school", help=_("school name or id"))
    show.add_argument(
        "--from", dest="start", type=_parse_day, help=_("first day, YYYY-MM-DD (default: today)")
    )
    show.add_argument("--days", type=int, default=365, help=_("how many days ahead (default 365)"))


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a date (YYYY-MM-DD): {text}").format(text=text)) from None


def cmd_import(args: argparse.Namespace, app: App) -> int:
    try:
        with transaction(app.session_factory) as session:
            result = import_calendar(session, args.file, app.clock())
    except CalendarImportError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return fail(_("Nothing was imported: fix the problems above and try again."))
    if result.regions:
        print(
            _("Imported {entries} calendar entries ({replaced} replaced) for {regions}.").format(
                entries=result.entries, replaced=result.replaced, regions=", ".join(sorted(result.regions))
            )
        )
    if result.official_years:
        print(
            _(
                "Official holiday arrangement imported for {years}: it replaces the holiday library there."
            ).format(years=format_items([str(y) for y in result.official_years]))
        )
    if result.rule_overrides:
        print(_("Reminder rules set: {count}.").format(count=result.rule_overrides))
    return 0


def cmd_show(args: argparse.Namespace, app: App) -> int:
    if args.days < 1 or args.days > 800:
        return fail(_("--days must be between 1 and 800."))
    with app.session_factory() as session:
        query = select(School).join(Region).order_by(Region.code, School.id)
        if args.region:
            region = session.scalars(select(Region).where(Region.code == args.region)).first()
            if region is None:
                return fail(_("Unknown region {code!r}.").format(code=args.region))
            query = query.where(School.region_id == region.id)
        if args.school:
            condition = School.name == args.school
            if args.school.isdecimal():
                condition = condition | (School.id == int(args.school))
            query = query.where(condition)
        schools = list(session.scalars(query))
        if not schools:
            return fail(_("No school matches."))
        calendars = load_calendars(session, schools)
        shown_from, shown_to = date.max, date.min
        for school in schools:
            start = args.start or local_today(app.clock(), school.tz)
            end = start + timedelta(days=args.days)
            calendar = calendars[school.id]
            print(f"== {school.region.code} / {school.name} (school {school.id})")
            if calendar.empty:
                print("   " + _("No calendar: official working days are used."))
            events = upcoming_events(calendar, start, days=args.days, limit=200)
            with_year = spans_years(start, events) or end.year != start.year
            for event in events:
                print("   " + describe(event, with_year=with_year))
            print(
                "   "
                + _("School days from {start} to {end}: {count}").format(
                    start=start.isoformat(), end=end.isoformat(), count=len(calendar.school_days(start, end))
                )
            )
            shown_from, shown_to = min(shown_from, start), max(shown_to, end)
        note = provisional_note(calendars[schools[0].id].official, shown_from, shown_to)
        if note:
            print(note)
    return 0


def provisional_note(official: OfficialCalendar, start: date, end: date) -> str | None:
    """The years between start and end whose 调休 are not confirmed, and the yearly step that fixes it."""
    years = official.provisional_years(range(start.year, end.year + 1))
    if not years:
        return None
    return _(
        "Not yet confirmed: the make-up working days (调休) of {years}. Their public holidays are computed "
        "by the holiday library; the State Council publishes each year's arrangement in November. Then "
        "import it: python bot.py calendar import FILE (see docs/calendar.md)."
    ).format(years=format_items([str(y) for y in years]))
