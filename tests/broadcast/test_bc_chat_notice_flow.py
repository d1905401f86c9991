"""/notice step by step through the console, in English: each whole reply with its buttons and
payloads, where the dialog stands after it, wrong answers at each step, and the notice Send writes."""

from __future__ import annotations

import re
import time as time_module
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import Membership, Person, Role, ScopeType
from db.models.broadcast import Audience, Broadcast, BroadcastScope
from db.session import transaction
from tests.broadcast.bc_chat_helpers import Shown, dialog_of, set_locale_of, shown
from tests.conftest import DemoPeople, make_settings

INVALID = [("That button is not valid any more. Send /help to start again.", [])]
AUDIENCES = [
    [("parents", "ntc:a:parents")],
    [("teachers", "ntc:a:teachers")],
    [("parents and teachers", "ntc:a:both")],
]
WHEN = "When should it go out? Or type a date and time, like 2026-11-25 08:00."
WHEN_BUTTONS = [[("Send now", "ntc:w:now")], [("Tomorrow 08:00", "ntc:w:tomorrow")]]
ACK = "Should recipients confirm they have read it (a “Got it” button)?"
ACK_BUTTONS = [[("Yes, ask for confirmation", "ntc:k:1")], [("No", "ntc:k:0")]]
MORE = "Recipients get the notice in their own language; others get the text above. Add another language?"


class Chat:
    """One person's side of the console chat: each answer as whole replies, and the dialog's state."""

    def __init__(self, app: App, console: ConsoleChannel, who: int) -> None:
        self.app, self.console, self.who = app, console, who

    def __call__(
        self, text: str | None = None, payload: str | None = None, now: datetime | None = None
    ) -> list[Shown]:
        return shown(self.console.send(self.who, text, payload=payload, now=now))

    def state(self) -> str | None:
        dialog = dialog_of(self.app, self.who)
        return None if dialog is None else f"{dialog[0]}:{dialog[1]}"

    def data(self) -> dict[str, object]:
        dialog = dialog_of(self.app, self.who)
        assert dialog is not None
        return dialog[2]


def preview_buttons(key: str) -> list[list[tuple[str, str]]]:
    return [[("Send", f"ntcgo:{key}")], [("Cancel", "ntc:x:x")]]


def test_every_step_with_its_wrong_answers_then_send(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    chat = Chat(app, console, demo.principal)
    assert chat("/notice") == [
        (
            "New notice. Who is it for? Choose below, or type a target such as school:3/grade:7/parents.",
            [
                [("红星小学", "ntcs:school:1:0")],
                [("红星小学 grade 3", "ntcs:grade:1:3")],
                [("红星小学 grade 4", "ntcs:grade:1:4")],
                [("红星小学 grade 5", "ntcs:grade:1:5")],
                [("红星小学 grade 6", "ntcs:grade:1:6")],
            ],
        )
    ]
    assert (chat.state(), chat.data()) == ("notice:target", {"texts": {}, "base": "en"})
    assert chat(payload="ntcs:town:1:0") == INVALID
    # A typed target that does not exist, then one outside the principal's school: asked again.
    assert chat("school:99") == [("There is no such school, grade, class or region: school:99/parents.", [])]
    assert chat.state() == "notice:target"
    assert chat("school:2/parents") == [("You may not send notices to 东乡第一初级中学 · parents.", [])]
    assert chat.state() == "notice:target"
    assert chat(payload="ntcs:school:1:0") == [("Send it to whom in 红星小学?", AUDIENCES)]
    assert chat.state() == "notice:audience"
    assert chat.data() == {
        "texts": {},
        "base": "en",
        "scope": "school",
        "scope_id": 1,
        "grade": None,
        "audience": "parents",
    }
    again = [("Please choose one of the buttons.\nSend it to whom in 红星小学?", AUDIENCES)]
    assert chat("the teachers please") == again
    assert chat(payload="ntc:a:pupils") == again
    assert chat.state() == "notice:audience"
    assert chat(payload="ntc:l:en") == INVALID
    assert chat(payload="ntc:a:teachers") == [("Write the notice in English (at most 1,000 characters).", [])]
    assert (chat.state(), chat.data()["audience"]) == ("notice:text", "teachers")
    assert chat("   ") == [("The notice text is empty. Please write what you want to say.", [])]
    assert chat.state() == "notice:text"
    assert chat("x" * 1001) == [
        ("The English text has 1,001 characters; the limit is 1,000. Please shorten it.", [])
    ]
    assert chat.state() == "notice:text"
    languages = [
        [("Add a 简体中文 version", "ntc:l:zh_Hans")],
        [("Add a 繁體中文 version", "ntc:l:zh_Hant")],
        [("No, continue", "ntc:l:none")],
    ]
    assert chat("  Staff meeting at 16:00\nin the hall ") == [(MORE, languages)]
    assert (chat.state(), chat.data()["texts"]) == (
        "notice:more_lang",
        {"en": "Staff meeting at 16:00\nin the hall"},
    )
    assert chat(payload="ntc:l:en") == [(MORE, languages)]  # already written
    assert chat(payload="ntc:l:fr") == [(MORE, languages)]  # not a language of ours
    assert chat("French") == [(MORE, languages)]
    assert chat.state() == "notice:more_lang"
    assert chat(payload="ntc:w:now") == INVALID
    assert chat(payload="ntc:l:zh_Hant") == [("Write the 繁體中文 version.", [])]
    assert (chat.state(), chat.data()["lang"]) == ("notice:lang_text", "zh_Hant")
    assert chat(" ") == [("The notice text is empty. Please write what you want to say.", [])]
    assert chat("字" * 1001) == [
        ("The 繁體中文 text has 1,001 characters; the limit is 1,000. Please shorten it.", [])
    ]
    assert chat.state() == "notice:lang_text"
    assert chat(" 教職員會議 ") == [(MORE, [languages[0], languages[2]])]
    assert chat(payload="ntc:l:zh_Hans") == [("Write the 简体中文 version.", [])]
    # The last language written: straight on to the time.
    assert chat("教职员会议") == [(WHEN, WHEN_BUTTONS)]
    assert (chat.state(), chat.data()["texts"]) == (
        "notice:when",
        {"en": "Staff meeting at 16:00\nin the hall", "zh_Hant": "教職員會議", "zh_Hans": "教职员会议"},
    )
    assert chat("next week") == [
        (
            "I could not read that time. Write it like 2026-11-25 08:00, 11-25 08:00 or 08:00.\n" + WHEN,
            WHEN_BUTTONS,
        )
    ]
    assert chat("2026-11-23 07:00") == [
        ("Nov 23, 07:00 is in the past. Please choose a later time, or send now.\n" + WHEN, WHEN_BUTTONS)
    ]
    assert chat("2027-03-01 08:00") == [
        ("A notice can be scheduled at most 90 days ahead.\n" + WHEN, WHEN_BUTTONS)
    ]
    assert chat.state() == "notice:when"
    assert chat(payload="ntc:w:later") == INVALID
    assert chat(payload="ntc:k:1") == INVALID
    assert chat(payload="ntc:w:now") == [(ACK, ACK_BUTTONS)]
    assert (chat.state(), chat.data()["at"]) == ("notice:ack", None)
    assert chat("yes") == [("Please choose one of the buttons.", ACK_BUTTONS)]
    assert chat(payload="ntc:k:2") == [("Please choose one of the buttons.", ACK_BUTTONS)]
    assert chat.state() == "notice:ack"
    assert chat(payload="ntc:w:now") == INVALID
    [(text, buttons)] = chat(payload="ntc:k:1")
    key = str(chat.data()["key"])
    assert re.fullmatch(r"[0-9a-f]{12}", key)
    assert (text, buttons) == (
        "\n".join(
            [
                "Please check your notice:",
                "To: 红星小学 · teachers",
                "Recipients: 4 (0 parents, 4 teachers).",
                "4 of them have not linked a chat account yet and will not receive it.",
                "When: now",
                "Confirmation required: yes",
                "Languages: English, 繁體中文, 简体中文",
                "———",
                "Staff meeting at 16:00\nin the hall",
            ]
        ),
        preview_buttons(key),
    )
    assert (chat.state(), chat.data()["ack"]) == ("notice:confirm", True)
    # Anything but the two buttons repeats them.
    assert chat("send it") == [("Please press Send or Cancel.", preview_buttons(key))]
    assert chat.state() == "notice:confirm"
    assert chat(payload="ntc:k:1") == INVALID
    assert chat(payload=f"ntcgo:{key}") == [
        (
            "Notice #1: 0 chat messages queued for 0 of 4 people, from Nov 23, 08:00.\n"
            "4 people have no chat account linked and will not receive it.",
            [[("Status", "bcst:1")]],
        )
    ]
    assert chat.state() is None
    with app.session_factory() as s:
        notice = s.scalars(select(Broadcast)).one()
        assert (
            notice.scope_type,
            notice.scope_id,
            notice.grade,
            notice.audience,
            notice.texts,
            notice.base_locale,
            notice.ack_required,
            notice.scheduled_at,
            notice.request_key,
        ) == (
            BroadcastScope.SCHOOL,
            1,
            None,
            Audience.TEACHERS,
            {"en": "Staff meeting at 16:00\nin the hall", "zh_Hant": "教職員會議", "zh_Hans": "教职员会议"},
            "en",
            True,
            now,
            key,
        )


def test_typed_targets_grades_and_schedules(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    chat = Chat(app, console, demo.principal)
    chat("/notice")
    # A typed audience skips the question.
    assert chat("School:1/Grade:4/Both") == [("Write the notice in English (at most 1,000 characters).", [])]
    assert chat.data() == {
        "texts": {},
        "base": "en",
        "scope": "grade",
        "scope_id": 1,
        "grade": 4,
        "audience": "both",
    }
    chat("Sports day")
    assert chat(payload="ntc:l:none") == [(WHEN, WHEN_BUTTONS)]
    assert chat(payload="ntc:w:tomorrow") == [(ACK, ACK_BUTTONS)]
    assert chat.data()["at"] == "2026-11-24T00:00:00+00:00"
    [(text, _buttons)] = chat(payload="ntc:k:0")
    assert text == "\n".join(
        [
            "Please check your notice:",
            "To: 红星小学 grade 4 · parents and teachers",
            "Recipients: 43 (42 parents, 1 teachers).",
            "43 of them have not linked a chat account yet and will not receive it.",
            "When: Nov 24, 08:00",
            "Confirmation required: no",
            "Languages: English",
            "———",
            "Sports day",
        ]
    )
    assert chat("/cancel") == [("Cancelled.", [])]
    # A typed target without an audience, a picked grade: the audience is asked.
    chat("/notice")
    assert chat("school:1/grade:5") == [("Send it to whom in 红星小学 grade 5?", AUDIENCES)]
    chat("/notice")
    assert chat(payload="ntcs:grade:1:6") == [("Send it to whom in 红星小学 grade 6?", AUDIENCES)]
    assert (chat.data()["scope"], chat.data()["grade"]) == ("grade", 6)
    chat(payload="ntc:a:parents")
    chat("Exam on Friday")
    chat(payload="ntc:l:none")
    # A time of day alone is today; 22:30 falls in the quiet hours.
    assert chat("22:30") == [(ACK, ACK_BUTTONS)]
    assert chat.data()["at"] == "2026-11-23T14:30:00+00:00"
    [(text, _buttons)] = chat(payload="ntc:k:0")
    assert text.splitlines()[1:5] == [
        "To: 红星小学 grade 6 · parents",
        "Recipients: 35 (35 parents, 0 teachers).",
        "35 of them have not linked a chat account yet and will not receive it.",
        "When: Nov 23, 22:30 (quiet hours: delivery starts Nov 24, 07:00)",
    ]
    assert chat(payload="ntc:x:x") == [("Cancelled. Nothing was sent.", [])]
    assert chat.state() is None
    with app.session_factory() as s:
        assert s.scalars(select(Broadcast)).first() is None


def test_quiet_hours_and_time_zone_come_from_the_settings_and_the_school(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    with transaction(app.session_factory) as s:
        person = s.get(Person, demo.principal)
        assert person is not None
    quiet = App(
        make_settings(app.settings.database_url, quiet_hours_start=time(22, 0), quiet_hours_end=time(6, 30)),
        clock=lambda: now,
    )
    try:
        chat = Chat(
            quiet, ConsoleChannel(quiet.session_factory, quiet.router, clock=quiet.clock), demo.principal
        )
        for answer in ["/notice", "school:1/teachers", "Late notice"]:
            chat(answer)
        chat(payload="ntc:l:none")

        def when(typed: str) -> str:
            chat(typed)
            [(text, _buttons)] = chat(payload="ntc:k:0")
            chat("/notice")
            for answer in ["school:1/teachers", "Late notice"]:
                chat(answer)
            chat(payload="ntc:l:none")
            return text.splitlines()[4]

        assert when("21:30") == "When: Nov 23, 21:30"
        assert when("22:30") == "When: Nov 23, 22:30 (quiet hours: delivery starts Nov 24, 06:30)"
        # Sending now at 23:00 local time.
        chat(payload="ntc:w:now", now=now + timedelta(hours=15))
        [(text, _buttons)] = chat(payload="ntc:k:0", now=now + timedelta(hours=15))
        assert text.splitlines()[4] == "When: now (quiet hours: delivery starts Nov 24, 06:30)"
    finally:
        quiet.engine.dispose()


def test_senders_without_a_scope_or_recipients_and_people_who_may_not_send(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.teacher, demo.parent)
    with transaction(app.session_factory) as s:
        lonely = Person(name="Lonely Teacher", locale="en", created_at=now)
        s.add(lonely)
        s.flush()
        s.add(
            Membership(person_id=lonely.id, role=Role.CLASS_TEACHER, scope_type=ScopeType.SCHOOL, scope_id=1)
        )
        lonely_id = lonely.id
    assert Chat(app, console, lonely_id)("/notice") == [
        ("You have no class, school or region to send notices to.", [])
    ]
    assert dialog_of(app, lonely_id) is None
    assert Chat(app, console, demo.parent)("/notice") == [
        ("Sorry, you do not have permission to do that.", [])
    ]
    chat = Chat(app, console, demo.teacher)
    assert chat("/notice") == [
        (
            "New notice. Who is it for? Choose below, or type a target such as school:3/grade:7/parents.",
            [[("红星小学 grade 3 1班", "ntcs:class:1:0")]],
        )
    ]
    assert chat(payload="ntcs:class:1:0") == [("Send it to whom in 红星小学 grade 3 1班?", AUDIENCES)]
    chat(payload="ntc:a:teachers")
    chat("Hello colleagues")
    chat(payload="ntc:l:none")
    chat(payload="ntc:w:now")
    # The class teacher is the class's only teacher, and does not send to themself.
    assert chat(payload="ntc:k:1") == [
        ("Nobody is registered in 红星小学 grade 3 1班 · teachers yet, so there is no one to send to.", [])
    ]
    assert chat.state() is None


def test_chinese_is_the_default_language_of_the_dialog(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    chat = Chat(app, console, demo.teacher)
    chat("/notice")
    assert chat(payload="ntcs:class:1:0") == [
        (
            "发给红星小学 3年级1班的哪些人？",
            [[("家长", "ntc:a:parents")], [("教师", "ntc:a:teachers")], [("家长和教师", "ntc:a:both")]],
        )
    ]
    assert chat(payload="ntc:a:parents")[0][0] == "请用简体中文写通知内容（最多 1000 字）。"
    assert chat.data()["base"] == "zh_Hans"


def test_tomorrow_is_the_school_s_tomorrow_stored_in_utc_whatever_the_server_zone(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 00:00 UTC on Monday is Sunday evening in New York and Monday 08:00 at the school (Shanghai).
    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    try:
        set_locale_of(app, "en", demo.principal)
        chat = Chat(app, console, demo.principal)
        for answer in ["/notice", "school:1/teachers", "Sports day"]:
            chat(answer)
        chat(payload="ntc:l:none")
        assert chat(payload="ntc:w:tomorrow") == [(ACK, ACK_BUTTONS)]
        assert chat.data()["at"] == "2026-11-24T00:00:00+00:00"
        [(text, _buttons)] = chat(payload="ntc:k:0")
        assert text.splitlines()[4] == "When: Nov 24, 08:00"
    finally:
        monkeypatch.undo()
        time_module.tzset()


def test_the_base_language_stays_the_one_the_notice_was_written_in(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    chat = Chat(app, console, demo.principal)
    for answer in ["/notice", "school:1/teachers", "Written in English"]:
        chat(answer)
    # The sender switches to Chinese half-way (from another chat, say): the text stays the English one.
    set_locale_of(app, "zh_Hans", demo.principal)
    chat(payload="ntc:l:none")
    chat(payload="ntc:w:now")
    [(text, buttons)] = chat(payload="ntc:k:0")
    assert text.splitlines()[-3:] == ["语言：English", "———", "Written in English"]
    assert chat(payload=buttons[0][0][1]) == [
        (
            "通知 #1：已为 4 人中的 0 人排队 0 条消息，从 11月23日 08:00 开始发送。\n"
            "4 人没有绑定聊天账号，收不到这条通知。",
            [[("查看进度", "bcst:1")]],
        )
    ]
    with app.session_factory() as s:
        assert s.scalars(select(Broadcast.base_locale)).one() == "en"
