"""Pins enqueue_for_person's dedupe: one row per account for a repeated dedupe_key, one per distinct key."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.core.messages import Reply
from chatbot.delivery.collect import CollectingSender
from chatbot.delivery.outbox import enqueue_for_person
from chatbot.delivery.worker import drain_once
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person
from db.session import transaction
from tests.broadcast.helpers import link


def _enqueue(app: App, person_id: int, key: str | None, now: datetime, text: str = "家长会通知") -> int:
    """Queue one message for the person in its own transaction; returns the rows written."""
    with transaction(app.session_factory) as s:
        person = s.get(Person, person_id)
        assert person is not None
        return len(
            enqueue_for_person(s, person, lambda: Reply(text), kind="test.dedupe", now=now, dedupe_key=key)
        )


def _rows(app: App, person_id: int) -> list[OutboxMessage]:
    with app.session_factory() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.person_id == person_id, OutboxMessage.kind == "test.dedupe")
                .order_by(OutboxMessage.id)
            )
        )


def _identity(app: App, person_id: int, channel: str) -> int:
    with app.session_factory() as s:
        return int(
            s.scalars(
                select(ChannelIdentity.id).where(
                    ChannelIdentity.person_id == person_id, ChannelIdentity.channel == channel
                )
            ).one()
        )


def test_same_dedupe_key_in_two_transactions_queues_one_row(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    link(app, [demo.teacher], now)
    assert _enqueue(app, demo.teacher, "att.test:1", now) == 1
    assert _enqueue(app, demo.teacher, "att.test:1", now + timedelta(minutes=5), text="重复") == 0
    [row] = _rows(app, demo.teacher)
    assert row.dedupe_key == f"att.test:1|{_identity(app, demo.teacher, 'console')}"
    assert row.text == "家长会通知"  # the first one stays, the repeat was not rendered over it


def test_same_dedupe_key_twice_in_one_transaction_queues_one_row(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    link(app, [demo.teacher], now)
    with transaction(app.session_factory) as s:
        person = s.get(Person, demo.teacher)
        assert person is not None
        counts = [
            len(
                enqueue_for_person(s, person, lambda: Reply("x"), kind="test.dedupe", now=now, dedupe_key="k")
            )
            for _ in range(2)
        ]
    assert counts == [1, 0]
    assert len(_rows(app, demo.teacher)) == 1


@pytest.mark.parametrize(
    "keys", [["a", "b"], [None, None], ["a", None]], ids=["two-keys", "no-keys", "key-and-none"]
)
def test_different_or_missing_keys_queue_one_row_each(
    app: App,
    demo,
    now: datetime,
    keys: list[str | None],  # type: ignore[no-untyped-def]
) -> None:
    link(app, [demo.teacher], now)
    assert [_enqueue(app, demo.teacher, key, now) for key in keys] == [1, 1]
    assert len(_rows(app, demo.teacher)) == 2


def test_same_key_after_the_message_was_sent_is_not_sent_again(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    link(app, [demo.teacher], now)
    assert _enqueue(app, demo.teacher, "att.test:sent", now) == 1
    sender = CollectingSender("console")
    drain_once(app.session_factory, [sender], now=now)
    assert [m.text for m in sender.sent] == ["家长会通知"]
    assert _enqueue(app, demo.teacher, "att.test:sent", now + timedelta(hours=1)) == 0
    [row] = _rows(app, demo.teacher)
    assert row.status == OutboxStatus.SENT
    again = CollectingSender("console")
    drain_once(app.session_factory, [again], now=now + timedelta(hours=1))
    assert again.sent == []


def test_same_key_queues_once_per_chat_account(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    link(app, [demo.teacher], now)
    link(app, [demo.teacher], now, channel="wechat")
    assert _enqueue(app, demo.teacher, "att.test:both", now) == 2
    assert _enqueue(app, demo.teacher, "att.test:both", now) == 0
    rows = _rows(app, demo.teacher)
    assert sorted(r.channel for r in rows) == ["console", "wechat"]
    with app.session_factory() as s:
        total = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "test.dedupe")
        )
    assert total == 2
