"""The delivery worker: drains the outbox through the channels' Senders.

A row moves queued → sending → sent | failed (or back to queued for a retry). The claim is
committed before anything is sent, and the result is recorded after, so a crash in between
leaves the row in `sending`; `recover` puts such rows back after `sending_timeout`, so nothing is
ever lost. Duplicates are bounded by `in_flight`: a send may start only while fewer than that many
messages are sent-or-sending but not yet recorded, so a crash re-sends at most `in_flight`
messages. The default of 1 is the design's promise of at most one duplicate per crash. On
PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so any number of workers can drain the same
outbox; on SQLite run one.

Rate limits, retry/backoff, quiet hours and the identity's `active` flag are handled here, so
channels only translate a message into a platform call and a platform error into a typed failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import Engine, Table, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from chatbot.clock import utcnow
from chatbot.config import Settings
from chatbot.core.domains import default_registry
from chatbot.delivery.limits import ChannelLimit, ChannelLimiter, Monotonic, Sleep
from chatbot.delivery.outbox import QUIET_END, QUIET_START, after_quiet_hours
from chatbot.delivery.ports import (
    OutgoingMessage,
    PermanentFailure,
    RecipientGone,
    RetryLater,
    Sender,
)
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from db.session import transaction

log = logging.getLogger(__name__)
OUTBOX = cast(Table, OutboxMessage.__table__)
IDENTITY = cast(Table, ChannelIdentity.__table__)

# Built once: with one small write per message, building and cache-keying a statement per call
# costs more than the write itself.
_BY_ROW = OUTBOX.c.id == bindparam("row_id")
MARK_SENT = (
    update(OUTBOX)
    .where(_BY_ROW)
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("sent_at"),
        external_message_id=bindparam("external"),
        last_error=None,
    )
)
MARK_REQUEUED = (
    update(OUTBOX)
    .where(_BY_ROW)
    .values(
        status=OutboxStatus.QUEUED,
        not_before=bindparam("not_before"),
        attempts=OUTBOX.c.attempts - bindparam("undo"),
        last_error=bindparam("error"),
    )
)
MARK_FAILED = update(OUTBOX).where(_BY_ROW).values(status=OutboxStatus.FAILED, last_error=bindparam("error"))
REMEMBER_BUTTONS = (
    update(IDENTITY).where(IDENTITY.c.id == bindparam("identity")).values(last_buttons=bindparam("buttons"))
)

Clock = Callable[[], datetime]
Outcome = Literal["sent", "retry", "failed", "gone", "deferred"]
T = TypeVar("T")

# Modules told about delivered rows after each batch (broadcast progress); looked up by name so
# the outbox does not depend on its users.


@dataclass
class DeliveryConfig:
    """How the worker paces, batches and retries. Build it with `from_settings`."""

    limits: dict[str, ChannelLimit] = field(default_factory=dict)
    batch_size: int = 100
    # A batch holds about this many seconds of sending at the channels' rate, so cancelling a
    # broadcast stops within about this long.
    batch_seconds: float = 1.0
    # Messages sent (or being sent) whose outcome is not yet written. A kill -9 re-sends exactly
    # these, so this is the most duplicates one crash can cause. Each extra one buys throughput on
    # slow links (messages/s ≈ in_flight / (platform latency + one small write)).
    in_flight: int = 1
    # Broadcast progress (one row lock and a count per notice) is refreshed at most this often
    # while sending, and always when a drain ends.
    hook_interval: float = 1.0
    # Concurrent claim→send→record loops; two keep the channel busy while a batch is recorded.
    lanes: int = 2
    max_attempts: int = 8
    backoff_base: float = 5.0
    backoff_max: float = 3600.0
    send_timeout: float = 60.0
    sending_timeout: timedelta = timedelta(minutes=5)
    # A batch waits this long for a busy chat (per-chat limit); longer waits go back to the queue.
    max_chat_hold: float = 2.0
    poll_interval: float = 1.0
    recover_interval: float = 60.0
    quiet_start: clock_time = QUIET_START
    quiet_end: clock_time = QUIET_END
    # Run database work in a thread so sending continues while a batch is claimed or recorded.
    db_in_thread: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DeliveryConfig:
        """The operator's settings; each channel's rate limits come from its Sender unless overridden."""
        # PostgreSQL round trips are slower but run in parallel: more lanes keep a channel busy.
        overrides.setdefault("lanes", 4 if settings.database_url.startswith("postgresql") else 2)
        overrides.setdefault("in_flight", settings.delivery_in_flight)
        return cls(quiet_start=settings.quiet_hours_start, quiet_end=settings.quiet_hours_end, **overrides)


@dataclass(frozen=True)
class Claimed:
    """A row this worker marked `sending`, with what its channel needs to send it."""

    message: OutgoingMessage
    channel: str
    priority: int
    attempts: int
    ref_type: str | None
    ref_id: int | None


@dataclass(frozen=True)
class Result:
    claimed: Claimed
    outcome: Outcome
    external_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def in_flight(self) -> bool:
        """An attempted send (anything but a deferral) holds an in-flight place until it is recorded."""
        return self.outcome != "deferred"


@dataclass
class DrainReport:
    """What one drain did, by outcome; `held` counts rows moved past quiet hours."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        return self.counts["sent"]

    @property
    def claimed(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "held")


class Worker:
    """Claims, sends and records outbox rows for the channels it has Senders for."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        senders: Iterable[Sender],
        config: DeliveryConfig | None = None,
        *,
        clock: Clock = utcnow,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.session_factory = session_factory
        self.senders: dict[str, Sender] = {sender.channel: sender for sender in senders}
        self.config = config or DeliveryConfig()
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.limits = {code: self.config.limits.get(code, s.limit) for code, s in self.senders.items()}
        self.limiters = {code: ChannelLimiter(limit, monotonic, sleep) for code, limit in self.limits.items()}
        bind = session_factory.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("the worker needs a session factory bound to an engine")
        self.engine = bind
        self.skip_locked = bind.dialect.name == "postgresql"
        self.numbered = {code for code, s in self.senders.items() if s.caps.numbered_buttons}
        self.editable = frozenset(code for code, s in self.senders.items() if s.caps.can_edit)
        self.totals: Counter[str] = Counter()
        # Its own threads, kept warm: a write per message through a shared pool costs twice the write.
        # SQLite has one writer, so one thread; PostgreSQL one per lane.
        self._db_threads: ThreadPoolExecutor | None = None
        # What recorded rows were about, not yet shown to the progress hooks (run once a second).
        self._unhooked: dict[str, set[int]] = {}
        self._hooks_due = 0.0
        self.batch_limit = self._batch_limit()

    def _batch_limit(self) -> int:
        rates = [limit.per_second for limit in self.limits.values()]
        if not rates or any(rate is None for rate in rates):
            return self.config.batch_size
        paced = math.ceil(sum(rate or 0 for rate in rates) * self.config.batch_seconds)
        return max(10, min(self.config.batch_size, paced))

    # --- database steps (sync; run in a thread by the async loop) ----------------------------

    def claim(
        self, now: datetime, identity_ids: set[int] | None = None, limit: int | None = None
    ) -> list[Claimed]:
        """Mark up to a batch of due rows `sending` (committed) and return them; hold quiet-hour rows."""
        if not self.senders:
            return []
        cfg = self.config
        # Core statements, not ORM objects: the worker touches thousands of rows a second.
        query = (
            select(
                OUTBOX.c.id,
                OUTBOX.c.identity_id,
                OUTBOX.c.channel,
                OUTBOX.c.kind,
                OUTBOX.c.text,
                OUTBOX.c.buttons,
                OUTBOX.c.priority,
                OUTBOX.c.attempts,
                OUTBOX.c.tz,
                OUTBOX.c.ref_type,
                OUTBOX.c.ref_id,
                OUTBOX.c.edit_external_message_id,
                IDENTITY.c.external_id,
                IDENTITY.c.last_inbound_at,
            )
            .join(IDENTITY, IDENTITY.c.id == OUTBOX.c.identity_id)
            .where(
                OUTBOX.c.status == OutboxStatus.QUEUED,
                OUTBOX.c.not_before <= now,
                OUTBOX.c.channel.in_(sorted(self.senders)),
                IDENTITY.c.active.is_(True),
            )
            # Urgent first, then oldest due first: this order walks ix_outbox_drain without sorting.
            .order_by(OUTBOX.c.priority, OUTBOX.c.not_before, OUTBOX.c.id)
            .limit(limit or self.batch_limit)
        )
        if identity_ids is not None:
            query = query.where(OUTBOX.c.identity_id.in_(sorted(identity_ids)))
        if self.skip_locked:
            query = query.with_for_update(skip_locked=True, of=OUTBOX)
        with transaction(self.session_factory) as session:
            rows = session.execute(query).all()
            if not rows:
                return []
            claimed: list[Claimed] = []
            held: list[dict[str, Any]] = []
            quiet_until: dict[str, datetime] = {}
            for row in rows:
                if row.tz not in quiet_until:
                    quiet_until[row.tz] = after_quiet_hours(now, row.tz, cfg.quiet_start, cfg.quiet_end)
                if row.priority != Priority.URGENT and quiet_until[row.tz] != now:
                    held.append({"row_id": row.id, "not_before": quiet_until[row.tz]})
                    continue
                claimed.append(
                    Claimed(
                        message=OutgoingMessage(
                            row_id=row.id,
                            identity_id=row.identity_id,
                            external_id=row.external_id,
                            text=row.text,
                            buttons=list(row.buttons or []),
                            kind=row.kind,
                            edit_external_message_id=row.edit_external_message_id,
                            last_inbound_at=row.last_inbound_at,
                        ),
                        channel=row.channel,
                        priority=row.priority,
                        attempts=row.attempts + 1,
                        ref_type=row.ref_type,
                        ref_id=row.ref_id,
                    )
                )
            if held:
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == bindparam("row_id"))
                    .values(not_before=bindparam("not_before")),
                    held,
                )
                self.totals["held"] += len(held)
            if claimed:
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_([c.message.row_id for c in claimed]))
                    .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=OUTBOX.c.attempts + 1)
                )
            return claimed

    def record(self, results: list[Result], now: datetime, refs: dict[str, set[int]] | None = None) -> None:
        """Write each send's outcome in one transaction, and tell the hooks about `refs` (default: the results')."""
        if refs is None:
            refs = refs_of(results)
        if not results and not refs:
            return
        cfg = self.config
        sent: list[dict[str, Any]] = []
        requeued: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        gone_identities: set[int] = set()
        buttons_shown: dict[int, list[Any]] = {}
        for result in results:
            claimed = result.claimed
            row_id = claimed.message.row_id
            if result.outcome == "sent":
                sent.append({"row_id": row_id, "external": result.external_message_id})
                if claimed.channel in self.numbered and claimed.message.buttons:
                    buttons_shown[claimed.message.identity_id] = claimed.message.buttons
            elif result.outcome == "deferred":
                # Not tried: give the attempt back.
                requeued.append(
                    {
                        "row_id": row_id,
                        "undo": 1,
                        "not_before": now + timedelta(seconds=result.retry_after or 0),
                        "error": None,
                    }
                )
            elif result.outcome == "retry" and claimed.attempts < cfg.max_attempts:
                delay = (
                    result.retry_after
                    if result.retry_after is not None
                    else min(cfg.backoff_max, cfg.backoff_base * 2 ** (claimed.attempts - 1))
                )
                requeued.append(
                    {
                        "row_id": row_id,
                        "undo": 0,
                        "not_before": now + timedelta(seconds=delay),
                        "error": result.error,
                    }
                )
            else:
                error = result.error or "failed"
                if result.outcome == "retry":
                    error = f"gave up after {claimed.attempts} attempts: {error}"
                if result.outcome == "gone":
                    gone_identities.add(claimed.message.identity_id)
                failed.append({"row_id": row_id, "error": error[:500]})
        with self.engine.begin() as connection:
            if self.skip_locked:
                # A commit per message must not wait for the disk: if the PostgreSQL server (not
                # this worker) crashes, the last moment's outcomes may be lost, and those rows are
                # re-sent (duplicates, never losses); the claims stay synchronous.
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            if sent:
                connection.execute(MARK_SENT, [dict(row, sent_at=now) for row in sent])
            if requeued:
                connection.execute(MARK_REQUEUED, requeued)
            if failed:
                connection.execute(MARK_FAILED, failed)
            if gone_identities:
                connection.execute(
                    update(IDENTITY).where(IDENTITY.c.id.in_(gone_identities)).values(active=False)
                )
                # Nothing else queued for a blocked account can arrive either.
                connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.identity_id.in_(gone_identities), OUTBOX.c.status == OutboxStatus.QUEUED)
                    .values(status=OutboxStatus.FAILED, last_error="recipient gone (blocked or unsubscribed)")
                )
            if buttons_shown:
                connection.execute(
                    REMEMBER_BUTTONS,
                    [
                        {"identity": identity_id, "buttons": flat_buttons(buttons)}
                        for identity_id, buttons in buttons_shown.items()
                    ],
                )
            if refs:
                # The hooks work with ORM objects: a session joined to this transaction.
                with Session(bind=connection) as session:
                    run_hooks(session, refs, now, self.editable)
                    session.flush()
        for result in results:
            self.totals[result.outcome] += 1

    def recover(self, now: datetime) -> int:
        """Put rows stuck in `sending` (a worker died mid-send) back in the queue; returns how many."""
        cutoff = now - self.config.sending_timeout
        with transaction(self.session_factory) as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < cutoff)
                .values(status=OutboxStatus.QUEUED, last_error="recovered after a worker stopped mid-send")
                .execution_options(synchronize_session=False)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("recovered %d outbox rows stuck in sending", count)
        return count

    # --- sending ------------------------------------------------------------------------------

    async def send_batch(
        self, batch: list[Claimed], on_done: Callable[[Result], None], places: asyncio.Semaphore
    ) -> None:
        """Send a batch, at most `in_flight` at once; `on_done` gets each result and frees its place once recorded."""

        async def one(claimed: Claimed) -> None:
            on_done(await self._deliver(claimed, places))

        tasks = [asyncio.ensure_future(one(claimed)) for claimed in batch]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _deliver(self, claimed: Claimed, places: asyncio.Semaphore) -> Result:
        """Wait for the chat's turn and an in-flight place, then send; the result keeps the place."""
        limiter = self.limiters[claimed.channel]
        chat = claimed.message.external_id
        chat_wait = limiter.chat_wait(chat)
        if chat_wait > self.config.max_chat_hold:
            limiter.release_chat(chat)
            return Result(claimed, "deferred", retry_after=chat_wait)
        if chat_wait > 0:
            # Waiting for a busy chat holds no place, so other chats' messages go out meanwhile.
            await self.sleep(chat_wait)
        await places.acquire()
        try:
            await limiter.acquire()
            return await self._attempt(claimed)
        except asyncio.CancelledError:
            places.release()
            raise
        # Any other BaseException is the process going down: keep the place, so nothing more is sent.

    async def _attempt(self, claimed: Claimed) -> Result:
        """One platform call, with its failure translated into an outcome."""
        limiter = self.limiters[claimed.channel]
        try:
            async with asyncio.timeout(self.config.send_timeout):
                external_message_id = await self.senders[claimed.channel].send(claimed.message)
        except RetryLater as exc:
            if exc.retry_after:
                limiter.pause(exc.retry_after)
            return Result(claimed, "retry", error=str(exc) or "retry later", retry_after=exc.retry_after)
        except RecipientGone as exc:
            return Result(claimed, "gone", error=f"recipient gone: {exc}")
        except PermanentFailure as exc:
            return Result(claimed, "failed", error=f"permanent failure: {exc}")
        except TimeoutError:
            return Result(claimed, "retry", error="timed out")
        except Exception as exc:
            # Unknown errors are treated as transient; only the type is logged (messages may hold names).
            log.warning("send of outbox row %d failed with %s", claimed.message.row_id, type(exc).__name__)
            return Result(claimed, "retry", error=type(exc).__name__)
        return Result(claimed, "sent", external_message_id=str(external_message_id))

    # --- loops --------------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        if not self.config.db_in_thread:
            return fn(*args)
        if self._db_threads is None:
            self._db_threads = ThreadPoolExecutor(
                max_workers=self.config.lanes if self.skip_locked else 1, thread_name_prefix="delivery-db"
            )
        return await asyncio.get_running_loop().run_in_executor(self._db_threads, fn, *args)

    def close(self) -> None:
        """Let the database threads go (they finish what they are doing first)."""
        if self._db_threads is not None:
            self._db_threads.shutdown(wait=False)
            self._db_threads = None

    def _take_unhooked(self) -> dict[str, set[int]]:
        refs, self._unhooked = self._unhooked, {}
        self._hooks_due = self.monotonic() + self.config.hook_interval
        return refs

    async def _send_and_record(self, batch: list[Claimed], places: asyncio.Semaphore) -> None:
        """Send a batch and write each outcome as soon as it is known, freeing its in-flight place."""
        finished: list[Result] = []
        wake = asyncio.Event()

        def on_done(result: Result) -> None:
            finished.append(result)
            wake.set()

        sending = asyncio.ensure_future(self.send_batch(batch, on_done, places))
        sending.add_done_callback(lambda _task: wake.set())
        try:
            while True:
                await wake.wait()
                wake.clear()
                chunk = finished[:]
                del finished[:]
                last = sending.done() and not finished
                for ref_type, ids in refs_of(chunk).items():
                    self._unhooked.setdefault(ref_type, set()).update(ids)
                refs: dict[str, set[int]] = {}
                if self.monotonic() >= self._hooks_due:
                    refs = self._take_unhooked()
                try:
                    if chunk or refs:
                        await self._db(self.record, chunk, self.clock(), refs)
                finally:
                    for result in chunk:
                        if result.in_flight:
                            places.release()
                if last:
                    break
        finally:
            sending.cancel()
        sending.result()  # re-raise a crash (KeyboardInterrupt, SystemExit...) from a send

    async def drain(
        self, *, identity_ids: set[int] | None = None, stop: asyncio.Event | None = None
    ) -> DrainReport:
        """Send everything due now, in batches, until nothing due is left (or `stop` is set)."""
        report = DrainReport()
        before = Counter(self.totals)
        # Shared by the lanes: the in-flight bound is per worker, not per batch.
        places = asyncio.Semaphore(self.config.in_flight)

        async def lane() -> None:
            while stop is None or not stop.is_set():
                batch = await self._db(self.claim, self.clock(), identity_ids)
                if not batch:
                    return
                await self._send_and_record(batch, places)

        lanes = self.config.lanes if self.config.db_in_thread else 1
        while True:
            await asyncio.gather(*(lane() for _ in range(max(1, lanes))))
            if not self._unhooked:
                break
            # The last outcomes are written, so the hooks now see a notice finished; what they
            # queue (the sender's summary) goes out in this drain too.
            refs = self._take_unhooked()
            await self._db(self.record, [], self.clock(), refs)
        report.counts = self.totals - before
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, wait for more, recover stuck rows now and then, until `stop` is set."""
        last_recover: float | None = None
        loop = asyncio.get_running_loop()
        failures = 0
        try:
            while not stop.is_set():
                try:
                    if last_recover is None or loop.time() - last_recover >= self.config.recover_interval:
                        await self._db(self.recover, self.clock())
                        last_recover = loop.time()
                    report = await self.drain(stop=stop)
                    failures = 0
                except Exception as exc:
                    # A database hiccup must not stop the bot: rows left in `sending` are recovered later.
                    failures += 1
                    log.error(
                        "delivery worker: %s; retrying (failure %d in a row)", type(exc).__name__, failures
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), timeout=min(60.0, self.config.poll_interval * 2**failures)
                        )
                    continue
                if report.claimed == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.config.poll_interval)
        finally:
            self.close()


def flat_buttons(buttons: list[Any]) -> list[Any]:
    """Pushed buttons as one list, as numbered answers count them."""
    return [button for row in buttons for button in (row if isinstance(row, list) else [row])]


def refs_of(results: Iterable[Result]) -> dict[str, set[int]]:
    """What the rows were about (a broadcast, say), for the after-delivery hooks."""
    refs: dict[str, set[int]] = {}
    for result in results:
        claimed = result.claimed
        if claimed.ref_type and claimed.ref_id is not None:
            refs.setdefault(claimed.ref_type, set()).add(claimed.ref_id)
    return refs


def run_hooks(session: Session, refs: dict[str, set[int]], now: datetime, editable: frozenset[str]) -> None:
    """The domains' after-delivery hooks, as they registered them (chatbot.core.domains)."""
    for hook in default_registry().after_delivery:
        hook(session, refs, now, editable)


async def serve(
    app: Any, senders: list[Sender], stop: asyncio.Event, config: DeliveryConfig | None = None
) -> None:
    """Run one worker in the main process until `stop` (called by chatbot.channels.cli)."""
    if not senders:
        log.info("delivery worker: no channel can send; outbox rows wait")
        await stop.wait()
        return
    worker = Worker(
        app.session_factory, senders, config or DeliveryConfig.from_settings(app.settings), clock=app.clock
    )
    log.info("delivery worker started for %s", ", ".join(sorted(worker.senders)))
    await worker.run(stop)


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run, or asyncio.run in a helper thread when called from inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="drain-once")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def drain_once(
    session_factory: sessionmaker[Session],
    senders: Iterable[Sender],
    *,
    now: datetime | None = None,
    config: DeliveryConfig | None = None,
    identity_ids: set[int] | None = None,
    clock: Clock | None = None,
    monotonic: Monotonic | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    recover: bool = True,
) -> DrainReport:
    """Synchronously recover stuck rows and send everything due (for tests, the console and the CLI).

    With `now` the clock stands still at that moment; pass `clock`/`monotonic`/`sleep` for virtual time.
    """
    cfg = config or DeliveryConfig(db_in_thread=False)
    fixed = now
    the_clock: Clock = clock or ((lambda: fixed) if fixed is not None else utcnow)
    sender_list = list(senders)

    async def main() -> DrainReport:
        worker = Worker(
            session_factory,
            sender_list,
            cfg,
            clock=the_clock,
            monotonic=monotonic or time.monotonic,
            sleep=sleep or asyncio.sleep,
        )
        try:
            if recover:
                worker.recover(the_clock())
            return await worker.drain(identity_ids=identity_ids)
        finally:
            worker.close()

    return _run_coroutine(main)


def outbox_counts(session: Session) -> dict[str, int]:
    """Rows per status, for operators."""
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): int(count) for status, count in rows}


__all__ = [
    "Claimed",
    "DeliveryConfig",
    "DrainReport",
    "Result",
    "Worker",
    "drain_once",
    "outbox_counts",
    "serve",
]
