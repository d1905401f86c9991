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
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from chatbot.clock import utcnow
from chatbot.delivery.limits import ChannelLimiter, Monotonic, Sleep
from chatbot.delivery.model import Claimed, Clock, DeliveryConfig, DrainReport, Outcome, Result
from chatbot.delivery.ports import PermanentFailure, RecipientGone, RetryLater, Sender
from chatbot.delivery.steps import OutboxSteps, refs_of
from db.models import OutboxMessage

log = logging.getLogger(__name__)
T = TypeVar("T")


class Worker(OutboxSteps):
    """Claims, sends and records outbox rows for the channels it has Senders for.

    The database steps (`claim`, `record`, `recover`) are in chatbot.delivery.steps; this class
    adds the sending and the async loops that run them.
    """

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
    "Clock",
    "DeliveryConfig",
    "DrainReport",
    "Outcome",
    "Result",
    "Worker",
    "drain_once",
    "outbox_counts",
    "serve",
]
