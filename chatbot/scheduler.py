"""APScheduler wiring: cron jobs in the main process that call domain functions with `now`.

Jobs (UTC cron, each also run once at start so a restart catches up at once):
  reminders    every 5 minutes  queue due reminders (chatbot.reminders.engine.queue_due)
  daily_close  every minute     close the day at each school's cutoff (attendance close_day)
  nudges       every minute     roll-call nudge N minutes before the cutoff (attendance nudge_missing_rollcalls)
  escalation   every 10 minutes case escalation once a day from 08:00 (attendance escalate_cases)

Exactly-once does not depend on timing: every reminder and slot is a key in the ReminderSent
ledger. On PostgreSQL only the holder of an advisory lock runs the jobs at all, so N webhook
workers do the work once; a worker that loses its connection loses the lock and another takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from chatbot.app import App
from chatbot.attendance.schedule import close_due_days, escalate, nudge_rollcalls
from chatbot.reminders.engine import QuietHours, queue_due

log = logging.getLogger(__name__)

# pg_try_advisory_lock key: "jxsc" as an int, so it does not collide with other apps' locks.
ADVISORY_LOCK_KEY = 0x6A787363


class LeaderLock:
    """Who runs the jobs: on PostgreSQL the holder of a session advisory lock; on SQLite, us."""

    def __init__(self, engine: Engine, key: int = ADVISORY_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None or self.engine.dialect.name != "postgresql"

    def acquire(self) -> bool:
        """True if this process may run the jobs now (takes the lock when it is free)."""
        if self.engine.dialect.name != "postgresql":
            return True
        with self._guard:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    return True
                except DBAPIError:
                    log.warning("scheduler lock connection lost; trying to take the lock again")
                    self._drop()
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = bool(
                    conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
                )
            except DBAPIError:
                conn.close()
                raise
            if got:
                self._conn = conn
                log.info("this process holds the scheduler lock and runs the jobs")
                return True
            conn.close()
            return False

    def release(self) -> None:
        with self._guard:
            if self._conn is not None:
                with contextlib.suppress(DBAPIError):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):
                self._conn.close()
            self._conn = None


def grace(app: App) -> timedelta:
    return timedelta(hours=app.settings.reminder_grace_hours)


def _reminders(app: App, now: datetime) -> Any:
    quiet = QuietHours(app.settings.quiet_hours_start, app.settings.quiet_hours_end)
    return queue_due(app.session_factory, now, grace(app), quiet=quiet)


def _close(app: App, now: datetime) -> Any:
    return close_due_days(app.session_factory, now, grace(app))


def _nudges(app: App, now: datetime) -> Any:
    return nudge_rollcalls(app.session_factory, now)


def _escalation(app: App, now: datetime) -> Any:
    return escalate(app.session_factory, now, app.settings.timezone)


JobFunction = Callable[[App, datetime], Any]

JOBS: dict[str, tuple[JobFunction, dict[str, str]]] = {
    "reminders": (_reminders, {"minute": "*/5"}),
    "daily_close": (_close, {"minute": "*"}),
    "nudges": (_nudges, {"minute": "*"}),
    "escalation": (_escalation, {"minute": "*/10"}),
}


def run_job(app: App, name: str, now: datetime, leader: LeaderLock | None = None) -> Any:
    """Run one job now if this process is the leader; returns its report (None when not leader)."""
    if leader is not None and not leader.acquire():
        return None
    function, _trigger = JOBS[name]
    return function(app, now)


def run_jobs(
    app: App, now: datetime, leader: LeaderLock | None = None, only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Every job once, in order (tests and `bot.py remind --tick` use this instead of waiting)."""
    return {name: run_job(app, name, now, leader) for name in JOBS if only is None or name in only}


async def _run_in_thread(
    app: App, leader: LeaderLock, name: str, in_flight: set[asyncio.Future[Any]]
) -> None:
    # Shielded and tracked: stopping the scheduler cancels this coroutine, but the job's thread
    # goes on to its commit, and serve() waits for it before returning.
    job = asyncio.ensure_future(asyncio.to_thread(run_job, app, name, app.clock(), leader))
    in_flight.add(job)
    job.add_done_callback(in_flight.discard)
    try:
        report = await asyncio.shield(job)
        if report is not None:
            log.debug("job %s: %s", name, report)
    except Exception:
        # One failing job must not stop the others or the bot; it runs again at its next tick.
        log.exception("scheduler job %s failed", name)


async def serve(app: App, stop: asyncio.Event) -> None:
    """Run the jobs until `stop` is set."""
    leader = LeaderLock(app.engine)
    scheduler = AsyncIOScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 120}
    )
    start = app.clock()
    in_flight: set[asyncio.Future[Any]] = set()
    for name, (_function, cron) in JOBS.items():
        scheduler.add_job(
            _run_in_thread,
            CronTrigger(timezone=UTC, **cron),
            args=(app, leader, name, in_flight),
            id=name,
            name=name,
            next_run_time=start,
        )
    scheduler.start()
    log.info("scheduler started: %s", ", ".join(JOBS))
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        if in_flight:
            await asyncio.wait(set(in_flight))
        await asyncio.to_thread(leader.release)
