"""Creating a notice (chatbot/broadcast/service.py): the rows it writes, each recipient's language,
the schedule and quiet hours, and every refusal, read whole in English."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.broadcast.service import (
    AlreadySent,
    BroadcastError,
    NoticeDraft,
    check_when,
    clean_notice_text,
    create_broadcast,
    target_of,
    validate_draft,
)
from chatbot.broadcast.targets import NoticeTarget
from chatbot.i18n import use_locale
from db.models import OutboxMessage, OutboxStatus, Person, Priority, School
from db.models.broadcast import Audience, Broadcast, BroadcastRecipient, BroadcastScope, BroadcastStatus
from db.session import transaction
from tests.broadcast.bc_service_helpers import (
    add_account,
    audits,
    notify,
    outbox,
    refusal_en,
    set_person_locale,
)
from tests.broadcast.helpers import parents_of_class

CLASS_1 = NoticeTarget(BroadcastScope.CLASS, 1)  # 红星小学 grade 3 1班
SHANGHAI = "Asia/Shanghai"

# The place is named in each reader's language, like the fixed phrases around it.
EN_NOTICE = (
    "📢 Notice\nFrom: 张校长, 红星小学 grade 3 1班\n\nParents' meeting on Friday afternoon.\n\n"
    "Please press “Got it” to confirm you have read it."
)
ZH_HANS_NOTICE = "📢 通知\n发自：张校长，红星小学 3年级1班\n\n周五下午家长会。\n\n看完请点“收到”。"
ZH_HANT_NOTICE = "📢 通知\n發自：张校长，红星小学 3年級1班\n\n周五下午家长会。\n\n看完請點「收到」。"


def test_a_notice_is_queued_once_per_active_account_in_each_recipients_language(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    parents = parents_of_class(app, 1)
    # Accounts opened in no particular order of the people: rows follow the accounts.
    set_person_locale(app, parents[4], "en")
    account_wins = add_account(app, parents[4], now, locale="zh_Hant")
    set_person_locale(app, parents[5], "zh_Hans")
    telegram = add_account(app, parents[5], now, channel="telegram")
    set_person_locale(app, parents[2], "en")
    unknown_account_language = add_account(app, parents[2], now, locale="fr")
    no_language = add_account(app, parents[3], now)
    english_account = add_account(app, parents[0], now, locale="en")
    console = add_account(app, parents[5], now)
    set_person_locale(app, parents[1], "zh_Hant")
    person_hant = add_account(app, parents[1], now)
    add_account(app, parents[6], now, active=False)
    teacher_account = add_account(app, demo.teacher, now)  # not a parent of the class: nothing for her
    with transaction(app.session_factory) as s:
        # Another domain's message whose ref_id happens to be the notice's id (the first is 1).
        s.add(
            OutboxMessage(
                identity_id=teacher_account, person_id=demo.teacher, channel="console", kind="notice",
                text="x", buttons=[], priority=10, not_before=now, status=OutboxStatus.QUEUED, attempts=0,
                ref_type="calendar", ref_id=1, tz=SHANGHAI, created_at=now,
            )
        )  # fmt: skip
    add_account(app, demo.principal, now)
    # The deployment's default language (DEFAULT_LOCALE) is the fallback of those who chose none;
    # the App carries it to every session, so alerts and notices agree on it.
    settings = app.settings.model_copy(update={"default_locale": "zh_Hant"})
    hant_app = App(settings, clock=app.clock, _engine=app.engine)

    notice = notify(
        hant_app,
        demo.principal,
        CLASS_1,
        {"zh_Hans": "  周五下午家长会。 ", "en": "\nParents' meeting on Friday afternoon.  "},
        now,
        ack=True,
        settings=settings,
    )

    buttons = {
        "en": [[{"label": "Got it", "payload": f"bcack:{notice}"}]],
        "zh": [[{"label": "收到", "payload": f"bcack:{notice}"}]],
    }

    def row(account: int, person: int, channel: str, text: str, lang: str) -> tuple[object, ...]:
        return (
            account, person, channel, "notice", text, buttons[lang], int(Priority.BULK), now,
            OutboxStatus.QUEUED, 0, None, None, None, None, "broadcast", notice, SHANGHAI, now,
        )  # fmt: skip

    assert notice == 1
    # One INSERT per language, simplified Chinese first, each in account order.
    assert outbox(app, ref_type="broadcast") == [
        row(telegram, parents[5], "telegram", ZH_HANS_NOTICE, "zh"),
        row(console, parents[5], "console", ZH_HANS_NOTICE, "zh"),
        row(account_wins, parents[4], "console", ZH_HANT_NOTICE, "zh"),
        row(no_language, parents[3], "console", ZH_HANT_NOTICE, "zh"),
        row(person_hant, parents[1], "console", ZH_HANT_NOTICE, "zh"),
        row(unknown_account_language, parents[2], "console", EN_NOTICE, "en"),
        row(english_account, parents[0], "console", EN_NOTICE, "en"),
    ]
    with app.session_factory() as s:
        stored = s.get(Broadcast, notice)
        assert stored is not None
        assert (
            stored.sender_person_id, stored.scope_type, stored.scope_id, stored.grade, stored.audience,
            stored.target, stored.texts, stored.base_locale, stored.ack_required, stored.scheduled_at,
            stored.status, stored.recipient_count, stored.message_count, stored.tz, stored.request_key,
            stored.created_at, stored.cancelled_at, stored.reminded_at, stored.progress_at, stored.finished_at,
        ) == (
            demo.principal, BroadcastScope.CLASS, 1, None, Audience.PARENTS,
            "class:1/parents", {"zh_Hans": "周五下午家长会。", "en": "Parents' meeting on Friday afternoon."},
            "zh_Hans", True, now,
            BroadcastStatus.ACTIVE, len(parents), 7, SHANGHAI, None,
            now, None, None, None, None,
        )  # fmt: skip
        recipients = s.execute(
            select(
                BroadcastRecipient.broadcast_id,
                BroadcastRecipient.person_id,
                BroadcastRecipient.role,
                BroadcastRecipient.locale,
                BroadcastRecipient.acked_at,
            ).order_by(BroadcastRecipient.person_id)
        ).all()
        locales = dict(s.execute(select(Person.id, Person.locale).where(Person.id.in_(parents))).all())
    assert [tuple(r) for r in recipients] == [(notice, p, "parent", locales[p], None) for p in parents]
    assert [locales[p] for p in parents[:3]] == [None, "zh_Hant", "en"]
    assert audits(app, "broadcast.create") == [
        (
            now,
            demo.principal,
            "broadcast.create",
            "class:1/parents",
            {
                "broadcast_id": notice,
                "recipients": len(parents),
                "messages": 7,
                "scheduled_at": "2026-11-23T00:00:00+00:00",
                "ack_required": True,
                "locales": ["en", "zh_Hans"],
            },
        )
    ]


def test_a_notice_without_confirmation_has_no_button_and_a_grade_notice_names_the_grade(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    grade_3 = NoticeTarget(BroadcastScope.GRADE, 1, Audience.BOTH, 3)
    account = add_account(app, demo.teacher, now, locale="en")
    parent = parents_of_class(app, 1)[0]
    add_account(app, parent, now)

    notice = notify(app, demo.principal, grade_3, {"en": "Sports day is moved to Friday."}, now, base="en")

    rows = outbox(app)
    assert [r[:6] for r in rows] == [
        (
            rows[0][0],
            parent,
            "console",
            "notice",
            "📢 通知\n发自：张校长，红星小学 3年级\n\nSports day is moved to Friday.",
            [],
        ),
        (
            account,
            demo.teacher,
            "console",
            "notice",
            "📢 Notice\nFrom: 张校长, 红星小学 grade 3\n\nSports day is moved to Friday.",
            [],
        ),
    ]
    with app.session_factory() as s:
        stored = s.get(Broadcast, notice)
        assert stored is not None
        roles = dict(
            s.execute(
                select(BroadcastRecipient.person_id, BroadcastRecipient.role).where(
                    BroadcastRecipient.broadcast_id == notice
                )
            ).all()
        )
        assert (stored.scope_type, stored.scope_id, stored.grade, stored.audience, stored.target) == (
            BroadcastScope.GRADE,
            1,
            3,
            Audience.BOTH,
            "school:1/grade:3/both",
        )
        assert target_of(stored) == grade_3
        assert (stored.ack_required, stored.base_locale, stored.texts) == (
            False,
            "en",
            {"en": "Sports day is moved to Friday."},
        )
    assert roles[demo.teacher] == "teacher"
    assert roles[parent] == "parent"
    assert set(roles.values()) == {"teacher", "parent"}
    assert audits(app, "broadcast.create")[0][4]["ack_required"] is False
    assert audits(app, "broadcast.create")[0][4]["locales"] == ["en"]


def test_a_scheduled_notice_waits_and_night_time_moves_to_the_morning_in_the_schools_zone(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    with transaction(app.session_factory) as s:
        s.execute(update(School).where(School.id == 1).values(timezone="Asia/Urumqi"))  # UTC+6
    parent = parents_of_class(app, 1)[0]
    add_account(app, parent, now)
    settings = app.settings.model_copy(
        update={"quiet_hours_start": time(20, 0), "quiet_hours_end": time(6, 30)}
    )
    tomorrow_evening = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 20:30 in Urumqi
    next_morning = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # 06:30 in Urumqi

    notice = notify(
        app, demo.principal, CLASS_1, {"zh_Hans": "停水通知"}, now, at=tomorrow_evening, settings=settings
    )

    rows = outbox(app)
    assert [(r[7], r[16], r[17]) for r in rows] == [(next_morning, "Asia/Urumqi", now)]
    with app.session_factory() as s:
        stored = s.get(Broadcast, notice)
        assert stored is not None
        assert (stored.scheduled_at, stored.tz, stored.created_at) == (tomorrow_evening, "Asia/Urumqi", now)
    assert audits(app, "broadcast.create")[0][4]["scheduled_at"] == "2026-11-25T00:30:00+00:00"

    # A time a few seconds ago counts as now; now is 06:00 in Urumqi, so it waits for 07:00.
    just_now = notify(app, demo.principal, CLASS_1, {"zh_Hans": "现在"}, now, at=now - timedelta(seconds=30))
    with app.session_factory() as s:
        assert s.get(Broadcast, just_now).scheduled_at == now  # type: ignore[union-attr]
    assert [r[7] for r in outbox(app, ref_id=just_now)] == [datetime(2026, 11, 23, 1, 0, tzinfo=UTC)]


def test_the_notice_and_its_rows_keep_their_own_time_zone_from_a_region(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    from db.models import Region

    with transaction(app.session_factory) as s:
        s.execute(update(Region).where(Region.id == 1).values(timezone="Asia/Kolkata"))
    add_account(app, demo.teacher, now)
    notice = notify(
        app, demo.admin, NoticeTarget(BroadcastScope.REGION, 1, Audience.TEACHERS), {"zh_Hans": "会议"}, now
    )
    assert [(r[0:2], r[16]) for r in outbox(app)] == [((outbox(app)[0][0], demo.teacher), "Asia/Kolkata")]
    with app.session_factory() as s:
        assert s.get(Broadcast, notice).tz == "Asia/Kolkata"  # type: ignore[union-attr]


def test_a_repeated_request_key_is_refused_in_english_and_another_key_sends_again(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    add_account(app, parents_of_class(app, 1)[0], now)
    first = notify(app, demo.principal, CLASS_1, {"zh_Hans": "通知"}, now, request_key="key-1")
    second = notify(app, demo.principal, CLASS_1, {"zh_Hans": "通知"}, now, request_key="key-2")

    with use_locale("en"), pytest.raises(AlreadySent) as raised:
        notify(app, demo.principal, CLASS_1, {"zh_Hans": "通知"}, now, request_key="key-2")

    assert (
        str(raised.value) == f"This notice was already sent (notice #{second}). Send /notices to follow it."
    )
    assert raised.value.broadcast_id == second
    with app.session_factory() as s:
        assert list(s.scalars(select(Broadcast.request_key).order_by(Broadcast.id))) == ["key-1", "key-2"]
    assert first != second
    assert len(outbox(app)) == 2
    with app.session_factory() as s:
        assert [b.message_count for b in s.scalars(select(Broadcast).order_by(Broadcast.id))] == [1, 1]


def test_a_target_with_nobody_in_it_is_refused_naming_it(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    # The class teacher is the only teacher of her class, and a sender never sends to herself.
    own_class_teachers = NoticeTarget(BroadcastScope.CLASS, 1, Audience.TEACHERS)
    message = refusal_en(lambda: notify(app, demo.teacher, own_class_teachers, {"zh_Hans": "x"}, now))
    assert (
        message
        == "Nobody is registered in 红星小学 grade 3 1班 · teachers yet, so there is no one to send to."
    )
    # Another class teacher may: the one recipient is the teacher of class 1.
    with app.session_factory() as s:
        other_teacher = s.scalars(select(Person.id).where(Person.name == "吴洋鹏")).one()
    with transaction(app.session_factory) as s:
        from db.models import Membership, Role, ScopeType

        s.add(
            Membership(
                person_id=other_teacher, role=Role.CLASS_TEACHER, scope_type=ScopeType.CLASS, scope_id=1
            )
        )
    notice = notify(app, other_teacher, own_class_teachers, {"zh_Hans": "x"}, now)
    with app.session_factory() as s:
        assert list(
            s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == notice))
        ) == [demo.teacher]
        assert s.get(Broadcast, notice).recipient_count == 1  # type: ignore[union-attr]
        assert s.get(Broadcast, notice).message_count == 0  # type: ignore[union-attr]
    assert audits(app, "broadcast.create")[0][4]["messages"] == 0
    assert audits(app, "broadcast.create")[0][4]["recipients"] == 1


# --- validation ----------------------------------------------------------------------------------


def test_notice_text_is_trimmed_and_its_length_checked(app: App) -> None:
    with use_locale("en"):
        assert clean_notice_text("  hello \n", "en") == "hello"
        assert clean_notice_text("x" * 1000) == "x" * 1000
    empty = "The notice text is empty. Please write what you want to say."
    assert refusal_en(lambda: clean_notice_text(None, "en")) == empty
    assert refusal_en(lambda: clean_notice_text(" \n ", "en")) == empty
    assert (
        refusal_en(lambda: clean_notice_text("x" * 1001, "en"))
        == "The English text has 1,001 characters; the limit is 1,000. Please shorten it."
    )
    assert (
        refusal_en(lambda: clean_notice_text("字" * 1200, "zh_Hant"))
        == "The 繁體中文 text has 1,200 characters; the limit is 1,000. Please shorten it."
    )
    assert (
        refusal_en(lambda: clean_notice_text("x" * 1001))
        == "The  text has 1,001 characters; the limit is 1,000. Please shorten it."
    )
    assert (
        refusal_en(lambda: clean_notice_text("x" * 1001, "fr"))
        == "The  text has 1,001 characters; the limit is 1,000. Please shorten it."
    )


def test_times_up_to_a_minute_ago_and_up_to_ninety_days_ahead_are_accepted(now: datetime) -> None:
    for fine in (None, now, now - timedelta(minutes=1), now + timedelta(days=90), now + timedelta(hours=1)):
        check_when(fine, now, SHANGHAI)
    assert (
        refusal_en(lambda: check_when(now - timedelta(minutes=1, seconds=1), now, SHANGHAI))
        == f"{_moment_en(now - timedelta(minutes=1, seconds=1), SHANGHAI)} is in the past. "
        "Please choose a later time, or send now."
    )
    assert (
        refusal_en(lambda: check_when(datetime(2026, 11, 20, 1, 0, tzinfo=UTC), now, "Pacific/Honolulu"))
        == f"{_moment_en(datetime(2026, 11, 20, 1, 0, tzinfo=UTC), 'Pacific/Honolulu')} is in the past. "
        "Please choose a later time, or send now."
    )
    assert (
        refusal_en(lambda: check_when(now + timedelta(days=90, seconds=1), now, SHANGHAI))
        == "A notice can be scheduled at most 90 days ahead."
    )


def _moment_en(at: datetime, tz: str) -> str:
    from chatbot.i18n import format_moment

    with use_locale("en"):
        return format_moment(at, tz)


def test_a_draft_is_refused_with_the_first_thing_wrong_and_nothing_is_written(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    def refused(draft: NoticeDraft, sender_id: int | None = None) -> str:
        def run() -> None:
            with transaction(app.session_factory) as s:
                sender = s.get(Person, sender_id or demo.principal)
                assert sender is not None
                create_broadcast(s, sender, draft, now=now, settings=app.settings)

        return refusal_en(run)

    assert (
        refused(NoticeDraft(NoticeTarget(BroadcastScope.CLASS, 99), {"zh_Hans": "x"}))
        == "There is no such school, grade, class or region: class:99/parents."
    )
    assert (
        refused(NoticeDraft(CLASS_1, {"zh_Hans": "x"}), demo.parent)
        == "You may not send notices to 红星小学 grade 3 1班 · parents."
    )
    assert refused(NoticeDraft(CLASS_1, {"fr": "x"}, base_locale="fr")) == "Unknown language fr."
    assert (
        refused(NoticeDraft(CLASS_1, {"en": "x"}))
        == "The notice text is empty. Please write what you want to say."
    )
    assert (
        refused(NoticeDraft(CLASS_1, {"zh_Hans": "", "en": "x"}))
        == "The notice text is empty. Please write what you want to say."
    )
    assert refused(NoticeDraft(CLASS_1, {"zh_Hans": "x", "de": "y"})) == "Unknown language de."
    assert (
        refused(NoticeDraft(CLASS_1, {"zh_Hans": "x", "zh_Hant": "y" * 1001}))
        == "The 繁體中文 text has 1,001 characters; the limit is 1,000. Please shorten it."
    )
    assert (
        refused(NoticeDraft(CLASS_1, {"zh_Hans": "x"}, at=now + timedelta(days=91)))
        == "A notice can be scheduled at most 90 days ahead."
    )
    assert refused(NoticeDraft(CLASS_1, {"zh_Hans": "x"}, at=now - timedelta(hours=1))) == (
        f"{_moment_en(now - timedelta(hours=1), SHANGHAI)} is in the past. Please choose a later time, or send now."
    )
    with app.session_factory() as s:
        assert s.scalars(select(Broadcast)).first() is None
    assert outbox(app) == []


def test_validating_a_draft_cleans_every_text_in_place(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    draft = NoticeDraft(CLASS_1, {"zh_Hans": " 通知 ", "en": " notice\n"}, at=now + timedelta(hours=2))
    with app.session_factory() as s:
        validate_draft(s, s.get(Person, demo.principal), draft, now, SHANGHAI)
    assert draft.texts == {"zh_Hans": "通知", "en": "notice"}
    with app.session_factory() as s, pytest.raises(BroadcastError):
        validate_draft(s, None, NoticeDraft(CLASS_1, {"zh_Hans": "x"}), now, SHANGHAI)


def test_times_given_in_another_zone_are_stored_as_the_same_instants(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    parent = parents_of_class(app, 1)[0]
    add_account(app, parent, now)
    local_now = now.astimezone(ZoneInfo(SHANGHAI))  # 08:00 in Shanghai, the same instant
    local_at = (now + timedelta(hours=3)).astimezone(ZoneInfo(SHANGHAI))

    sent = notify(app, demo.principal, CLASS_1, {"zh_Hans": "现在"}, local_now)
    later = notify(app, demo.principal, CLASS_1, {"zh_Hans": "稍后"}, local_now, at=local_at)

    assert [(r[7], r[17]) for r in outbox(app, ref_id=sent)] == [(now, now)]
    assert [(r[7], r[17]) for r in outbox(app, ref_id=later)] == [(now + timedelta(hours=3), now)]
    with app.session_factory() as s:
        stored = s.get(Broadcast, later)
        assert stored is not None
        assert (stored.scheduled_at, stored.created_at) == (now + timedelta(hours=3), now)
