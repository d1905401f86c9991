"""`bot.py remind --date D [--dry-run]`: what is due that day, to whom and why; without --dry-run, queue it."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.reminder_rules import rules_for
from chatbot.calendar.service import load_calendars
from chatbot.commands import add_command, fail
from chatbot.i18n import _
from chatbot.reminders.engine import QuietHours, plan_day, process_occurrence
from db.models import Region, School


def register(sub: Any) -> None:
    remind = add_command(
        sub, "remind", cmd_remind, _("List (--dry-run) or queue the reminders due on a day.")
    )
    remind.add_argument("--date", required=True, help=_("the day, YYYY-MM-DD (each school's local date)"))
    remind.add_argument("--dry-run", action="store_true", help=_("only list; queue nothing"))
    remind.add_argument("--region", help=_("only this region code"))
    remind.add_argument("--school", help=_("only this school (name or id)"))
    remind.add_argument("--rules", action="store_true", help=_("also print the effective reminder rules"))


def cmd_remind(args: argparse.Namespace, app: App) -> int:
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        return fail(_("--date must be a date such as 2027-02-15, not {text!r}.").format(text=args.date))
    now = app.clock()
    with app.session_factory() as session:
        if args.region and session.scalars(select(Region).where(Region.code == args.region)).first() is None:
            return fail(_("Unknown region {code!r}.").format(code=args.region))
        if args.rules:
            for region in session.scalars(select(Region).order_by(Region.code)):
                if args.region and region.code != args.region:
                    continue
                print(f"[{region.code}]")
                for name, rule in rules_for(region).items():
                    print(f"  {name}: {rule.model_dump_json()}")
        plans = plan_day(session, day, region_code=args.region, school_ref=args.school)
        lines = 0
        for occurrence, school, planned, used in plans:
            local = occurrence.due_at.astimezone(ZoneInfo(school.tz))
            head = f"{local:%Y-%m-%d %H:%M} {occurrence.rule} {occurrence.ident} school:{school.id}"
            if occurrence.marker in used:
                print(head + "  " + _("already handled"))
            elif not planned:
                print(head + "  " + _("nobody to remind (for never_returned: every pupil has attendance)"))
            for item in planned:
                state = _("already queued") if item.key in used else _("would queue")
                print(f"{head}  person:{item.person_id} ({item.role})  {item.reason}  [{state}]")
                lines += 1
        print(_("{count} reminders on {day}.").format(count=lines, day=day.isoformat()))
    if args.dry_run or not plans:
        return 0
    queued = 0
    quiet = QuietHours(app.settings.quiet_hours_start, app.settings.quiet_hours_end)
    for occurrence, school, _planned, _used in plans:
        with app.session_factory() as session, session.begin():
            current = session.get(School, school.id)
            assert current is not None
            calendar = load_calendars(session, [current])[current.id]
            report = process_occurrence(
                session, occurrence, current, calendar, now, timedelta(0), force=True, quiet=quiet
            )
            queued += report.queued
    print(_("Queued {count} reminders (the rest were already queued).").format(count=queued))
    return 0
