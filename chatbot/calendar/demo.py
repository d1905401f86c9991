"""This school year's calendar for the demo county (region-wide terms and vacations)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.calendar.official import lunar_new_year
from chatbot.calendar.service import school_year_of
from chatbot.clock import local_today
from db.models import Region
from db.models.calendar import CalendarEntry, CalendarKind


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _weekday_on_or_before(day: date, weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def typical_school_year(year: int) -> list[tuple[CalendarKind, str, date, date]]:
    """A Gansu-style school year: autumn from Sept 1, winter vacation around Spring Festival, spring
    term from the Monday after the Lantern Festival, summer vacation from the second Saturday of July."""
    new_year = lunar_new_year(year + 1)
    autumn_start = (
        date(year, 9, 1) if date(year, 9, 1).weekday() < 5 else _weekday_on_or_after(date(year, 9, 1), 0)
    )
    winter_start = _weekday_on_or_before(new_year - timedelta(days=21), 5)
    spring_start = _weekday_on_or_after(new_year + timedelta(days=15), 0)
    summer_start = _weekday_on_or_after(date(year + 1, 7, 1), 5) + timedelta(days=7)
    return [
        (CalendarKind.TERM, "autumn", autumn_start, winter_start - timedelta(days=1)),
        (CalendarKind.VACATION, "winter", winter_start, spring_start - timedelta(days=1)),
        (CalendarKind.TERM, "spring", spring_start, summer_start - timedelta(days=1)),
        (CalendarKind.VACATION, "summer", summer_start, date(year + 1, 8, 31)),
    ]


def seed_calendar(session: Session, region: Region, now: datetime) -> bool:
    """Add the current school year's calendar to the region unless it has entries; True when added."""
    exists = session.scalars(select(CalendarEntry.id).where(CalendarEntry.region_id == region.id)).first()
    if exists is not None:
        return False
    year = school_year_of(local_today(now, region.timezone))
    for kind, name, first, last in typical_school_year(year):
        session.add(
            CalendarEntry(
                region_id=region.id,
                school_id=None,
                kind=kind,
                name=name,
                first_day=first,
                last_day=last,
                note=None,
                created_at=now,
            )
        )
    session.flush()
    return True
