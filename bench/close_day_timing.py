"""Time the daily close on a generated prefecture (see bench/prefecture_generate.py).

    .venv/bin/python bench/close_day_timing.py --url postgresql+psycopg://postgres@127.0.0.1:5432/jx_bench

Runs close_day for every school at 10:30 Shanghai time on the bench day in one transaction, then
runs it again (the idempotent rerun, which must queue nothing), and prints seconds, what was done,
and the process's peak RSS. Wall time includes the database's work; on a shared machine also
read the CPU time of this process and the load average printed with it. With --keep the first run is committed; by default both are rolled back
so the run can be repeated on the same data.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.orm import Session

from chatbot.attendance.close import close_day
from db.session import make_engine, make_session_factory


def backend_cpu(session: Session) -> float | None:
    """CPU seconds used so far by this session's PostgreSQL backend, when it runs on this machine."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--keep", action="store_true", help="commit the first run")
    args = parser.parse_args()
    now = datetime.combine(
        args.day, datetime.min.time().replace(hour=10, minute=30), tzinfo=ZoneInfo("Asia/Shanghai")
    )
    now = now.astimezone(UTC)
    engine = make_engine(args.url)
    factory = make_session_factory(engine)
    with factory() as warm:  # connect and load mappers outside the timing
        warm.connection()
    baseline = peak_rss_mb()
    backend = engine.url.get_backend_name()
    with factory() as session:
        server_before = backend_cpu(session)
        started, cpu = time.perf_counter(), time.process_time()
        summary = close_day(session, args.day, now)
        session.flush()
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        server_after = backend_cpu(session)
        load = os.getloadavg()[0]
        print(
            f"[{backend}] close_day {args.day}: {first:.2f} s wall, {first_cpu:.2f} s CPU in this process "
            f"(machine load average {load:.1f} on {os.cpu_count()} CPUs)"
        )
        if server_before is not None and server_after is not None:
            print(f"  PostgreSQL backend CPU for the close: {server_after - server_before:.2f} s")
        print(
            f"  schools closed {summary.schools_closed}, skipped {summary.schools_skipped}; "
            f"classes without roll-call {summary.classes_missing}; absences alerted {summary.absences_alerted}; "
            f"teacher alerts {summary.teacher_alerts}; guardian questions {summary.guardian_questions}; "
            f"principal notices {summary.principal_notices}; cases opened {summary.cases_opened}; "
            f"outbox rows {summary.messages_queued}"
        )
        started = time.perf_counter()
        again = close_day(session, args.day, now)
        second = time.perf_counter() - started
        print(
            f"  rerun (idempotent): {second:.2f} s, outbox rows {again.messages_queued}, "
            f"cases opened {again.cases_opened}"
        )
        if args.keep:
            session.commit()
        else:
            session.rollback()
    print(f"  peak RSS {peak_rss_mb():.0f} MB (after imports and connect: {baseline:.0f} MB)")


if __name__ == "__main__":
    main()
