"""One rule for a recipient's language and the quiet hours, whichever domain queues the message.

With DEFAULT_LOCALE=zh_Hant, a guardian who never chose a language (the roster import sets none) gets
the absence question and a notice both in 繁體; QUIET_HOURS_* hold every non-urgent message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.close import close_day
from chatbot.broadcast.service import NOTICE_KIND, NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget
from chatbot.channels.console import ConsoleChannel
from chatbot.delivery.outbox import account_locale, account_locale_sql
from chatbot.i18n import recipient_locale
from db.models import ChannelIdentity, OutboxMessage, Person
from db.models.broadcast import BroadcastScope
from db.session import transaction
from tests.attendance.helpers import MONDAY, at
from tests.broadcast.helpers import school_id
from tests.conftest import DemoPeople, make_settings


@pytest.fixture
def hant_app(app: App) -> Iterator[App]:
    """The same demo database, run with DEFAULT_LOCALE=zh_Hant and quiet hours 20:00–08:00."""
    settings = make_settings(
        app.settings.database_url,
        default_locale="zh_Hant",
        quiet_hours_start=time(20, 0),
        quiet_hours_end=time(8, 0),
    )
    other = App(settings, clock=app.clock)
    yield other
    other.engine.dispose()


def _no_language_of_their_own(app: App, person_id: int) -> None:
    console = ConsoleChannel(app.session_factory, app.router, clock=app.clock)
    console.external_id(person_id)
    with transaction(app.session_factory) as s:
        person = s.get(Person, person_id)
        assert person is not None
        person.locale = None
        for identity in s.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == person_id)):
            identity.locale = None


def _texts_to(app: App, person_id: int, kind: str) -> list[str]:
    with app.session_factory() as s:
        return list(
            s.scalars(
                select(OutboxMessage.text).where(
                    OutboxMessage.person_id == person_id, OutboxMessage.kind == kind
                )
            )
        )


def test_alert_and_notice_to_a_guardian_without_a_locale_share_the_default(
    hant_app: App, demo: DemoPeople
) -> None:
    _no_language_of_their_own(hant_app, demo.parent)
    teacher = ConsoleChannel(hant_app.session_factory, hant_app.router, clock=hant_app.clock)
    teacher.send(demo.teacher, "缺 1", now=at(MONDAY, 8))  # the demo parent's child, unexplained
    with transaction(hant_app.session_factory) as s:
        close_day(s, MONDAY, at(MONDAY, 10, 30))
    school = school_id(hant_app)
    with transaction(hant_app.session_factory) as s:
        principal = s.get(Person, demo.principal)
        assert principal is not None
        draft = NoticeDraft(NoticeTarget(BroadcastScope.SCHOOL, school), {"zh_Hans": "明天停水"})
        create_broadcast(s, principal, draft, now=at(MONDAY, 11), settings=hant_app.settings)
    [question] = _texts_to(hant_app, demo.parent, "attendance.absence_question")
    notices = _texts_to(hant_app, demo.parent, NOTICE_KIND)
    assert notices
    # Both in 繁體 (the school's name is data and stays as written).
    assert "沒有到" in question and "什麼" in question and "没有" not in question
    assert all("發自" in n and "发自" not in n for n in notices)


def test_quiet_hours_come_from_the_settings_for_every_caller(hant_app: App, demo: DemoPeople) -> None:
    _no_language_of_their_own(hant_app, demo.principal)  # gives the principal a chat account
    with transaction(hant_app.session_factory) as s:
        # Closed at 20:30 in Shanghai with no roll-call taken: inside 20:00–08:00, not 21:00–07:00.
        close_day(s, MONDAY, datetime(2026, 11, 23, 12, 30, tzinfo=UTC))
    with hant_app.session_factory() as s:
        due = set(
            s.scalars(
                select(OutboxMessage.not_before).where(
                    OutboxMessage.person_id == demo.principal,
                    OutboxMessage.kind == "attendance.missing_rollcall",
                )
            )
        )
    assert due == {datetime(2026, 11, 24, 0, 0, tzinfo=UTC)}  # 08:00 the next morning in Shanghai


@pytest.mark.parametrize(
    ("identity", "person", "default", "expected"),
    [
        ("en", "zh_Hant", "zh_Hans", "en"),  # the chat account's own choice first
        (None, "zh_Hant", "en", "zh_Hant"),  # then the person's
        (None, None, "zh_Hant", "zh_Hant"),  # then the settings default
        ("xx", None, "en", "en"),  # an unsupported value is skipped
        (None, None, None, "zh_Hans"),
    ],
)
def test_recipient_locale(
    identity: str | None, person: str | None, default: str | None, expected: str
) -> None:
    assert recipient_locale(identity, person, default=default) == expected


def test_the_bulk_language_rule_in_sql_is_the_same_rule_as_for_one_account(
    hant_app: App, demo: DemoPeople
) -> None:
    """Notices pick languages in SQL (account_locale_sql), alerts in Python (account_locale): they agree."""
    choices = [None, "en", "zh_Hans", "fr"]
    combos = [(mine, theirs) for mine in choices for theirs in choices]
    console = ConsoleChannel(hant_app.session_factory, hant_app.router, clock=hant_app.clock)
    console.external_id(demo.parent)
    with transaction(hant_app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        template = s.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == demo.parent)).first()
        assert template is not None
        for number, (mine, theirs) in enumerate(combos):
            person = Person(name=f"语言{number}", locale=theirs, created_at=template.created_at)
            s.add(person)
            s.flush()
            s.add(
                ChannelIdentity(
                    channel="console", external_id=f"lang-{number}", person_id=person.id, locale=mine,
                    active=True, failed_codes=0, last_buttons=[], created_at=template.created_at,
                )
            )  # fmt: skip
    with hant_app.session_factory() as s:
        rows = s.execute(
            select(ChannelIdentity, Person, account_locale_sql(s))
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.external_id.like("lang-%"))
            .order_by(ChannelIdentity.id)
        ).all()
        assert [(i.locale, p.locale) for i, p, _sql in rows] == combos
        assert [sql for _i, _p, sql in rows] == [account_locale(s, i, p) for i, p, _sql in rows]
        # The default (zh_Hant here) only where neither the account nor the person chose a known language.
        assert [sql for _i, _p, sql in rows].count("zh_Hant") == 4
