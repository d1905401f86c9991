"""Kill -9 and restart: the delivery worker mid-broadcast, a roll-call mid-write, the daily close mid-run.

- `bot.py deliver` drains a broadcast to Telegram users (a fake Bot API on loopback counts what each
  chat received); it is killed at random points and restarted. Nothing may be lost, and a crash may
  re-send only the one message whose outcome was not yet written: at most one duplicate per crash.
- A process writing whole-class roll-calls is killed at a random moment: each day's roll-call is
  there with all its marks or not at all, and every day it confirmed is stored.
- `bot.py close-day` is killed at a random moment and run again: every absence is alerted exactly
  once, and a third run queues nothing.

Fast variants run in the default suite; `-m slow` runs the full ones (5,000 recipients, 5 kills).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import build_parser
from chatbot.delivery.worker import DeliveryConfig
from db.models import ChannelIdentity, Guardian, OutboxMessage, OutboxStatus, Priority, SchoolClass, Student
from db.models.attendance import AttendanceRecord, Mark, RollCall
from db.session import transaction
from tests.attendance.helpers import at
from tests.channels.telegram.fake_bot_api import FakeBotApi

# These tests start real processes (bot.py); the mutation bench leaves them out (see bench/mutation.py).
pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[2]
FIGURES: dict[str, object] = {}


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", **extra}
    for key in ("WEBHOOK_URL", "WECHAT_TOKEN", "WECHAT_APP_ID", "TELEGRAM_TOKEN"):
        if key not in extra:
            env.pop(key, None)
    return env


# --- the delivery worker -------------------------------------------------------------------------


def _queue_broadcast(app: App, recipients: int) -> list[int]:
    """A notice fanned out to `recipients` Telegram chats, as the broadcast domain writes it."""
    # The wall clock on purpose: the worker under test is a separate `bot.py deliver` process, and only
    # the process clock reaches it. CI's moved-clock runs move both sides (libfaketime is inherited).
    now = datetime.now(UTC)
    with transaction(app.session_factory) as s:
        identities = [
            ChannelIdentity(
                channel="telegram",
                external_id=str(500000 + i),
                active=True,
                failed_codes=0,
                last_buttons=[],
                created_at=now,
            )
            for i in range(recipients)
        ]
        s.add_all(identities)
        s.flush()
        # Rows in UTC; the worker's quiet hours are moved away from the test's wall clock (see _quiet).
        s.add_all(
            OutboxMessage(
                identity_id=identity.id,
                channel="telegram",
                kind="broadcast.notice",
                text=f"notice for chat {identity.external_id}",
                buttons=[],
                priority=int(Priority.NORMAL),
                not_before=now - timedelta(minutes=1),
                status=OutboxStatus.QUEUED,
                attempts=0,
                tz="UTC",
                created_at=now,
            )
            for identity in identities
        )
        return [identity.id for identity in identities]


def _quiet_hours_elsewhere() -> dict[str, str]:
    """A one-minute quiet window twelve hours away from now (UTC), so the run is never held."""
    start = (datetime.now(UTC) + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    end = (datetime.combine(date.today(), start) + timedelta(minutes=1)).time()
    return {"QUIET_HOURS_START": start.strftime("%H:%M"), "QUIET_HOURS_END": end.strftime("%H:%M")}


def _age_stuck_rows(app: App) -> int:
    """Stands for the sending timeout passing: rows a killed worker left in `sending` become recoverable."""
    back = DeliveryConfig().sending_timeout + timedelta(seconds=1)
    with transaction(app.session_factory) as s:
        stuck = s.execute(
            select(OutboxMessage.id, OutboxMessage.claimed_at).where(
                OutboxMessage.status == OutboxStatus.SENDING
            )
        ).all()
        if stuck:
            s.execute(update(OutboxMessage), [{"id": i, "claimed_at": c - back} for i, c in stuck])
        return len(stuck)


def _statuses(app: App) -> Counter[str]:
    with app.session_factory() as s:
        return Counter(
            {
                str(k): int(v)
                for k, v in s.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            }
        )


async def _kill_loop(app: App, recipients: int, kills: int, seed: int) -> dict[str, int]:
    fake = FakeBotApi()
    await fake.start()
    rng = random.Random(seed)
    _queue_broadcast(app, recipients)
    env = _env(
        app.settings.database_url,
        TELEGRAM_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_RATE_PER_SECOND="5000",
        **_quiet_hours_elsewhere(),
    )
    survived = 0
    stuck_total = 0
    try:
        for crash in range(kills + 1):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "bot.py", "deliver", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
            )
            delivered = len(fake.sent())
            if crash < kills:
                # Kill somewhere in the next stretch of the broadcast, at a random point.
                remaining = recipients - delivered
                target = delivered + rng.randint(1, max(1, remaining // (kills - crash + 1)))
                await fake.wait_for(
                    lambda t=target, p=process: len(fake.sent()) >= t or p.returncode is not None, timeout=240
                )
                assert process.returncode is None, (await process.communicate())[1].decode()[-2000:]
                process.kill()  # SIGKILL: no cleanup, no "finally", rows stay where they were
                await process.wait()
                survived += 1
                stuck_total += _age_stuck_rows(app)
                continue
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                counts = _statuses(app)
                if counts.get("queued", 0) == 0 and counts.get("sending", 0) == 0:
                    break
                assert process.returncode is None, (await process.communicate())[1].decode()[-2000:]
                await asyncio.sleep(0.2)
            process.terminate()
            _out, err = await asyncio.wait_for(process.communicate(), 60)
            assert process.returncode == 0, err.decode()[-2000:]
        per_chat = Counter(call.chat_id for call in fake.sent())
    finally:
        await fake.stop()
    statuses = _statuses(app)
    chats = {500000 + i for i in range(recipients)}
    lost = len(chats - set(per_chat))
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    return {
        "recipients": recipients,
        "kills": survived,
        "stuck_in_sending": stuck_total,
        "lost": lost,
        "duplicates": duplicates,
        "max_per_chat": max(per_chat.values()),
        "sent_rows": statuses.get("sent", 0),
        "unknown_chats": len(set(per_chat) - chats),
    }


async def _check_kill_loop(app: App, recipients: int, kills: int) -> None:
    figures = await _kill_loop(app, recipients, kills, seed=recipients * 31 + kills)
    FIGURES[f"deliver {recipients}x{kills}"] = figures
    print(f"\ncrash/restart delivery: {figures}")
    assert figures["kills"] == kills
    assert figures["lost"] == 0
    assert figures["unknown_chats"] == 0
    assert figures["sent_rows"] == recipients
    # The worker records each outcome before the next send starts (DELIVERY_IN_FLIGHT=1), so a
    # crash can leave at most one message sent but unrecorded: at most one duplicate per crash.
    assert figures["duplicates"] <= kills
    assert figures["max_per_chat"] <= 2


async def test_killed_delivery_worker_loses_nothing(empty_app: App) -> None:
    await _check_kill_loop(empty_app, recipients=300, kills=2)


@pytest.mark.slow
async def test_killed_delivery_worker_loses_nothing_5000_recipients_5_kills(empty_app: App) -> None:
    await _check_kill_loop(empty_app, recipients=5000, kills=5)


# --- a roll-call mid-write ------------------------------------------------------------------------


def _rollcall_kill(app: App, demo_teacher: int, seed: int) -> dict[str, int]:
    with app.session_factory() as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.class_teacher_id == demo_teacher)).one()
        size = int(
            s.scalar(select(func.count()).select_from(Student).where(Student.class_id == klass.id)) or 0
        )
    console_ready = ConsoleChannel(app.session_factory, app.router, clock=app.clock)
    console_ready.external_id(demo_teacher)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.rollcall_child",
            app.settings.database_url,
            str(demo_teacher),
            "2026-09-01",
            str(size),
        ],
        cwd=ROOT,
        env=_env(app.settings.database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(seed)
    assert process.stdout is not None
    confirmed: list[str] = []
    wanted = rng.randint(3, 12)
    while len(confirmed) < wanted:
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "child ended"
        confirmed.append(line.split()[0])
    time.sleep(rng.random() * 0.05)  # somewhere inside the next day's transaction, or between two
    process.kill()
    process.wait()
    with app.session_factory() as s:
        rollcalls = {rc.day: rc for rc in s.scalars(select(RollCall).where(RollCall.class_id == klass.id))}
        per_day = dict(
            s.execute(
                select(AttendanceRecord.day, func.count())
                .where(AttendanceRecord.class_id == klass.id, AttendanceRecord.status == Mark.ABSENT)
                .group_by(AttendanceRecord.day)
            ).all()
        )
    torn = [d for d in set(rollcalls) | set(per_day) if per_day.get(d, 0) != (size if d in rollcalls else 0)]
    missing = [
        d for d in confirmed if date.fromisoformat(d) not in rollcalls and date.fromisoformat(d).weekday() < 5
    ]
    return {
        "days_confirmed": len(confirmed),
        "days_stored": len(rollcalls),
        "torn": len(torn),
        "missing": len(missing),
    }


@pytest.mark.parametrize("seed", [1])
def test_killed_rollcall_is_all_or_nothing(app: App, demo, seed: int) -> None:  # type: ignore[no-untyped-def]
    figures = _rollcall_kill(app, demo.teacher, seed)
    print(f"\ncrash rollcall: {figures}")
    assert figures["torn"] == 0
    assert figures["missing"] == 0


@pytest.mark.slow
def test_killed_rollcall_is_all_or_nothing_many_times(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    for seed in range(3, 13):
        with transaction(app.session_factory) as s:
            s.execute(AttendanceRecord.__table__.delete())
            s.execute(RollCall.__table__.delete())
        figures = _rollcall_kill(app, demo.teacher, seed)
        assert figures["torn"] == 0 and figures["missing"] == 0, figures


# --- the daily close mid-run ------------------------------------------------------------------------

FRIDAY = date(2026, 11, 20)


def _absences_to_close(app: App, console: ConsoleChannel) -> int:
    """Friday's roll-calls with three absences per class; guardians and teachers have chat accounts."""
    with app.session_factory() as s:
        teachers = list(s.scalars(select(SchoolClass.class_teacher_id).order_by(SchoolClass.id)))
        people = set(teachers) | set(s.scalars(select(Guardian.person_id)))
    for person_id in sorted(people):
        console.external_id(person_id)
    for teacher in teachers:
        reply = console.send(teacher, "缺 1 2 3", now=at(FRIDAY, 8))
        assert reply
    with app.session_factory() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(AttendanceRecord)
                .where(AttendanceRecord.day == FRIDAY, AttendanceRecord.status == Mark.ABSENT)
            )
            or 0
        )


def _close(app: App) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "bot.py", "close-day", "--date", FRIDAY.isoformat()],
        cwd=ROOT,
        env=_env(app.settings.database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outbox_by_kind(app: App) -> Counter[str]:
    with app.session_factory() as s:
        return Counter(
            {
                k: int(v)
                for k, v in s.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind))
            }
        )


@pytest.mark.parametrize(
    "delay",
    [pytest.param(d, marks=[pytest.mark.slow] if d != 1.0 else []) for d in (0.0, 0.3, 0.6, 1.0, 1.5, 2.5)],
)
def test_killed_daily_close_reruns_with_no_duplicate_alerts(
    app: App, console: ConsoleChannel, delay: float
) -> None:
    absences = _absences_to_close(app, console)
    with app.session_factory() as s:
        classes = int(s.scalar(select(func.count()).select_from(SchoolClass)) or 0)
        asked = int(
            s.scalar(
                # One question per guardian, however many of their children are away.
                select(func.count(func.distinct(Guardian.person_id)))
                .select_from(AttendanceRecord)
                .join(Guardian, Guardian.student_id == AttendanceRecord.student_id)
                .where(AttendanceRecord.day == FRIDAY, AttendanceRecord.status == Mark.ABSENT)
            )
            or 0
        )
    killed = _close(app)
    time.sleep(delay)
    killed.kill()
    killed.wait()
    # The rerun (and a third run) as the same command, in this process.
    parser = build_parser()
    args = parser.parse_args(["close-day", "--date", FRIDAY.isoformat()])
    assert args.handler(args, app) == 0
    kinds = _outbox_by_kind(app)
    assert args.handler(args, app) == 0
    assert _outbox_by_kind(app) == kinds  # nothing more to say
    assert kinds["attendance.absence_alert"] == classes
    assert kinds["attendance.absence_question"] == asked
    with app.session_factory() as s:
        unprocessed = s.scalar(
            select(func.count())
            .select_from(AttendanceRecord)
            .where(
                AttendanceRecord.day == FRIDAY,
                AttendanceRecord.alerted_at.is_(None),
                AttendanceRecord.status == Mark.ABSENT,
            )
        )
    assert unprocessed == 0
    print(f"\ncrash close-day (kill after {delay}s): {absences} absences, {dict(kinds)}")
