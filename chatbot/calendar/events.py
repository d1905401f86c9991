"""The next events of a school's calendar, for /calendar and `bot.py calendar show`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from chatbot.calendar.official import OfficialCalendar, holiday_label
from chatbot.calendar.service import Period, SchoolCalendar
from chatbot.i18n import N_, _, format_day
from db.models.calendar import CalendarKind

PERIOD_LABELS = {
    "autumn": N_("autumn term"),
    "spring": N_("spring term"),
    "winter": N_("winter vacation"),
    "summer": N_("summer vacation"),
}


@dataclass(frozen=True)
class Event:
    first: date
    last: date
    kind: str  # term, vacation, day_off, school_day, holiday, makeup
    name: str
    note: str | None = None


def period_label(period: Period | Event) -> str:
    """A translated label such as '寒假' or 'autumn term' (free names are shown as given)."""
    if period.name in PERIOD_LABELS:
        return _(PERIOD_LABELS[period.name])
    if period.kind == CalendarKind.TERM:
        return _("term {name}").format(name=period.name)
    return period.name


def official_events(official: OfficialCalendar, start: date, end: date) -> list[Event]:
    """Public-holiday blocks and make-up working days between start and end."""
    events: list[Event] = []
    day = start
    while day <= end:
        info = official.day(day)
        if info.makeup:
            events.append(Event(day, day, "makeup", ""))
        elif info.holiday and not info.workday:
            if (
                events
                and events[-1].kind == "holiday"
                and events[-1].name == info.holiday
                and events[-1].last == day - timedelta(days=1)
            ):
                events[-1] = Event(events[-1].first, day, "holiday", info.holiday)
            else:
                events.append(Event(day, day, "holiday", info.holiday))
        day += timedelta(days=1)
    return events


def upcoming_events(calendar: SchoolCalendar, today: date, days: int = 120, limit: int = 8) -> list[Event]:
    """Events that end today or later and start within `days`, soonest first."""
    horizon = today + timedelta(days=days)
    events: list[Event] = []
    for period in (
        calendar.terms
        + calendar.vacations
        + calendar.school_days_off
        + calendar.region_days_off
        + calendar.school_extra_days
        + calendar.region_extra_days
    ):
        if period.last >= today and period.first <= horizon:
            events.append(Event(period.first, period.last, period.kind.value, period.name, period.note))
    for event in official_events(calendar.official, today, horizon):
        # A make-up day inside a vacation is not a school day: don't announce it to families.
        if event.kind == "makeup" and not calendar.is_school_day(event.first):
            continue
        events.append(event)
    events.sort(key=lambda e: (e.first, e.kind))
    return events[:limit]


def spans_years(today: date, events: list[Event]) -> bool:
    """True when a listing from `today` reaches into another calendar year: its dates then carry years."""
    return any(e.first.year != today.year or e.last.year != today.year for e in events)


def describe(event: Event, with_year: bool = False) -> str:
    """One translated line for an event; `with_year` puts the year on the first day (and on the last
    when it falls in another year): '2027年1月16日 周六 – 2月21日 周日：寒假'."""
    first = format_day(event.first, with_year=with_year)
    last = format_day(event.last, with_year=with_year and event.last.year != event.first.year)
    if event.kind == "term":
        return _("{first} – {last}: {label}").format(first=first, last=last, label=period_label(event))
    if event.kind == "vacation":
        return _("{first} – {last}: {label}").format(first=first, last=last, label=period_label(event))
    if event.kind == "holiday":
        label = _(holiday_label(event.name))
        if event.first == event.last:
            return _("{first}: {label} (no school)").format(first=first, label=label)
        return _("{first} – {last}: {label} (no school)").format(first=first, last=last, label=label)
    if event.kind == "makeup":
        return _("{first}: make-up working day, school as usual").format(first=first)
    note = f" ({event.note})" if event.note else ""
    if event.kind == "day_off":
        if event.first == event.last:
            return _("{first}: no school").format(first=first) + note
        return _("{first} – {last}: no school").format(first=first, last=last) + note
    return _("{first}: extra school day").format(first=first) + note
