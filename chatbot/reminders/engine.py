"""Queueing each reminder exactly once.

Every reminder has a key `rule|s<school>|<anchor>/<offset>|p<person>` in the ReminderSent ledger,
inserted with ON CONFLICT DO NOTHING in the same transaction as its outbox rows: whoever inserts
the key queues the message, everyone else (a second scheduler, a restart, a re-run) skips it.
A marker key ending in `|*` records that an occurrence was handled, so later runs skip it cheaply.
Reminders due more than the grace window ago are recorded as missed instead of being sent late.

When reminders fall due is in occurrences.py, who gets what in planners.py (one planner per rule)
and recipients.py, the ledger itself in chatbot/calendar/ledger.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from chatbot.calendar.ledger import existing_keys, insert_keys, ledger_row
from chatbot.calendar.reminder_rules import rules_for
from chatbot.calendar.service import SchoolCalendar, load_calendars
from chatbot.delivery.outbox import QUIET_END, QUIET_START, OutboxItem, enqueue_many
from chatbot.reminders.occurrences import Occurrence, occurrences_between
from chatbot.reminders.planners import Planned, plan
from db.models import Priority, School
from db.models.calendar import ReminderStatus

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_DAYS = 10


@dataclass
class QueueReport:
    queued: int = 0
    missed: int = 0
    skipped: int = 0
    failed: int = 0
    occurrences: int = 0


@dataclass(frozen=True)
class QuietHours:
    start: time = QUIET_START
    end: time = QUIET_END


def process_occurrence(
    session: Session,
    occurrence: Occurrence,
    school: School,
    calendar: SchoolCalendar,
    now: datetime,
    grace: timedelta,
    *,
    force: bool = False,
    quiet: QuietHours = QuietHours(),
) -> QueueReport:
    """Queue (or record as missed) every recipient of one occurrence, each at most once, ever."""
    report = QueueReport(occurrences=1)
    planned = plan(session, occurrence, school, calendar)
    stale = not force and occurrence.due_at < now - grace
    status = ReminderStatus.MISSED if stale else ReminderStatus.QUEUED
    rows = [
        ledger_row(
            p.key, occurrence.rule, occurrence.ident, f"p{p.person_id}", status, occurrence.due_at, now
        )
        for p in planned
    ]
    rows.append(
        ledger_row(
            occurrence.marker,
            occurrence.rule,
            occurrence.ident,
            "*",
            ReminderStatus.MISSED if stale else ReminderStatus.DONE,
            occurrence.due_at,
            now,
        )
    )
    inserted = insert_keys(session, rows)
    fresh = [p for p in planned if p.key in inserted]
    report.skipped = len(planned) - len(fresh)
    if stale:
        report.missed = len(fresh)
        if fresh:
            log.warning(
                "reminder %s for school %s was due at %s, outside the grace window: %d recorded as missed",
                occurrence.marker,
                school.id,
                occurrence.due_at.isoformat(),
                len(fresh),
            )
        return report
    not_before = max(now, occurrence.due_at)
    enqueue_batch(session, fresh, now=now, not_before=not_before, tz=school.tz, quiet=quiet)
    report.queued = len(fresh)
    return report


def enqueue_batch(
    session: Session,
    items: Sequence[Planned],
    *,
    now: datetime,
    not_before: datetime,
    tz: str,
    quiet: QuietHours = QuietHours(),
) -> int:
    """Queue one occurrence's reminders (normal priority, held through quiet hours); returns rows written."""
    return enqueue_many(
        session,
        [
            OutboxItem(
                person_id=item.person_id,
                render=item.render,
                kind=f"reminder.{item.occurrence.rule}",
                dedupe_key=item.key,
                tz=tz,
                priority=Priority.NORMAL,
                not_before=not_before,
            )
            for item in items
        ],
        now,
        quiet_start=quiet.start,
        quiet_end=quiet.end,
    )


def schools(session: Session, region_ids: Iterable[int] | None = None) -> list[School]:
    """Every school (or those of `region_ids`) with its region loaded, in the order they were added."""
    query = select(School).options(joinedload(School.region)).order_by(School.id)
    if region_ids is not None:
        query = query.where(School.region_id.in_(list(region_ids)))
    return list(session.scalars(query))


def _due_occurrences(session: Session, now: datetime, lookback_days: int) -> list[tuple[Occurrence, int]]:
    """(occurrence, school id) of every occurrence due by `now` that no run has handled yet."""
    found = schools(session)
    calendars = load_calendars(session, found)
    candidates: list[tuple[Occurrence, int]] = []
    for school in found:
        today = now.astimezone(ZoneInfo(school.tz)).date()
        rules = rules_for(school.region)
        for occurrence in occurrences_between(
            school, calendars[school.id], rules, today - timedelta(days=lookback_days), today
        ):
            if occurrence.due_at <= now:
                candidates.append((occurrence, school.id))
    done = existing_keys(session, (o.marker for o, _ in candidates))
    return [(o, school_id) for o, school_id in candidates if o.marker not in done]


def queue_due(
    session_factory: sessionmaker[Session],
    now: datetime,
    grace: timedelta,
    *,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    quiet: QuietHours = QuietHours(),
) -> QueueReport:
    """Queue every reminder due by `now` that nobody queued yet; one transaction per occurrence."""
    total = QueueReport()
    with session_factory() as session:
        candidates = _due_occurrences(session, now, lookback_days)
    for occurrence, school_id in candidates:
        try:
            with session_factory() as session, session.begin():
                current = session.get(School, school_id)
                assert current is not None
                calendar = load_calendars(session, [current])[current.id]
                report = process_occurrence(session, occurrence, current, calendar, now, grace, quiet=quiet)
        except Exception:
            # Rolled back as a whole: the next tick tries this occurrence again; the others go on.
            total.failed += 1
            log.exception("reminder %s failed; it is retried at the next run", occurrence.marker)
            continue
        total.occurrences += 1
        total.queued += report.queued
        total.missed += report.missed
        total.skipped += report.skipped
    return total


def plan_day(
    session: Session, day: date, *, region_code: str | None = None, school_ref: str | None = None
) -> list[tuple[Occurrence, School, list[Planned], set[str]]]:
    """What is due on `day` (each school's local date): occurrences, recipients and keys already used."""
    found = schools(session)
    if region_code is not None:
        found = [s for s in found if s.region.code == region_code]
    if school_ref is not None:
        found = [s for s in found if s.name == school_ref or str(s.id) == school_ref]
    calendars = load_calendars(session, found)
    result = []
    for school in found:
        for occurrence in occurrences_between(
            school, calendars[school.id], rules_for(school.region), day, day
        ):
            planned = plan(session, occurrence, school, calendars[school.id])
            keys = [p.key for p in planned] + [occurrence.marker]
            result.append((occurrence, school, planned, existing_keys(session, keys)))
    return result
