"""Broadcast benchmark: one notice to N parents, delivered through a rate-limited fake channel.

    .venv/bin/python bench/bench_broadcast.py [--recipients 50000] [--rate 2000] [--db URL]

The fake channel enforces `--rate` messages per second (a token bucket holding `--burst` seconds of
tokens) and answers 429 with retry_after past it. The real worker drains the real outbox rows that
`create_broadcast` queued. Printed: the achieved rate as a fraction of the limit (target ≥ 0.95),
429 answers, and lost and duplicated messages (target 0 and 0).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.broadcast.service import NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget
from chatbot.config import Settings
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import OutgoingMessage, RetryLater
from chatbot.delivery.worker import DeliveryConfig, Worker
from db.migrate import upgrade
from db.models import (
    ChannelIdentity,
    Guardian,
    Membership,
    OutboxMessage,
    OutboxStatus,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Student,
)
from db.models.broadcast import Audience, BroadcastScope
from db.session import make_engine, make_session_factory, transaction

CHANNEL = "bench"
PUPILS_PER_CLASS = 50
# 08:00 in Shanghai on a Monday: outside quiet hours, so nothing is held.
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


class RateLimitedChannel:
    """A fake platform: a token bucket of `rate`/s; past it, 429 with the time until the next token."""

    channel = CHANNEL
    can_edit = True
    numbered_buttons = False

    def __init__(self, rate: float, burst_seconds: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate * burst_seconds)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.accepted: Counter[int] = Counter()
        self.too_many = 0
        self.first: float | None = None
        self.last = 0.0

    async def send(self, message: OutgoingMessage) -> str:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            self.too_many += 1
            raise RetryLater("429 Too Many Requests", retry_after=(1.0 - self.tokens) / self.rate)
        self.tokens -= 1.0
        if message.kind == "notice":
            self.accepted[message.row_id] += 1
            self.first = now if self.first is None else self.first
            self.last = now
        return message.edit_external_message_id or f"b{message.row_id}"


def seed(factory, recipients: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """One region, one school, classes of 50 pupils, one guardian each with one chat account."""
    with transaction(factory) as session:
        region = Region(code="bench", name="Bench county", timezone="Asia/Shanghai", settings={})
        session.add(region)
        session.flush()
        school = School(region_id=region.id, name="Bench school")
        session.add(school)
        admin = Person(name="admin", created_at=NOW)
        session.add(admin)
        session.flush()
        session.add(
            Membership(
                person_id=admin.id, role=Role.COUNTY_ADMIN, scope_type=ScopeType.REGION, scope_id=region.id
            )
        )
        session.add(
            ChannelIdentity(
                channel=CHANNEL,
                external_id="admin",
                person_id=admin.id,
                active=True,
                failed_codes=0,
                last_buttons=[],
                created_at=NOW,
            )
        )
        classes = (recipients + PUPILS_PER_CLASS - 1) // PUPILS_PER_CLASS
        session.execute(
            insert(SchoolClass),
            [{"school_id": school.id, "grade": 1 + n % 9, "name": f"{n}班"} for n in range(classes)],
        )
        class_ids = list(session.scalars(select(SchoolClass.id).order_by(SchoolClass.id)))
        first_person = (session.scalar(select(func.max(Person.id))) or 0) + 1
        session.execute(insert(Person), [{"name": f"p{n}", "created_at": NOW} for n in range(recipients)])
        session.execute(
            insert(Student),
            [
                {
                    "school_id": school.id,
                    "class_id": class_ids[n // PUPILS_PER_CLASS],
                    "student_no": f"{n:06d}",
                    "name": f"s{n}",
                    "household": [],
                    "active": True,
                    "boarding": False,
                }
                for n in range(recipients)
            ],
        )
        student_ids = list(session.scalars(select(Student.id).order_by(Student.id)))
        session.execute(
            insert(Guardian),
            [{"person_id": first_person + n, "student_id": student_ids[n]} for n in range(recipients)],
        )
        session.execute(
            insert(ChannelIdentity),
            [
                {
                    "channel": CHANNEL,
                    "external_id": f"chat-{n}",
                    "person_id": first_person + n,
                    "active": True,
                    "failed_codes": 0,
                    "last_buttons": [],
                    "created_at": NOW,
                }
                for n in range(recipients)
            ],
        )
        return region.id, admin.id


async def drain_all(worker: Worker, factory) -> None:  # type: ignore[no-untyped-def]
    while True:
        await worker.drain()
        with factory() as session:
            left = session.scalar(
                select(func.count()).where(
                    OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))
                )
            )
        if not left:
            return
        await asyncio.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=500.0, help="the fake channel's limit, messages/s")
    parser.add_argument("--burst", type=float, default=0.05, help="seconds of burst the fake channel allows")
    parser.add_argument(
        "--pace-burst", type=float, default=0.01, help="seconds of sends the worker lets out at once"
    )
    parser.add_argument(
        "--lanes", type=int, help="concurrent claim→send→record loops (default 3 on SQLite, 6 on PostgreSQL)"
    )
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=1,
        help="messages sent but not yet recorded at once (the product default 1: one duplicate per crash at most)",
    )
    parser.add_argument(
        "--db-inline", action="store_true", help="run database work on the event loop (default: in a thread)"
    )
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file in a temp dir)")
    args = parser.parse_args()

    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench-broadcast-')}/bench.db"
    # PostgreSQL round trips are slower but run in parallel: more lanes keep the channel busy.
    lanes = args.lanes or (6 if url.startswith("postgresql") else 3)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]

    started = time.perf_counter()
    region_id, admin_id = seed(factory, args.recipients)
    seeded = time.perf_counter()
    with transaction(factory) as session:
        admin = session.get(Person, admin_id)
        assert admin is not None
        draft = NoticeDraft(
            target=NoticeTarget(BroadcastScope.REGION, region_id, Audience.PARENTS),
            texts={"zh_Hans": "明天上午停水，请家长提前准备。", "en": "No water tomorrow morning."},
            ack=True,
        )
        broadcast = create_broadcast(session, admin, draft, now=NOW, settings=settings)
        broadcast_id, queued = broadcast.id, broadcast.message_count
    created = time.perf_counter()

    channel = RateLimitedChannel(args.rate, args.burst)
    config = DeliveryConfig(
        limits={CHANNEL: ChannelLimit(per_second=args.rate, burst_seconds=args.pace_burst)},
        batch_size=args.batch,
        lanes=lanes,
        in_flight=args.in_flight,
        db_in_thread=not args.db_inline,
    )
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    # Virtual "now" starts at NOW and runs with the wall clock, so retry_after delays do elapse.
    worker = Worker(
        factory, [channel], config, clock=lambda: NOW + timedelta(seconds=time.perf_counter() - t0)
    )
    asyncio.run(drain_all(worker, factory))
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0

    with factory() as session:
        rows = dict(
            session.execute(
                select(OutboxMessage.id, OutboxMessage.status).where(
                    OutboxMessage.ref_type == "broadcast", OutboxMessage.ref_id == broadcast_id
                )
            ).all()
        )
        progress = session.scalar(select(func.count()).where(OutboxMessage.ref_type == "broadcast_progress"))
    sent_rows = {row_id for row_id, status in rows.items() if status == OutboxStatus.SENT}
    lost = len(set(rows) - set(channel.accepted)) + len(set(rows) - sent_rows)
    duplicates = sum(n - 1 for n in channel.accepted.values() if n > 1)
    sending_window = (channel.last - channel.first) if channel.first is not None else 0.0
    achieved = (len(channel.accepted) - 1) / sending_window if sending_window > 0 else 0.0
    overall = len(channel.accepted) / elapsed if elapsed else 0.0
    print(f"database            {engine.dialect.name}")
    print(f"recipients          {args.recipients:,} (queued {queued:,} messages)")
    print(f"seed                {seeded - started:.1f} s")
    print(f"create_broadcast    {created - seeded:.2f} s (recipients, outbox rows, audit)")
    print(
        f"limit               {args.rate:,.0f}/s (burst {channel.capacity:.0f}); worker lanes {lanes}, in flight {args.in_flight}"
    )
    print(f"delivered           {len(channel.accepted):,} in {elapsed:.1f} s")
    print(
        f"achieved rate       {achieved:,.0f}/s = {achieved / args.rate:.3f} of the limit (first→last send)"
    )
    print(
        f"end-to-end rate     {overall:,.0f}/s = {overall / args.rate:.3f} of the limit (incl. start/finish)"
    )
    print(
        f"worker CPU          {cpu:.1f} s = {1e6 * cpu / max(1, len(channel.accepted)):.0f} µs per message "
        f"({cpu / elapsed:.0%} of one core; the rest of the time this process was waiting or starved)"
    )
    print(f"429 answers         {channel.too_many:,}")
    print(f"lost                {lost}")
    print(f"duplicates          {duplicates}")
    print(f"progress messages   {progress} (edited in place on the fake channel)")
    engine.dispose()
    ok = achieved / args.rate >= 0.95 and lost == 0 and duplicates == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
