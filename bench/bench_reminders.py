"""Reminder scheduler benchmark on a generated prefecture (see prefecture_generate.py).

    .venv/bin/python bench/bench_reminders.py [--schools 150 --classes 1000 --pupils 30000] [--url URL]

Seeds this school year's calendar in every county, then times, with `now` passed in:
- an idle tick (nothing due: what the 5-minute job costs most of the time);
- the tick that queues the 7-days-before-spring-term reminders (every parent and class teacher);
- the tick before the winter vacation (every parent, plus a home-visit list per class);
- a second scheduler tick on the same occurrence (everything skipped via the ledger);
- `school_days` for a 20-school-day window, per school.
Printed: seconds, reminders queued, outbox rows, rows per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from prefecture_generate import generate
from sqlalchemy import func, select

from chatbot.calendar.demo import seed_calendar
from chatbot.calendar.service import load_calendars
from chatbot.reminders.engine import queue_due
from db.models import OutboxMessage, Region, School
from db.session import make_engine, make_session_factory, transaction

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an empty database URL (default: a temporary SQLite file)")
    parser.add_argument("--schools", type=int, default=150)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--pupils", type=int, default=30_000)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench_reminders.db"
    generate(url, args.schools, args.classes, args.pupils, 4, date(2026, 11, 23), 2026)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        for region in session.scalars(select(Region)):
            seed_calendar(session, region, datetime(2026, 11, 23, tzinfo=UTC))
    grace = timedelta(hours=6)

    def outbox_rows() -> int:
        with factory() as session:
            return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)

    def timed(label: str, now: datetime) -> None:
        before = outbox_rows()
        started = time.perf_counter()
        report = queue_due(factory, now, grace)
        seconds = time.perf_counter() - started
        rows = outbox_rows() - before
        rate = f"{rows / seconds:,.0f} rows/s" if rows else "-"
        print(
            f"{label:<38} {seconds:7.2f} s  queued {report.queued:>7,}  outbox rows {rows:>7,}  {rate}  "
            f"(occurrences {report.occurrences}, skipped {report.skipped}, missed {report.missed})",
            flush=True,
        )

    timed("idle tick (nothing due)", at(date(2026, 12, 2), 10, 0))
    timed("term start -7 days (spring 2027)", at(date(2027, 2, 15), 18, 31))
    timed("same occurrence, second scheduler", at(date(2027, 2, 15), 18, 36))
    timed("winter vacation -3 days (+ home visits)", at(date(2027, 1, 13), 16, 1))
    timed("idle tick after all that", at(date(2027, 1, 14), 10, 0))

    with factory() as session:
        schools = list(session.scalars(select(School)))
        started = time.perf_counter()
        calendars = load_calendars(session, schools)
        windows = [c.school_days(date(2026, 10, 20), date(2026, 11, 23))[-20:] for c in calendars.values()]
        seconds = time.perf_counter() - started
    assert all(len(w) == 20 for w in windows)
    print(f"{'20-school-day windows, all schools':<38} {seconds:7.2f} s  ({len(schools)} schools, one query)")


if __name__ == "__main__":
    main()
