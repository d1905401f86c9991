"""/calendar: the next events of the school calendar for the schools this person belongs to.

One step, no dialog state (diagram: calendar_flow.mmd).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chatbot.calendar.events import describe, spans_years, upcoming_events
from chatbot.calendar.service import load_calendars
from chatbot.clock import local_today
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, Outcome, say
from chatbot.core.messages import Incoming
from chatbot.i18n import N_, _, format_day, format_items
from chatbot.people.auth import children_of
from db.models import Role, School, SchoolClass, ScopeType

MAX_SCHOOLS = 3
HORIZON_DAYS = 150


def _bound(ctx: Context) -> bool:
    return ctx.person is not None


def schools_of(ctx: Context) -> list[School]:
    """Schools of the person's children and of their memberships (a region admin: its first schools)."""
    assert ctx.person is not None
    ids: list[int] = [child.school_id for child in children_of(ctx.session, ctx.person)]
    for membership in ctx.person.memberships:
        if membership.scope_type == ScopeType.SCHOOL:
            ids.append(membership.scope_id)
        elif membership.scope_type == ScopeType.CLASS:
            klass = ctx.session.get(SchoolClass, membership.scope_id)
            if klass is not None:
                ids.append(klass.school_id)
        else:
            ids.extend(
                ctx.session.scalars(
                    select(School.id).where(School.region_id == membership.scope_id).order_by(School.id)
                )
            )
    unique = list(dict.fromkeys(ids))[:MAX_SCHOOLS]
    return [school for school in (ctx.session.get(School, i) for i in unique) if school is not None]


def show_calendar(ctx: Context, msg: Incoming) -> Outcome:
    """List the next calendar events of each of the person's schools."""
    schools = schools_of(ctx)
    if not schools:
        return say(_("You are not linked to a school yet."))
    calendars = load_calendars(ctx.session, schools)
    blocks = []
    todays = []
    for school in schools:
        today = local_today(ctx.now, school.tz)
        calendar = calendars[school.id]
        lines = [f"📅 {school.name}"]
        lines.append(
            (
                _("Today ({day}) is a school day.")
                if calendar.is_school_day(today)
                else _("No school today ({day}).")
            ).format(day=format_day(today))
        )
        events = upcoming_events(calendar, today, days=HORIZON_DAYS, limit=5)
        with_year = spans_years(today, events)
        lines.extend(f"• {describe(event, with_year=with_year)}" for event in events)
        if not events:
            lines.append(_("No calendar events in the coming months."))
        blocks.append("\n".join(lines))
        todays.append(today)
    if _is_county_admin(ctx):
        last_day = max(todays) + timedelta(days=HORIZON_DAYS)
        note = _provisional_note(
            calendars[schools[0].id].official.provisional_years(range(min(todays).year, last_day.year + 1))
        )
        if note:
            blocks.append(note)
    return say("\n\n".join(blocks))


def _is_county_admin(ctx: Context) -> bool:
    """Administrators decide on the calendar; families are not told about unconfirmed 调休."""
    assert ctx.person is not None
    return any(m.role == Role.COUNTY_ADMIN for m in ctx.person.memberships)


def _provisional_note(years: list[int]) -> str | None:
    if not years:
        return None
    return _(
        "⚠️ Not yet confirmed: the make-up working days (调休) of {years}. Public holidays there are "
        "computed; import the State Council's arrangement when it is published (bot.py calendar import)."
    ).format(years=format_items([str(y) for y in years]))


FLOW = Flow.create(
    "calendar",
    entry=Entry(show_calendar, goes_to=(END,)),
    states={},
    commands=("calendar",),
    allowed=_bound,
    help=N_("School calendar: holidays and term dates"),
    help_order=60,
)
