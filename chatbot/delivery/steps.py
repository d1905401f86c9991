"""The delivery worker's database steps: claim due rows, record what their sends came to, and
recover rows a dead worker left in `sending`.

They are synchronous, each one transaction; the async loop (chatbot.delivery.worker) runs them in
its database threads. `OutboxSteps` holds them as methods of the worker, which supplies the state
they read (senders, config, engine, counters).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Select, Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from chatbot.core.domains import default_registry
from chatbot.delivery.model import Claimed, DeliveryConfig, Result
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.delivery.ports import OutgoingMessage, Sender
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from db.session import transaction

# The worker's own logger: operators filter its messages by that one name, wherever the code lives.
log = logging.getLogger("chatbot.delivery.worker")
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


@dataclass(frozen=True, slots=True)
class Outcomes:
    """One batch's results as the parameter rows of each write."""

    sent: list[dict[str, Any]]
    requeued: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    gone_identities: set[int]
    buttons_shown: dict[int, list[Any]]


class OutboxSteps:
    """Claim, record and recover: the worker's database work (`Worker` sets the state below)."""

    session_factory: sessionmaker[Session]
    senders: dict[str, Sender]
    config: DeliveryConfig
    engine: Engine
    skip_locked: bool
    numbered: set[str]
    editable: frozenset[str]
    totals: Counter[str]
    batch_limit: int

    # --- claim --------------------------------------------------------------------------------

    def claim(
        self, now: datetime, identity_ids: set[int] | None = None, limit: int | None = None
    ) -> list[Claimed]:
        """Mark up to a batch of due rows `sending` (committed) and return them; hold quiet-hour rows."""
        if not self.senders:
            return []
        query = self._due_rows(now, identity_ids, limit)
        with transaction(self.session_factory) as session:
            rows = session.execute(query).all()
            if not rows:
                return []
            claimed, held = self._sort_due(rows, now)
            if held:
                self._hold(session, held)
            if claimed:
                self._mark_sending(session, claimed, now)
            return claimed

    def _due_rows(self, now: datetime, identity_ids: set[int] | None, limit: int | None) -> Select[Any]:
        """The query for one batch of due rows on this worker's channels, locked on PostgreSQL."""
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
        return query

    def _sort_due(
        self, rows: Sequence[Row[Any]], now: datetime
    ) -> tuple[list[Claimed], list[dict[str, Any]]]:
        """The rows to send now, and the held ones (row id, end of their quiet hours)."""
        cfg = self.config
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
        return claimed, held

    def _hold(self, session: Session, held: list[dict[str, Any]]) -> None:
        """Move held rows' `not_before` to the end of their quiet hours; they stay queued."""
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("row_id"))
            .values(not_before=bindparam("not_before")),
            held,
        )
        self.totals["held"] += len(held)

    def _mark_sending(self, session: Session, claimed: list[Claimed], now: datetime) -> None:
        """Mark the claimed rows `sending` and count their attempt, in one statement."""
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([c.message.row_id for c in claimed]))
            .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=OUTBOX.c.attempts + 1)
        )

    # --- record -------------------------------------------------------------------------------

    def record(self, results: list[Result], now: datetime, refs: dict[str, set[int]] | None = None) -> None:
        """Write each send's outcome in one transaction, and tell the hooks about `refs` (default: the results')."""
        if refs is None:
            refs = refs_of(results)
        if not results and not refs:
            return
        outcomes = self._outcomes(results, now)
        with self.engine.begin() as connection:
            if self.skip_locked:
                # A commit per message must not wait for the disk: if the PostgreSQL server (not
                # this worker) crashes, the last moment's outcomes may be lost, and those rows are
                # re-sent (duplicates, never losses); the claims stay synchronous.
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            _write_outcomes(connection, outcomes, now)
            if refs:
                # The hooks work with ORM objects: a session joined to this transaction.
                with Session(bind=connection) as session:
                    run_hooks(session, refs, now, self.editable)
                    session.flush()
        for result in results:
            self.totals[result.outcome] += 1

    def _outcomes(self, results: list[Result], now: datetime) -> Outcomes:
        """Sort results into the writes they need: sent, back in the queue (retry or deferral), failed."""
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
        return Outcomes(sent, requeued, failed, gone_identities, buttons_shown)

    # --- recover ------------------------------------------------------------------------------

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


def _write_outcomes(connection: Connection, outcomes: Outcomes, now: datetime) -> None:
    """A batch's writes in their fixed order: sent, requeued, failed, gone accounts, shown buttons."""
    if outcomes.sent:
        connection.execute(MARK_SENT, [dict(row, sent_at=now) for row in outcomes.sent])
    if outcomes.requeued:
        connection.execute(MARK_REQUEUED, outcomes.requeued)
    if outcomes.failed:
        connection.execute(MARK_FAILED, outcomes.failed)
    if outcomes.gone_identities:
        _mark_gone(connection, outcomes.gone_identities)
    if outcomes.buttons_shown:
        connection.execute(
            REMEMBER_BUTTONS,
            [
                {"identity": identity_id, "buttons": flat_buttons(buttons)}
                for identity_id, buttons in outcomes.buttons_shown.items()
            ],
        )


def _mark_gone(connection: Connection, gone_identities: set[int]) -> None:
    """Deactivate accounts that blocked or left the bot, and fail what is still queued for them."""
    connection.execute(update(IDENTITY).where(IDENTITY.c.id.in_(gone_identities)).values(active=False))
    # Nothing else queued for a blocked account can arrive either.
    connection.execute(
        update(OUTBOX)
        .where(OUTBOX.c.identity_id.in_(gone_identities), OUTBOX.c.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.FAILED, last_error="recipient gone (blocked or unsubscribed)")
    )


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


__all__ = ["IDENTITY", "OUTBOX", "OutboxSteps", "Outcomes", "flat_buttons", "refs_of", "run_hooks"]
