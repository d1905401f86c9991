"""Outbox delivery through the Telegram Sender, with the delivery worker, against the fake Bot API."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.telegram.sender import TelegramSender
from chatbot.core.messages import Button, Reply
from chatbot.delivery.outbox import enqueue_for_person
from chatbot.delivery.ports import OutgoingMessage, PermanentFailure, RecipientGone, RetryLater
from chatbot.delivery.worker import DeliveryConfig, Worker
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person
from db.session import transaction
from tests.channels.telegram.fake_bot_api import FakeBotApi

CHAT = 6001


def bind_telegram(app: App, person_id: int, chat_id: int, now: datetime) -> int:
    with transaction(app.session_factory) as s:
        identity = ChannelIdentity(
            channel="telegram",
            external_id=str(chat_id),
            person_id=person_id,
            active=True,
            failed_codes=0,
            last_buttons=[],
            created_at=now,
        )
        s.add(identity)
        s.flush()
        return identity.id


def queue_notice(app: App, person_id: int, now: datetime) -> int:
    with transaction(app.session_factory) as s:
        person = s.get(Person, person_id)
        assert person is not None
        rows = enqueue_for_person(
            s,
            person,
            lambda: Reply("明天放假", [[Button("收到", "ack:1")]]),
            kind="notice",
            now=now,
        )
        return rows[0].id


def worker(app: App, sender: TelegramSender, now: datetime) -> Worker:
    return Worker(
        app.session_factory, [sender], DeliveryConfig.from_settings(app.settings), clock=lambda: now
    )


async def test_the_worker_delivers_an_outbox_row_with_its_buttons(
    app: App, fake: FakeBotApi, sender: TelegramSender, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    bind_telegram(app, demo.parent, CHAT, now)
    row_id = queue_notice(app, demo.parent, now)
    report = await worker(app, sender, now).drain()
    assert report.sent == 1
    [call] = fake.sent(CHAT)
    assert call.text == "明天放假"
    assert call.keyboard == [[{"text": "收到", "callback_data": "ack:1"}]]
    with app.session_factory() as s:
        row = s.get(OutboxMessage, row_id)
        assert row is not None and row.status == OutboxStatus.SENT
        assert row.external_message_id == str(call.result["message_id"])


async def test_a_blocked_recipient_is_marked_inactive_by_the_worker(
    app: App, fake: FakeBotApi, sender: TelegramSender, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    identity_id = bind_telegram(app, demo.parent, CHAT, now)
    row_id = queue_notice(app, demo.parent, now)
    fake.block(CHAT)
    await worker(app, sender, now).drain()
    with app.session_factory() as s:
        assert s.get(ChannelIdentity, identity_id).active is False  # type: ignore[union-attr]
        assert s.get(OutboxMessage, row_id).status == OutboxStatus.FAILED  # type: ignore[union-attr]
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.QUEUED)).all() == []


def message(text: str = "hello", edit: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        row_id=1,
        identity_id=1,
        external_id=str(CHAT),
        text=text,
        buttons=[[{"label": "OK", "payload": "ack:9"}]],
        edit_external_message_id=edit,
    )


FAILURES = [
    # (status, times, retry_after, expected failure, calls the fake sees)
    (429, 2, 1, RetryLater, 2),  # AIORateLimiter retries once (max_retries=1), then gives up
    (403, 1, None, RecipientGone, 1),
    (400, 1, None, PermanentFailure, 1),
    (500, 3, None, RetryLater, 3),  # network faults: three attempts
    (502, 3, None, RetryLater, 3),
]


@pytest.mark.parametrize(("status", "times", "retry_after", "expected", "attempts"), FAILURES)
async def test_api_failures_become_typed_delivery_errors(
    fake: FakeBotApi,
    sender: TelegramSender,
    status: int,
    times: int,
    retry_after: int | None,
    expected: type,
    attempts: int,
) -> None:
    fake.fail("sendMessage", status, times=times, retry_after=retry_after)
    with pytest.raises(expected) as raised:
        await sender.send(message())
    if retry_after is not None:
        assert isinstance(raised.value, RetryLater) and raised.value.retry_after == retry_after
    assert len(fake.called("sendMessage")) == attempts


async def test_one_429_is_absorbed_by_ptbs_rate_limiter(fake: FakeBotApi, sender: TelegramSender) -> None:
    fake.fail("sendMessage", 429, times=1, retry_after=1)
    message_id = await sender.send(message())
    assert [c.status for c in fake.called("sendMessage")] == [429, 200]
    assert message_id == str(fake.sent(CHAT)[0].result["message_id"])


async def test_progress_messages_are_edited_in_place(fake: FakeBotApi, sender: TelegramSender) -> None:
    first = await sender.send(message("sent 10 of 100"))
    again = await sender.send(message("sent 50 of 100", edit=first))
    same = await sender.send(message("sent 50 of 100", edit=first))  # "not modified" is fine
    assert first == again == same
    assert [c.text for c in fake.sent(CHAT, ("editMessageText",))] == ["sent 50 of 100"]
    # The message was deleted meanwhile: a new one is sent instead.
    fresh = await sender.send(message("sent 100 of 100", edit="999999"))
    assert fresh != first
    assert [c.text for c in fake.sent(CHAT)] == ["sent 10 of 100", "sent 100 of 100"]


async def test_long_notices_are_split_with_the_buttons_on_the_last_part(
    fake: FakeBotApi, sender: TelegramSender
) -> None:
    paragraph = "通知内容。" * 300  # 1,500 characters
    text = "\n\n".join([paragraph] * 4)
    await sender.send(message(text))
    calls = fake.sent(CHAT)
    assert len(calls) == 2
    assert all(len(c.text) <= 4096 for c in calls)
    assert "".join(c.text for c in calls).replace("\n", "") == text.replace("\n", "")
    assert not calls[0].keyboard and calls[1].keyboard
