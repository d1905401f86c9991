"""Outbox delivery over WeChat against the fake API: window, templates, token refresh, error codes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.core.messages import Button, Reply
from chatbot.delivery.outbox import HELD_REF, enqueue_for_person
from chatbot.delivery.ports import OutgoingMessage, PermanentFailure, RecipientGone, RetryLater
from chatbot.delivery.worker import DeliveryConfig, Worker
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person, Priority
from db.session import transaction
from tests.channels.wechat.conftest import TEMPLATES, Harness, options
from tests.channels.wechat.fakes import AES_KEY, APP_ID, SECRET, TOKEN

OPENID = "oParent0000000000000000000001"
ALERT_TEXT = "王小明今天（11月23日）没有到校，也没有请假。请回复说明原因。详情见 https://example.org/a?id=1"


def configure(app: App, api_base: str) -> None:
    settings = app.settings
    settings.wechat_token, settings.wechat_app_id, settings.wechat_secret = TOKEN, APP_ID, SECRET
    settings.wechat_aes_key = AES_KEY
    settings.wechat_api_base_url = api_base


def bind(app: App, person_id: int, now: datetime, last_inbound_at: datetime | None) -> int:
    with transaction(app.session_factory) as s:
        identity = ChannelIdentity(
            channel="wechat",
            external_id=OPENID,
            person_id=person_id,
            active=True,
            failed_codes=0,
            last_buttons=[],
            created_at=now - timedelta(days=30),
            last_inbound_at=last_inbound_at,
        )
        s.add(identity)
        s.flush()
        return identity.id


def message(
    identity_id: int, *, kind: str, last_inbound_at: datetime | None, text: str = ALERT_TEXT
) -> OutgoingMessage:
    return OutgoingMessage(
        row_id=77,
        identity_id=identity_id,
        external_id=OPENID,
        text=text,
        buttons=[[{"label": "生病", "payload": "ab:1:sick"}], [{"label": "其他", "payload": "ab:1:other"}]],
        kind=kind,
        last_inbound_at=last_inbound_at,
    )


@pytest.fixture
def parent_identity(wechat: Harness, demo: Any, now: datetime) -> int:
    configure(wechat.app, wechat.api.base_url)
    return bind(wechat.app, demo.parent, now, now - timedelta(hours=3))


async def test_inside_the_window_a_customer_service_message_with_numbered_options(
    wechat: Harness, parent_identity: int, now: datetime
) -> None:
    sender = wechat.sender()
    result = await sender.send(
        message(parent_identity, kind="attendance.absence_question", last_inbound_at=now - timedelta(hours=3))
    )
    assert result == "cs:77"
    [sent] = wechat.api.of("message/custom/send")
    assert sent["touser"] == OPENID
    assert sent["text"]["content"].endswith("回复 1：生病\n回复 2：其他")
    assert wechat.api.of("message/template/send") == []


async def test_outside_the_window_a_link_free_template_then_the_full_text_when_the_parent_writes(
    wechat: Harness, parent_identity: int, now: datetime
) -> None:
    sender = wechat.sender()
    old = now - timedelta(days=3)
    result = await sender.send(message(parent_identity, kind="attendance.absence_alert", last_inbound_at=old))
    assert result.startswith("tpl:")
    assert wechat.api.of("message/custom/send") == []
    [sent] = wechat.api.of("message/template/send")
    assert sent["touser"] == OPENID and sent["template_id"] == TEMPLATES["alert"]
    assert "url" not in sent
    data = {name: value["value"] for name, value in sent["data"].items()}
    assert set(data) == {"first", "keyword1", "keyword2", "remark"}
    assert data["first"] == "缺勤提醒"
    assert "http" not in data["keyword1"] and "example.org" not in data["keyword1"]
    assert data["keyword1"].startswith("王小明今天") and len(data["keyword1"]) <= 60
    assert data["keyword2"] == "11月23日 08:00"
    # The parent writes back: they get their answer and then the whole message, with its options.
    fake = await wechat.start(safe=True)
    await fake.say(OPENID, "你好")
    assert wechat.server is not None
    await wechat.server.drain()
    [full] = wechat.api.of("message/custom/send")
    assert full["text"]["content"].startswith("王小明今天") and "回复 2：其他" in full["text"]["content"]
    with wechat.app.session_factory() as s:
        held = s.scalars(select(OutboxMessage).where(OutboxMessage.ref_type == HELD_REF)).one()
        assert (held.status, held.ref_id, held.kind) == (OutboxStatus.SENT, 77, "attendance.absence_alert")
        assert held.sent_at is not None
    # ...and "2" answers that pushed question.
    with wechat.app.session_factory() as s:
        identity = s.get(ChannelIdentity, parent_identity)
        assert identity is not None
        assert [b["payload"] for b in identity.last_buttons] == ["ab:1:sick", "ab:1:other"]


TEMPLATE_BY_KIND = [
    ("attendance.absence_alert", "alert"),
    ("attendance.escalation", "alert"),
    ("notice_reminder", "reminder"),
    ("reminders.due", "reminder"),
    ("notice", "notice"),
]


async def test_template_per_message_kind(wechat: Harness, parent_identity: int) -> None:
    sender = wechat.sender()
    for kind, _template in TEMPLATE_BY_KIND:
        await sender.send(message(parent_identity, kind=kind, last_inbound_at=None))
    assert [m["template_id"] for m in wechat.api.of("message/template/send")] == [
        TEMPLATES[template] for _kind, template in TEMPLATE_BY_KIND
    ]


async def test_window_closed_errors_switch_to_a_template(
    wechat: Harness, parent_identity: int, now: datetime
) -> None:
    wechat.api.fail_next("message/custom/send", 45015)
    result = await wechat.sender().send(
        message(parent_identity, kind="notice", last_inbound_at=now - timedelta(hours=47))
    )
    assert result.startswith("tpl:")
    assert len(wechat.api.of("message/template/send")) == 1


async def test_a_bad_token_is_refreshed_once_and_cached_in_the_database(
    wechat: Harness, parent_identity: int, now: datetime
) -> None:
    recent = now - timedelta(hours=1)
    await wechat.sender().send(message(parent_identity, kind="notice", last_inbound_at=recent))
    await wechat.sender().send(message(parent_identity, kind="notice", last_inbound_at=recent))
    assert wechat.api.tokens_issued == 1  # shared by two sender instances through the database
    wechat.api.expire_tokens()
    await wechat.sender().send(message(parent_identity, kind="notice", last_inbound_at=recent))
    assert wechat.api.tokens_issued == 2
    assert len(wechat.api.of("message/custom/send")) == 3


# One database for the whole table (they are cheap cases, and databases are not).
ERROR_TABLE: list[tuple[str, tuple[int, ...], type[Exception]]] = [
    ("message/custom/send", (43004,), RecipientGone),
    ("message/custom/send", (40003,), RecipientGone),
    ("message/custom/send", (40001, 40001), RetryLater),
    ("message/custom/send", (42001, 42001), RetryLater),
    ("message/custom/send", (-1,), RetryLater),
    ("message/custom/send", (45009,), RetryLater),
    ("message/custom/send", (40008,), PermanentFailure),
    ("message/template/send", (40037,), PermanentFailure),
    ("message/template/send", (43004,), RecipientGone),
]


async def test_error_codes_become_delivery_errors(
    wechat: Harness, parent_identity: int, now: datetime
) -> None:
    sender = wechat.sender()
    for endpoint, errcodes, expected in ERROR_TABLE:
        if endpoint == "message/template/send":
            wechat.api.fail_next("message/custom/send", 45015)
        wechat.api.fail_next(endpoint, *errcodes)
        with pytest.raises(expected):
            await sender.send(
                message(parent_identity, kind="notice", last_inbound_at=now - timedelta(hours=1))
            )
        assert not any(wechat.api.failures.values()), (endpoint, errcodes)
    assert wechat.api.sent == []


async def test_no_template_configured_is_a_permanent_failure(wechat: Harness, parent_identity: int) -> None:
    sender = wechat.sender(options(template_alert=None, template_notice=None))
    with pytest.raises(PermanentFailure, match="no template"):
        await sender.send(message(parent_identity, kind="attendance.absence_alert", last_inbound_at=None))


async def test_api_unreachable_is_retried_later(wechat: Harness, parent_identity: int, now: datetime) -> None:
    wechat.app.settings.wechat_api_base_url = "http://127.0.0.1:9/"
    with pytest.raises(RetryLater):
        await wechat.sender().send(message(parent_identity, kind="notice", last_inbound_at=now))


async def test_absence_alert_through_the_outbox_and_the_delivery_worker(
    wechat: Harness, parent_identity: int, demo: Any, now: datetime
) -> None:
    """An outbox row of an absence alert, drained by the real worker, goes out as a template after 48 h."""
    with transaction(wechat.app.session_factory) as s:
        identity = s.get(ChannelIdentity, parent_identity)
        assert identity is not None
        identity.last_inbound_at = now - timedelta(days=5)
        parent = s.get(Person, demo.parent)
        assert parent is not None
        enqueue_for_person(
            s,
            parent,
            lambda: Reply(ALERT_TEXT, [[Button("生病", "ab:1:sick")]]),
            kind="attendance.absence_alert",
            now=now,
            priority=Priority.URGENT,
        )
    worker = Worker(
        wechat.app.session_factory,
        [wechat.sender()],
        DeliveryConfig.from_settings(wechat.app.settings),
        clock=lambda: now,
    )
    report = await worker.drain()
    assert report.counts["sent"] == 1
    [sent] = wechat.api.of("message/template/send")
    assert sent["template_id"] == TEMPLATES["alert"]
    with wechat.app.session_factory() as s:
        row, held = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert row.status == OutboxStatus.SENT and (row.external_message_id or "").startswith("tpl:")
        # The full text waits in the outbox for the parent's next message; the worker leaves it there.
        assert (held.status, held.ref_type, held.ref_id) == (OutboxStatus.AWAITING_REPLY, HELD_REF, row.id)
        assert (held.text, held.kind, held.identity_id) == (ALERT_TEXT, row.kind, row.identity_id)
    assert (await worker.drain()).claimed == 0


async def test_unsubscribed_parent_is_marked_inactive_by_the_worker(
    wechat: Harness, parent_identity: int, demo: Any, now: datetime
) -> None:
    with transaction(wechat.app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        enqueue_for_person(
            s, parent, lambda: Reply("明天放假"), kind="notice", now=now, priority=Priority.URGENT
        )
    wechat.api.fail_next("message/custom/send", 43004)
    worker = Worker(
        wechat.app.session_factory,
        [wechat.sender()],
        DeliveryConfig.from_settings(wechat.app.settings),
        clock=lambda: now,
    )
    await worker.drain()
    with wechat.app.session_factory() as s:
        identity = s.get(ChannelIdentity, parent_identity)
        assert identity is not None and identity.active is False


async def test_only_recent_deferred_messages_are_repeated(
    wechat: Harness, parent_identity: int, now: datetime
) -> None:
    sender = wechat.sender()
    old = now - timedelta(days=20)
    wechat.now = now - timedelta(days=9)  # a stale one, sent nine days ago
    await sender.send(message(parent_identity, kind="notice", last_inbound_at=old, text="旧通知"))
    wechat.now = now
    for index in range(7):
        await sender.send(message(parent_identity, kind="notice", last_inbound_at=old, text=f"通知{index}"))
    fake = await wechat.start(safe=False)
    await fake.say(OPENID, "你好")
    assert wechat.server is not None
    await wechat.server.drain()
    texts = [m["text"]["content"] for m in wechat.api.of("message/custom/send")]
    assert texts[0] == "另有 3 条较早的学校消息，这里不再重复。"
    assert [t.split("\n")[0] for t in texts[1:]] == [f"通知{i}" for i in range(2, 7)]
    await fake.say(OPENID, "再见")
    await wechat.server.drain()
    assert len(wechat.api.of("message/custom/send")) == 6  # nothing owed any more


async def test_explicit_template_per_kind(wechat: Harness, parent_identity: int) -> None:
    sender = wechat.sender(options(templates={"attendance.leave_request": "TPL-LEAVE"}))
    await sender.send(message(parent_identity, kind="attendance.leave_request", last_inbound_at=None))
    await sender.send(message(parent_identity, kind="attendance.leave_decision", last_inbound_at=None))
    assert [m["template_id"] for m in wechat.api.of("message/template/send")] == [
        "TPL-LEAVE",
        TEMPLATES["alert"],
    ]


async def test_wecom_app_messages_have_no_window_and_report_non_members(
    wechat: Harness, parent_identity: int
) -> None:
    sender = wechat.sender(options(mode="wecom", agent_id=1000002))
    result = await sender.send(
        message(parent_identity, kind="attendance.absence_alert", last_inbound_at=None)
    )
    assert result.startswith("10")  # WeCom's msgid
    [sent] = wechat.api.of("message/send")
    assert sent["agentid"] == 1000002 and sent["touser"] == OPENID and sent["msgtype"] == "text"
    assert "回复 1：生病" in sent["text"]["content"]
    assert wechat.api.of("message/template/send") == []
    wechat.api.fail_next("message/send", 81013)
    with pytest.raises(RecipientGone):
        await sender.send(message(parent_identity, kind="notice", last_inbound_at=None))
