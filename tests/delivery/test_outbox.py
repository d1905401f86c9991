"""Queueing: `enqueue_for_person` and `enqueue_many` write the same rows, column by column.

The App here runs with DEFAULT_LOCALE=en and quiet hours 20:00–08:00 (not the defaults), so a row
that took a default instead of the settings shows. 王 has three chat accounts: console in English,
WeChat with no language of its own (王 reads 繁體), and a Telegram account that was deactivated.
李 has one Telegram account and no language at all; 赵 has no chat account.
"""

from __future__ import annotations

import time as time_module
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.core.messages import Button, Reply
from chatbot.delivery.outbox import OutboxItem, _plain, after_quiet_hours, enqueue_for_person, enqueue_many
from chatbot.i18n import get_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person, Priority
from db.session import transaction
from tests.conftest import make_settings

# 21:00 in Urumqi (UTC+6), inside the quiet hours; they end at 08:00 there, 02:00 UTC the next day.
URUMQI_9PM = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
URUMQI_8AM = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SHANGHAI_8AM = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
BUTTONS = [[Button("收到", "ack:1")]]


def render() -> Reply:
    return Reply(f"[{get_locale()}] 明天停水", buttons=BUTTONS)


@pytest.fixture
def policy_app(empty_app: App) -> Iterator[App]:
    settings = make_settings(
        empty_app.settings.database_url,
        default_locale="en",
        quiet_hours_start=time(20, 0),
        quiet_hours_end=time(8, 0),
    )
    other = App(settings, clock=empty_app.clock)
    yield other
    other.engine.dispose()


@dataclass
class People:
    wang: int
    li: int
    zhao: int
    wang_console: int
    wang_wechat: int
    li_telegram: int


@pytest.fixture
def people(policy_app: App, now: datetime) -> People:
    with transaction(policy_app.session_factory) as s:
        wang = Person(name="王建国", locale="zh_Hant", created_at=now)
        li = Person(name="李梅", locale=None, created_at=now)
        zhao = Person(name="赵强", locale="en", created_at=now)
        s.add_all([wang, li, zhao])
        s.flush()

        def account(person: Person, channel: str, locale: str | None, active: bool = True) -> ChannelIdentity:
            identity = ChannelIdentity(
                person_id=person.id,
                channel=channel,
                external_id=f"{channel}-{person.id}",
                locale=locale,
                active=active,
                failed_codes=0,
                last_buttons=[],
                created_at=now,
            )
            s.add(identity)
            s.flush()
            return identity

        console = account(wang, "console", "en")
        wechat = account(wang, "wechat", None)
        account(wang, "telegram", "zh_Hans", active=False)
        telegram = account(li, "telegram", None)
        return People(wang.id, li.id, zhao.id, console.id, wechat.id, telegram.id)


COLUMNS = (
    "identity_id",
    "person_id",
    "channel",
    "kind",
    "text",
    "buttons",
    "priority",
    "not_before",
    "status",
    "attempts",
    "dedupe_key",
    "ref_type",
    "ref_id",
    "tz",
    "created_at",
)


def stored(app: App) -> list[tuple[Any, ...]]:
    with app.session_factory() as s:
        return [
            tuple(getattr(row, name) for name in COLUMNS)
            for row in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def expected_bulk_rows(people: People, key: str) -> list[tuple[Any, ...]]:
    """王's two active accounts, each in its own language, held until 08:00 in Urumqi."""
    common = ([[{"label": "收到", "payload": "ack:1"}]], 20, URUMQI_8AM, OutboxStatus.QUEUED, 0)
    tail = ("broadcast", 7, "Asia/Urumqi", URUMQI_9PM)
    return [
        (
            people.wang_console,
            people.wang,
            "console",
            "notice",
            "[en] 明天停水",
            *common,
            f"{key}|{people.wang_console}",
            *tail,
        ),
        (
            people.wang_wechat,
            people.wang,
            "wechat",
            "notice",
            "[zh_Hant] 明天停水",
            *common,
            f"{key}|{people.wang_wechat}",
            *tail,
        ),
    ]


def test_enqueue_for_person_writes_a_row_per_active_account_in_its_language(
    policy_app: App, people: People
) -> None:
    with transaction(policy_app.session_factory) as s:
        wang = s.get(Person, people.wang)
        assert wang is not None
        rows = enqueue_for_person(
            s,
            wang,
            render,
            kind="notice",
            now=URUMQI_9PM,
            priority=Priority.BULK,
            dedupe_key="notice:7",
            ref=("broadcast", 7),
            tz="Asia/Urumqi",
        )
        assert [row.identity_id for row in rows] == [people.wang_console, people.wang_wechat]
    assert stored(policy_app) == expected_bulk_rows(people, "notice:7")


def test_enqueue_for_person_without_key_or_ref_and_urgent_rows_skip_quiet_hours(
    policy_app: App, people: People
) -> None:
    with transaction(policy_app.session_factory) as s:
        li = s.get(Person, people.li)
        assert li is not None
        enqueue_for_person(
            s, li, render, kind="alert", now=URUMQI_9PM, priority=Priority.URGENT, tz="Asia/Urumqi"
        )
        enqueue_for_person(s, li, render, kind="reminder", now=URUMQI_9PM)
    buttons = [[{"label": "收到", "payload": "ack:1"}]]
    # 李 has no language: the settings' default (English). The reminder waits until 08:00 in Shanghai.
    assert stored(policy_app) == [
        (
            people.li_telegram,
            people.li,
            "telegram",
            "alert",
            "[en] 明天停水",
            buttons,
            0,
            URUMQI_9PM,
            OutboxStatus.QUEUED,
            0,
            None,
            None,
            None,
            "Asia/Urumqi",
            URUMQI_9PM,
        ),
        (
            people.li_telegram,
            people.li,
            "telegram",
            "reminder",
            "[en] 明天停水",
            buttons,
            10,
            datetime(2026, 11, 24, 0, 0, tzinfo=UTC),
            OutboxStatus.QUEUED,
            0,
            None,
            None,
            None,
            "Asia/Shanghai",
            URUMQI_9PM,
        ),
    ]


def test_enqueue_for_person_holds_until_the_quiet_hours_it_is_given(policy_app: App, people: People) -> None:
    with transaction(policy_app.session_factory) as s:
        li = s.get(Person, people.li)
        assert li is not None
        [row] = enqueue_for_person(
            s,
            li,
            render,
            kind="reminder",
            now=URUMQI_9PM,
            tz="Asia/Urumqi",
            quiet_start=time(22, 0),
            quiet_end=time(6, 30),
        )
        assert row.not_before == URUMQI_9PM  # 21:00 is outside 22:00–06:30
        [later] = enqueue_for_person(
            s,
            li,
            render,
            kind="reminder",
            now=URUMQI_9PM,
            not_before=datetime(2026, 11, 23, 16, 30, tzinfo=UTC),
            tz="Asia/Urumqi",
            quiet_start=time(22, 0),
            quiet_end=time(6, 30),
        )
        assert later.not_before == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 22:30 → 06:30 in Urumqi


def test_enqueue_many_writes_the_same_rows_as_enqueue_for_person(policy_app: App, people: People) -> None:
    item = OutboxItem(
        person_id=people.wang,
        render=render,
        kind="notice",
        dedupe_key="notice:7",
        tz="Asia/Urumqi",
        priority=Priority.BULK,
        ref=("broadcast", 7),
    )
    with transaction(policy_app.session_factory) as s:
        assert enqueue_many(s, [item], URUMQI_9PM) == 2
    assert stored(policy_app) == expected_bulk_rows(people, "notice:7")


def test_enqueue_many_skips_keys_already_queued_or_repeated_and_people_without_accounts(
    policy_app: App, people: People
) -> None:
    def item(person_id: int, key: str, **kwargs: Any) -> OutboxItem:
        return OutboxItem(person_id=person_id, render=render, kind="reminder", dedupe_key=key, **kwargs)

    with transaction(policy_app.session_factory) as s:
        assert enqueue_many(s, [item(people.li, "term:1")], URUMQI_9PM) == 1
    with transaction(policy_app.session_factory) as s:
        assert enqueue_many(s, [], URUMQI_9PM) == 0
        written = enqueue_many(
            s,
            [
                item(people.li, "term:1"),  # queued before
                item(people.zhao, "term:1"),  # no chat account
                item(people.wang, "term:1", priority=Priority.URGENT),
                item(people.wang, "term:1"),  # the same event twice in one batch
                item(people.li, "term:2", not_before=datetime(2026, 11, 23, 23, 0, tzinfo=UTC)),
            ],
            URUMQI_9PM,
        )
        assert written == 3
    rows = stored(policy_app)
    buttons = [[{"label": "收到", "payload": "ack:1"}]]
    # Quiet hours in Shanghai (the item's default zone) end at 08:00, 00:00 UTC.
    morning = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert [(r[0], r[4], r[6], r[7], r[10]) for r in rows] == [
        (people.li_telegram, "[en] 明天停水", 10, morning, f"term:1|{people.li_telegram}"),
        (people.wang_console, "[en] 明天停水", 0, URUMQI_9PM, f"term:1|{people.wang_console}"),
        (people.wang_wechat, "[zh_Hant] 明天停水", 0, URUMQI_9PM, f"term:1|{people.wang_wechat}"),
        (
            people.li_telegram,
            "[en] 明天停水",
            10,
            datetime(2026, 11, 24, 0, 0, tzinfo=UTC),
            f"term:2|{people.li_telegram}",
        ),
    ]
    assert [(r[5], r[8], r[9], r[11], r[12], r[13]) for r in rows] == [
        (buttons, OutboxStatus.QUEUED, 0, None, None, "Asia/Shanghai")
    ] * 4


def test_enqueue_many_holds_until_the_quiet_hours_it_is_given(policy_app: App, people: People) -> None:
    item = OutboxItem(person_id=people.li, render=render, kind="reminder", dedupe_key="k", tz="Asia/Urumqi")
    with transaction(policy_app.session_factory) as s:
        enqueue_many(s, [item], URUMQI_9PM, quiet_start=time(20, 30), quiet_end=time(6, 30))
    [row] = stored(policy_app)
    assert row[7] == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 06:30 in Urumqi


def test_rows_are_copied_as_the_column_types_would_bind_them() -> None:
    # PostgreSQL's COPY path: naive UTC times, JSON text as written, enum values.
    assert _plain(datetime(2026, 11, 23, 21, 0, tzinfo=UTC).astimezone()) == datetime(2026, 11, 23, 21, 0)
    assert _plain([[{"label": "收到"}]]) == '[[{"label": "收到"}]]'
    assert _plain(OutboxStatus.QUEUED) == "queued"
    assert _plain(7) == 7


def test_an_account_that_already_has_the_event_does_not_stop_the_others(
    policy_app: App, people: People
) -> None:
    with transaction(policy_app.session_factory) as s:
        wechat = s.get(ChannelIdentity, people.wang_wechat)
        assert wechat is not None
        wechat.active = False
    queue = dict(kind="notice", now=URUMQI_9PM, priority=Priority.URGENT, dedupe_key="notice:8")
    with transaction(policy_app.session_factory) as s:
        assert len(enqueue_for_person(s, s.get(Person, people.wang), render, **queue)) == 1  # type: ignore[arg-type]
        s.get(ChannelIdentity, people.wang_wechat).active = True  # type: ignore[union-attr]
    with transaction(policy_app.session_factory) as s:
        [row] = enqueue_for_person(s, s.get(Person, people.wang), render, **queue)  # type: ignore[arg-type]
        assert row.identity_id == people.wang_wechat


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (time(8, 0), time(8, 0), SHANGHAI_8AM),  # an empty window: never quiet
        (time(8, 0), time(9, 0), datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),  # quiet from 08:00 sharp
        (time(7, 0), time(8, 0), SHANGHAI_8AM),  # and no longer at 08:00 sharp
    ],
)
def test_quiet_hours_start_at_start_and_end_at_end(start: time, end: time, expected: datetime) -> None:
    assert after_quiet_hours(SHANGHAI_8AM, "Asia/Shanghai", start, end) == expected


@pytest.fixture
def machine_in_shanghai(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone is not UTC (what the code must not depend on)."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time_module.tzset()
    yield
    monkeypatch.undo()
    time_module.tzset()


@pytest.mark.usefixtures("machine_in_shanghai")
def test_times_come_back_in_utc_whatever_the_machines_zone() -> None:
    late = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    assert after_quiet_hours(late, "Asia/Shanghai").isoformat() == "2026-11-23T23:00:00+00:00"
    assert _plain(late) == datetime(2026, 11, 23, 14, 30)
