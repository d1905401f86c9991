"""The scheduler's daily attendance slots: close the day at each school's cutoff, roll-call nudges
before it, and case escalation once a day. Each slot is a key in the ReminderSent ledger, so it runs
once however many schedulers tick.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from chatbot.attendance.cases import escalate_cases
from chatbot.attendance.close import close_day, nudge_missing_rollcalls
from chatbot.calendar.ledger import insert_keys, ledger_row
from chatbot.calendar.reminder_rules import ROLLCALL_NUDGE, rules_for
from chatbot.calendar.service import load_calendars
from db.models import School
from db.models.calendar import ReminderStatus

log = logging.getLogger(__name__)

CLOSE_LOOKBACK_DAYS = 7
ESCALATION_AT = time(8, 0)


@dataclass
class SlotReport:
    ran: int = 0
    missed: int = 0


def _schools(session: Session) -> list[School]:
    return list(session.scalars(select(School).options(joinedload(School.region)).order_by(School.id)))


def _due_closes(session: Session, now: datetime) -> dict[date, list[tuple[int, datetime]]]:
    """(school id, cutoff) by school day, for each cutoff passed in the last CLOSE_LOOKBACK_DAYS days."""
    by_day: dict[date, list[tuple[int, datetime]]] = defaultdict(list)
    schools = _schools(session)
    calendars = load_calendars(session, schools)
    for school in schools:
        zone = ZoneInfo(school.tz)
        today = now.astimezone(zone).date()
        for back in range(CLOSE_LOOKBACK_DAYS, -1, -1):
            day = today - timedelta(days=back)
            cutoff = datetime.combine(day, school.rollcall_cutoff, tzinfo=zone)
            if cutoff <= now and calendars[school.id].is_school_day(day):
                by_day[day].append((school.id, cutoff))
    return by_day


def close_due_days(session_factory: sessionmaker[Session], now: datetime, grace: timedelta) -> SlotReport:
    """Close each school day at the school's cutoff (catching up within the grace window)."""
    report = SlotReport()
    with session_factory() as session:
        by_day = _due_closes(session, now)
    for day, slots in sorted(by_day.items()):
        with session_factory() as session, session.begin():
            rows = [
                ledger_row(
                    f"close|s{school_id}|{day.isoformat()}",
                    "close_day",
                    day.isoformat(),
                    f"s{school_id}",
                    # Today's close always runs late; earlier days only within the grace window.
                    ReminderStatus.MISSED
                    if cutoff < now - grace and day < now.astimezone(cutoff.tzinfo).date()
                    else ReminderStatus.DONE,
                    cutoff,
                    now,
                )
                for school_id, cutoff in slots
            ]
            inserted = insert_keys(session, rows)
            stale = [r for r in rows if r["key"] in inserted and r["status"] == ReminderStatus.MISSED]
            due = [int(str(r["recipient"])[1:]) for r in rows if r["key"] in inserted and r not in stale]
            if stale:
                report.missed += len(stale)
                log.warning(
                    "daily close of %s for %d schools was due outside the grace window: recorded as missed "
                    "(run the attendance close command by hand if still wanted)",
                    day.isoformat(),
                    len(stale),
                )
            if due:
                close_day(session, day, now, school_ids=due)
                report.ran += len(due)
    return report


def nudge_rollcalls(session_factory: sessionmaker[Session], now: datetime) -> SlotReport:
    """On school days, between (cutoff − N minutes) and the cutoff, nudge once per school and day."""
    report = SlotReport()
    with session_factory() as session, session.begin():
        schools = _schools(session)
        calendars = load_calendars(session, schools)
        rows = []
        for school in schools:
            rule = rules_for(school.region)[ROLLCALL_NUDGE]
            if not rule.enabled:
                continue
            zone = ZoneInfo(school.tz)
            today = now.astimezone(zone).date()
            cutoff = datetime.combine(today, school.rollcall_cutoff, tzinfo=zone)
            start = cutoff - timedelta(minutes=rule.minutes_before_cutoff)
            if start <= now < cutoff and calendars[school.id].is_school_day(today):
                rows.append(
                    ledger_row(
                        f"nudge|s{school.id}|{today.isoformat()}",
                        ROLLCALL_NUDGE,
                        today.isoformat(),
                        f"s{school.id}",
                        ReminderStatus.DONE,
                        start,
                        now,
                    )
                )
        inserted = insert_keys(session, rows)
        school_ids = [int(str(r["recipient"])[1:]) for r in rows if r["key"] in inserted]
        if school_ids:
            nudge_missing_rollcalls(session, now, school_ids=school_ids)
            report.ran = len(school_ids)
    return report


def escalate(session_factory: sessionmaker[Session], now: datetime, tz: str) -> SlotReport:
    """Case escalation once a day from 08:00 in the bot's time zone (a late start still runs it)."""
    report = SlotReport()
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    due = datetime.combine(today, ESCALATION_AT, tzinfo=zone)
    if now < due:
        return report
    with session_factory() as session, session.begin():
        key = f"escalate|{today.isoformat()}"
        row = ledger_row(key, "escalate", today.isoformat(), "*", ReminderStatus.DONE, due, now)
        if key in insert_keys(session, [row]):
            escalate_cases(session, today, now)
            report.ran = 1
    return report
