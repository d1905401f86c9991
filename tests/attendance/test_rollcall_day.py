"""Roll-call dialogs are bound to their school-local day (Asia/Shanghai): a /rollcall list or a quick-mark
question left open takes nothing on a later day or (a list opened before it) past its day's cutoff. The
teacher is told the old one was closed, a quick mark sent then goes to today's roll-call, and every
confirmation names the class and the day that was written, as the database rows have them.

Product review finding: a list left open from 12-02 took the teacher's `缺 7` on 12-03 and was submitted
as "点名已更新：…，12月2日"; 12-03 stayed without a roll-call."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import Role, School, SchoolClass, ScopeType
from db.models.attendance import AttendanceRecord, Mark, RollCall
from tests.attendance.helpers import at, buttons_of, dialog_of, grant, name_of, rename, teacher_class

DEC2, DEC3 = date(2026, 12, 2), date(2026, 12, 3)  # a Wednesday and a Thursday; the cutoff is 10:00
D2, D3 = "12月2日 周三", "12月3日 周四"
HEADER = "点名 3年级1班，{day}。默认全部出勤，只点有变化的学生。"
LIST_CLOSED = f"{D2}的点名名单没有提交，已关闭。"
CUTOFF_CLOSED = f"{D2}的点名截止时间已过，截止前打开的点名名单没有提交，已关闭。"
QUESTION_CLOSED = f"您{D2}发送的点名标记没有记录，该问题已关闭。"
OPEN_TODAY = "发送 /rollcall 打开今天的点名名单。"
SEND_AGAIN = "请重新发送，记入今天的点名。"
REVIEW = "其他学生保持原记录（默认出勤）。发送 /rollcall 查看。"


def _rollcalls(app: App) -> list[tuple[date, datetime]]:
    """(day, submitted_at) of every roll-call row, by day."""
    with app.session_factory() as s:
        return [(r.day, r.submitted_at) for r in s.scalars(select(RollCall).order_by(RollCall.day))]


def _marks(app: App, day: date) -> dict[int, Mark]:
    with app.session_factory() as s:
        rows = s.execute(
            select(AttendanceRecord.student_id, AttendanceRecord.status).where(AttendanceRecord.day == day)
        )
        return {sid: Mark(status) for sid, status in rows}


def _texts(replies) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text for r in replies]


@pytest.fixture
def dec2_list(console: ConsoleChannel, app: App, demo) -> tuple[int, list[int], str]:  # type: ignore[no-untyped-def]
    """12-02: pupil 3 absent by quick text at 08:00; the class teacher opens /rollcall at 10:00 (the cutoff)
    to correct it and taps pupil 5 absent, without submitting. → (class id, pupil ids, pupil 7's name)."""
    class_id, ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "缺 3", now=at(DEC2, 8))
    opened = console.send(demo.teacher, "/rollcall", now=at(DEC2, 10))
    assert opened[0].text.startswith(HEADER.format(day=D2))
    console.send(demo.teacher, payload=f"rct:{class_id}:{ids[4]}", now=at(DEC2, 10, 1))
    assert _marks(app, DEC2) == {ids[2]: Mark.ABSENT}
    return class_id, ids, name_of(app, ids[6])


# --- the list of 12-02, and a message on 12-03 ----------------------------------------------------


@pytest.mark.parametrize(
    ("when", "text"),
    [
        pytest.param(at(DEC3, 8), "缺 7", id="12-03 08:00"),
        # 00:30 in Shanghai is still 12-02 in UTC: the day is the school's, not the clock's.
        pytest.param(at(DEC3, 0, 30), "缺 7", id="12-03 00:30 (16:30 UTC on 12-02)"),
        pytest.param(at(DEC3, 8), "缺7", id="no space"),
    ],
)
def test_a_quick_mark_on_the_next_day_goes_to_the_new_day(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, dec2_list, when: datetime, text: str
) -> None:
    _class_id, ids, name = dec2_list
    before = _rollcalls(app)
    replies = console.send(demo.teacher, text, now=when)
    assert _texts(replies) == [LIST_CLOSED, f"已记录3年级1班，{D3}：缺勤：7.{name}。{REVIEW}"]
    # The day named is the day written: 12-03 has its roll-call with pupil 7 absent, 12-02 is unchanged.
    assert _rollcalls(app) == [*before, (DEC3, when)]
    assert _marks(app, DEC3) == {ids[6]: Mark.ABSENT}
    assert _marks(app, DEC2) == {ids[2]: Mark.ABSENT}
    assert dialog_of(app, demo.teacher) is None


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        pytest.param({"payload": "rcs"}, [f"{LIST_CLOSED}\n{OPEN_TODAY}"], id="Submit"),
        pytest.param({"payload": "rct"}, [f"{LIST_CLOSED}\n{OPEN_TODAY}"], id="tap"),
        pytest.param({"payload": "rcp"}, [f"{LIST_CLOSED}\n{OPEN_TODAY}"], id="page"),
        pytest.param({"text": "你好"}, [f"{LIST_CLOSED}\n{OPEN_TODAY}"], id="other text"),
    ],
)
def test_the_old_list_takes_no_button_or_text_on_the_next_day(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, dec2_list, send: dict[str, str], expected: list[str]
) -> None:
    class_id, ids, _name = dec2_list
    before = _rollcalls(app)
    payloads = {"rcs": f"rcs:{class_id}", "rct": f"rct:{class_id}:{ids[6]}", "rcp": f"rcp:{class_id}:0"}
    if "payload" in send:
        replies = console.send(demo.teacher, payload=payloads[send["payload"]], now=at(DEC3, 8))
    else:
        replies = console.send(demo.teacher, send["text"], now=at(DEC3, 8))
    assert _texts(replies) == expected
    assert _rollcalls(app) == before
    assert _marks(app, DEC2) == {ids[2]: Mark.ABSENT}
    assert _marks(app, DEC3) == {}
    assert dialog_of(app, demo.teacher) is None


def test_rollcall_on_the_next_day_says_the_old_list_was_closed_and_opens_today(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, dec2_list
) -> None:
    class_id, ids, _name = dec2_list
    opened = console.send(demo.teacher, "/rollcall", now=at(DEC3, 8))
    assert _texts(opened)[0] == LIST_CLOSED
    assert opened[1].text.startswith(HEADER.format(day=D3))
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[2]["day"] == "2026-12-03" and state[2]["marks"] == {}
    console.send(demo.teacher, "7", now=at(DEC3, 8, 1))  # pupil 7 absent
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(DEC3, 8, 2))
    assert _texts(done) == [
        f"点名已记录：3年级1班，{D3}。应到38人，实到37人。\n缺勤 1\n截止时间到后会询问缺勤学生的家长。"
    ]
    assert _rollcalls(app)[-1] == (DEC3, at(DEC3, 8, 2))
    assert _marks(app, DEC3) == {ids[6]: Mark.ABSENT}
    assert _marks(app, DEC2) == {ids[2]: Mark.ABSENT}


def test_a_list_forgotten_more_than_a_day_is_still_named_when_a_quick_mark_comes(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo
) -> None:
    """The router forgets a dialog idle for 24 hours before the quick mark starts; the teacher is still told."""
    _class_id, ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "/rollcall", now=at(DEC2, 7))
    replies = console.send(demo.teacher, "缺 7", now=at(DEC3, 8))
    assert _texts(replies)[0] == LIST_CLOSED
    assert _texts(replies)[1].startswith(f"已记录3年级1班，{D3}：缺勤：7.")
    assert _rollcalls(app) == [(DEC3, at(DEC3, 8))]
    assert _marks(app, DEC3) == {ids[6]: Mark.ABSENT}


# --- the same day ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(at(DEC2, 11), id="12-02 11:00"),
        # 23:50 in Shanghai: still 12-02 (15:50 UTC).
        pytest.param(at(DEC2, 23, 50), id="12-02 23:50"),
    ],
)
def test_the_same_day_the_list_opened_after_the_cutoff_goes_on(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, dec2_list, when: datetime
) -> None:
    """The class teacher's deliberate correction after the cutoff keeps working until the day ends."""
    class_id, ids, _name = dec2_list
    hint = console.send(demo.teacher, "缺 7", now=when)
    assert _texts(hint)[0] == "点学生名字更改状态，然后按提交。"
    assert hint[1].text.startswith(HEADER.format(day=D2))
    console.send(demo.teacher, payload=f"rct:{class_id}:{ids[6]}", now=when)
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=when)
    assert _texts(done)[0].startswith(f"点名已更新：3年级1班，{D2}。应到38人，实到35人。")
    assert _rollcalls(app) == [(DEC2, when)]
    assert _marks(app, DEC2) == {ids[2]: Mark.ABSENT, ids[4]: Mark.ABSENT, ids[6]: Mark.ABSENT}
    assert _marks(app, DEC3) == {}


# --- the cutoff ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "closed"),
    [
        pytest.param(at(DEC2, 9, 59), False, id="09:59, before the cutoff: submitted"),
        pytest.param(at(DEC2, 10), True, id="10:00, the cutoff: closed"),
        pytest.param(at(DEC2, 15), True, id="15:00: closed"),
    ],
)
def test_a_list_opened_before_the_cutoff_is_not_submitted_after_it(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, when: datetime, closed: bool
) -> None:
    class_id, ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "/rollcall", now=at(DEC2, 9))
    console.send(demo.teacher, "7", now=at(DEC2, 9, 1))
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=when)
    if closed:
        assert _texts(done) == [f"{CUTOFF_CLOSED}\n{OPEN_TODAY}"]
        assert _rollcalls(app) == []
        assert _marks(app, DEC2) == {}
    else:
        assert _texts(done)[0].startswith(f"点名已记录：3年级1班，{D2}。应到38人，实到37人。")
        assert _rollcalls(app) == [(DEC2, when)]
        assert _marks(app, DEC2) == {ids[6]: Mark.ABSENT}
    assert dialog_of(app, demo.teacher) is None


def test_after_a_closed_list_the_class_teacher_can_still_correct_the_day_on_purpose(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo
) -> None:
    class_id, ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "/rollcall", now=at(DEC2, 9))
    closed = console.send(demo.teacher, "缺 7", now=at(DEC2, 10, 30))
    # Past the cutoff a quick mark is taken afresh: the class teacher may still record the day.
    assert _texts(closed)[0] == CUTOFF_CLOSED
    assert _texts(closed)[1].startswith(f"已记录3年级1班，{D2}：缺勤：7.")
    opened = console.send(demo.teacher, "/rollcall", now=at(DEC2, 10, 31))
    assert len(opened) == 1 and opened[0].text.startswith(HEADER.format(day=D2))
    console.send(demo.teacher, "8", now=at(DEC2, 10, 32))
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(DEC2, 10, 33))
    assert _texts(done)[0].startswith(f"点名已更新：3年级1班，{D2}。应到38人，实到36人。")
    assert _rollcalls(app) == [(DEC2, at(DEC2, 10, 33))]
    assert _marks(app, DEC2) == {ids[6]: Mark.ABSENT, ids[7]: Mark.ABSENT}


# --- a quick-mark question of 12-02 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "send", "expected_day", "expected"),
    [
        pytest.param(at(DEC2, 9, 1), "2", DEC2, "sick 10", id="same day: the answer is recorded"),
        pytest.param(at(DEC3, 8), "2", None, "closed", id="next day: the answer is not recorded"),
        pytest.param(at(DEC3, 8), "缺 7", DEC3, "absent 7", id="next day: a new quick mark goes to 12-03"),
    ],
)
def test_a_quick_mark_question_belongs_to_its_day(  # type: ignore[no-untyped-def]
    console: ConsoleChannel,
    app: App,
    demo,
    when: datetime,
    send: str,
    expected_day: date | None,
    expected: str,
) -> None:
    _class_id, ids = teacher_class(app, demo.teacher)
    rename(app, [ids[5], ids[9]], "马小龙")
    asked = console.send(demo.teacher, "病假 马小龙", now=at(DEC2, 9))
    assert "2个学生叫马小龙" in asked[0].text
    replies = _texts(console.send(demo.teacher, send, now=when))
    if expected == "sick 10":
        assert replies == [f"已记录3年级1班：病假：10.马小龙。{REVIEW}"]
        assert _marks(app, DEC2) == {ids[9]: Mark.SICK}
    elif expected == "closed":
        assert replies == [f"{QUESTION_CLOSED}\n{SEND_AGAIN}"]
    else:
        assert replies[0] == QUESTION_CLOSED
        assert replies[1].startswith(f"已记录3年级1班，{D3}：缺勤：7.")
        assert _marks(app, DEC3) == {ids[6]: Mark.ABSENT}
    assert [day for day, _at in _rollcalls(app)] == ([expected_day] if expected_day else [])
    if expected_day != DEC2:
        assert _marks(app, DEC2) == {}
    assert dialog_of(app, demo.teacher) is None


def test_the_notices_in_english(console: ConsoleChannel, app: App, demo, dec2_list) -> None:  # type: ignore[no-untyped-def]
    _class_id, _ids, name = dec2_list
    replies = console.send(demo.teacher, "absent 7", lang="en", now=at(DEC3, 8))
    assert _texts(replies) == [
        "The roll-call list for Wed, Dec 2 was not submitted and has been closed.",
        f"Recorded for Grade 3 1班, Thu, Dec 3: absent: 7.{name}. Everyone else stays as recorded "
        "(present by default). Send /rollcall to review.",
    ]


# --- a teacher of two classes: the class is asked, never guessed from the old list ------------------


@pytest.fixture
def second_class(app: App, demo) -> int:  # type: ignore[no-untyped-def]
    """A class of another school that the demo teacher also teaches."""
    with app.session_factory() as s:
        second = s.scalars(
            select(SchoolClass.id)
            .join(School)
            .where(School.name == "东乡第一初级中学", SchoolClass.grade == 7)
        ).one()
    grant(app, demo.teacher, Role.TEACHER, ScopeType.CLASS, second)
    return second


def test_with_two_classes_a_quick_mark_on_the_old_list_is_asked_to_be_sent_again(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, second_class: int
) -> None:
    class_id, _ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "/rollcall", now=at(DEC2, 9))
    console.send(demo.teacher, payload=f"rck:{class_id}", now=at(DEC2, 9, 1))
    replies = console.send(demo.teacher, "缺 7", now=at(DEC3, 8))
    assert _texts(replies) == [f"{LIST_CLOSED}\n{SEND_AGAIN}"]
    assert _rollcalls(app) == [] and dialog_of(app, demo.teacher) is None
    again = console.send(demo.teacher, "缺 7", now=at(DEC3, 8, 1))
    assert _texts(again) == ["哪个班？"]


def test_with_two_classes_a_new_quick_mark_on_an_old_question_asks_the_class_for_today(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app: App, demo, second_class: int
) -> None:
    console.send(demo.teacher, "缺 3", now=at(DEC2, 9))
    assert dialog_of(app, demo.teacher) == (
        "quickmark",
        "pick",
        {"mark": "absent", "tokens": ["3"], "chosen": {}},
    )
    asked = console.send(demo.teacher, "缺 7", now=at(DEC3, 8))
    assert _texts(asked) == [QUESTION_CLOSED, "哪个班？"]
    assert [payload for _label, payload in buttons_of(asked[1])][1] == f"rcq:{second_class}"
    assert dialog_of(app, demo.teacher) == (
        "quickmark",
        "pick",
        {"mark": "absent", "tokens": ["7"], "chosen": {}, "dated": True},
    )
    done = console.send(demo.teacher, payload=f"rcq:{second_class}", now=at(DEC3, 8, 1))
    assert _texts(done)[0].startswith(f"已记录7年级1班，{D3}：缺勤：7.")
    with app.session_factory() as s:
        assert s.execute(select(RollCall.class_id, RollCall.day)).all() == [(second_class, DEC3)]
    assert _marks(app, DEC2) == {}
