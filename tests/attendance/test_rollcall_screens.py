"""/rollcall screen by screen, asserted whole: the list text and every button row, the counts as pupils
are tapped, the pages of a large class, the summary after Submit, and the refusals with their exact
wording (zh_Hans and en)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chatbot.channels.console import ConsoleChannel
from db.models import Membership, Person, Role, School, SchoolClass, ScopeType
from db.models.attendance import Mark, RollCall
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    at,
    button_rows,
    dialog_of,
    grow_class,
    pupils_of,
    recorded_marks,
    subject_teacher,
    teacher_class,
)

DAY = "11月23日 周一"
HEADER = f"点名 3年级1班，{DAY}。默认全部出勤，只点有变化的学生。"
LEGEND = "点一下切换：❌缺勤 → 🤒病假 → 📝事假 → ⏰迟到 → ✅出勤"
REFUSED = "抱歉，您没有权限这样做。"
NOT_VALID = "这个按钮已失效。发送 /help 重新开始。"
ICONS = {None: "✅", "absent": "❌", "sick": "🤒", "personal": "📝", "late": "⏰"}


def _pupil_rows(
    class_id: int, pupils: list[tuple[int, str]], first: int, last: int, marks: dict[int, str] | None = None
) -> list[list[tuple[str, str]]]:
    """Button rows (three a row) for pupils number first..last (1-based), with their mark icons."""
    marks = marks or {}
    buttons = [
        (f"{number}.{name}{ICONS[marks.get(pid)]}", f"rct:{class_id}:{pid}")
        for number, (pid, name) in enumerate(pupils, start=1)
        if first <= number <= last
    ]
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


# --- the list, marks, submit -----------------------------------------------------------------


def test_list_marks_and_summary_exactly(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    pupils = pupils_of(app, class_id, active_only=True)
    assert len(pupils) == 38
    opened = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    assert len(opened) == 1
    assert opened[0].text == f"{HEADER}\n{LEGEND}"
    assert opened[0].edit is False
    plain_rows = [*_pupil_rows(class_id, pupils, 1, 38), [("✔ 提交（实到38人）", f"rcs:{class_id}")]]
    assert button_rows(opened[0]) == plain_rows
    assert len(plain_rows) == 14  # 12 rows of three, one of two, Submit: no empty navigation row
    assert dialog_of(app, demo.teacher) == (
        "rollcall",
        "marking",
        {"class_id": class_id, "day": "2026-11-23", "page": 0, "marks": {}, "opened": {}},
    )

    # Text instead of a button: a hint, and the list again (a new message, not an edit).
    hint = console.send(demo.teacher, "你好", now=at(MONDAY, 8, 1))
    assert [(r.text, button_rows(r), r.edit) for r in hint] == [
        ("点学生名字更改状态，然后按提交。", [], False),
        (f"{HEADER}\n{LEGEND}", plain_rows, False),
    ]
    assert dialog_of(app, demo.teacher) == (
        "rollcall",
        "marking",
        {"class_id": class_id, "day": "2026-11-23", "page": 0, "marks": {}, "opened": {}},
    )

    first = console.send(demo.teacher, "1", now=at(MONDAY, 8, 2))
    assert len(first) == 1 and first[0].edit is True
    assert first[0].text == f"{HEADER}\n{LEGEND}\n❌缺勤 1"
    assert button_rows(first[0])[-1] == [("✔ 提交（实到37人）", f"rcs:{class_id}")]

    # Pupil 2 absent, 3 sick, 4 personal, 5 late, 6 all the way round back to present.
    for number, taps in ((2, 1), (3, 2), (4, 3), (5, 4), (6, 5)):
        for _tap in range(taps):
            last = console.send(demo.teacher, str(number), now=at(MONDAY, 8, 3))
    marks = {
        pupils[0][0]: "absent",
        pupils[1][0]: "absent",
        pupils[2][0]: "sick",
        pupils[3][0]: "personal",
        pupils[4][0]: "late",
    }
    assert len(last) == 1 and last[0].edit is True
    assert last[0].text == f"{HEADER}\n{LEGEND}\n❌缺勤 2 🤒病假 1 📝事假 1 ⏰迟到 1"
    # Late pupils are present: 38 - 4 away.
    assert button_rows(last[0]) == [
        *_pupil_rows(class_id, pupils, 1, 38, marks),
        [("✔ 提交（实到34人）", f"rcs:{class_id}")],
    ]
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[:2] == ("rollcall", "marking")
    assert state[2]["marks"] == {str(pid): mark for pid, mark in marks.items()}

    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 4))
    assert [(r.text, button_rows(r), r.edit) for r in done] == [
        (
            f"点名已记录：3年级1班，{DAY}。应到38人，实到34人。\n"
            "缺勤 2 · 病假 1 · 事假 1 · 迟到 1\n"
            "截止时间到后会询问缺勤学生的家长。",
            [],
            True,
        )
    ]
    assert dialog_of(app, demo.teacher) is None
    assert recorded_marks(app) == {pid: Mark(mark) for pid, mark in marks.items()}


def test_list_and_summary_in_english(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    header = "Roll-call Grade 3 1班, Mon, Nov 23. Everyone is present unless you tap them."
    legend = "Tap: ❌absent → 🤒sick → 📝personal → ⏰late → ✅present"
    opened = console.send(demo.teacher, "/rollcall", lang="en", now=at(MONDAY, 8))
    assert opened[0].text == f"{header}\n{legend}"
    assert button_rows(opened[0])[-1] == [("✔ Submit (38 present)", f"rcs:{class_id}")]
    hint = console.send(demo.teacher, "hello", lang="en", now=at(MONDAY, 8, 1))
    assert hint[0].text == "Tap a pupil to change their mark, then press Submit."
    for number, taps in ((1, 1), (2, 2), (3, 3), (4, 4)):
        for _tap in range(taps):
            last = console.send(demo.teacher, str(number), lang="en", now=at(MONDAY, 8, 2))
    assert last[0].text == f"{header}\n{legend}\n❌absent 1 🤒sick leave 1 📝personal leave 1 ⏰late 1"
    assert button_rows(last[0])[-1] == [("✔ Submit (35 present)", f"rcs:{class_id}")]
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", lang="en", now=at(MONDAY, 8, 3))
    assert [r.text for r in done] == [
        "Roll-call recorded: Grade 3 1班, Mon, Nov 23. Present 35 of 38.\n"
        "absent 1 · sick leave 1 · personal leave 1 · late 1\n"
        "Guardians of absent pupils will be asked at the cutoff."
    ]


def test_summary_without_absences_has_no_guardian_line(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    for _tap in range(2):
        console.send(demo.teacher, "7", now=at(MONDAY, 8, 1))  # sick
    for _tap in range(3):
        console.send(demo.teacher, "8", now=at(MONDAY, 8, 1))  # personal
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 2))
    assert [r.text for r in done] == [f"点名已记录：3年级1班，{DAY}。应到38人，实到36人。\n病假 1 · 事假 1"]


# --- pages ------------------------------------------------------------------------------------


def test_47_pupils_fit_on_one_page(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    grow_class(app, class_id, 47, "0399")
    pupils = pupils_of(app, class_id, active_only=True)
    opened = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))[0]
    assert opened.text == f"{HEADER}\n{LEGEND}"
    assert button_rows(opened) == [
        *_pupil_rows(class_id, pupils, 1, 47),
        [("✔ 提交（实到47人）", f"rcs:{class_id}")],
    ]


def test_49_pupils_take_two_pages(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    grow_class(app, class_id, 49, "0399")
    pupils = pupils_of(app, class_id, active_only=True)
    submit = [("✔ 提交（实到49人）", f"rcs:{class_id}")]
    first_page = [*_pupil_rows(class_id, pupils, 1, 48), [("下一页 ▶", f"rcp:{class_id}:1")], submit]
    second_page = [*_pupil_rows(class_id, pupils, 49, 49), [("◀ 上一页", f"rcp:{class_id}:0")], submit]

    opened = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    assert len(opened) == 1 and opened[0].edit is False
    assert opened[0].text == f"{HEADER}\n{LEGEND}\n第1/2页"
    assert button_rows(opened[0]) == first_page

    turned = console.send(demo.teacher, payload=f"rcp:{class_id}:1", now=at(MONDAY, 8, 1))
    assert [(r.text, button_rows(r), r.edit) for r in turned] == [
        (f"{HEADER}\n{LEGEND}\n第2/2页", second_page, True)
    ]
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[1] == "marking" and state[2]["page"] == 1

    back = console.send(demo.teacher, payload=f"rcp:{class_id}:0", now=at(MONDAY, 8, 2))
    assert [(r.text, button_rows(r), r.edit) for r in back] == [
        (f"{HEADER}\n{LEGEND}\n第1/2页", first_page, True)
    ]
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[2]["page"] == 0

    # A page past the end shows the last page; one before the start shows the first.
    beyond = console.send(demo.teacher, payload=f"rcp:{class_id}:7", now=at(MONDAY, 8, 3))
    assert [(r.text, button_rows(r)) for r in beyond] == [(f"{HEADER}\n{LEGEND}\n第2/2页", second_page)]
    before = console.send(demo.teacher, payload=f"rcp:{class_id}:-1", now=at(MONDAY, 8, 4))
    assert [(r.text, button_rows(r)) for r in before] == [(f"{HEADER}\n{LEGEND}\n第1/2页", first_page)]
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[2]["page"] == 0


def test_paging_buttons_in_english(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    grow_class(app, class_id, 49, "0399")
    opened = console.send(demo.teacher, "/rollcall", lang="en", now=at(MONDAY, 8))[0]
    assert opened.text.endswith("\nPage 1 of 2")
    assert button_rows(opened)[-2:] == [
        [("Next ▶", f"rcp:{class_id}:1")],
        [("✔ Submit (49 present)", f"rcs:{class_id}")],
    ]
    second = console.send(demo.teacher, payload=f"rcp:{class_id}:1", lang="en", now=at(MONDAY, 8))[0]
    assert second.text.endswith("\nPage 2 of 2")
    assert button_rows(second)[-2] == [("◀ Previous", f"rcp:{class_id}:0")]


# --- refusals ---------------------------------------------------------------------------------


def test_a_payload_without_a_class_is_not_valid_and_the_list_stays_open(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    before = dialog_of(app, demo.teacher)
    for bare in ("rct", "rcs", "rcp"):
        refused = console.send(demo.teacher, payload=bare, now=at(MONDAY, 8, 1))
        assert [(r.text, r.buttons) for r in refused] == [(NOT_VALID, [])]
        assert dialog_of(app, demo.teacher) == before
    with app.session_factory() as s:
        assert s.scalars(select(RollCall)).first() is None


def test_no_class_to_take_rollcall_for(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        school = s.scalars(select(School).where(School.name == "红星小学")).one()
        empty = School(region_id=school.region_id, name="空小学", stage=school.stage)
        s.add(empty)
        s.flush()
        person = Person(name="钱老师", created_at=at(MONDAY, 7))
        s.add(person)
        s.flush()
        s.add(
            Membership(person_id=person.id, role=Role.TEACHER, scope_type=ScopeType.SCHOOL, scope_id=empty.id)
        )
        teacher = person.id
    for lang, expected in (
        (None, "您没有需要点名的班级。"),
        ("en", "You have no class to take roll-call for."),
    ):
        for attempt in ("/rollcall", "缺 3"):
            replies = console.send(teacher, attempt, lang=lang, now=at(MONDAY, 8))
            assert [(r.text, r.buttons) for r in replies] == [(expected, [])]
            assert dialog_of(app, teacher) is None


def test_at_most_twenty_classes_are_offered(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        school = s.scalars(select(School).where(School.name == "红星小学")).one()
        for number in range(1, 18):
            s.add(SchoolClass(school_id=school.id, grade=2, name=f"{number:02d}班"))
        person = Person(name="孙老师", created_at=at(MONDAY, 7))
        s.add(person)
        s.flush()
        s.add(
            Membership(
                person_id=person.id, role=Role.TEACHER, scope_type=ScopeType.SCHOOL, scope_id=school.id
            )
        )
        teacher = person.id
        s.flush()
        classes = s.execute(
            select(SchoolClass.id, SchoolClass.grade, SchoolClass.name)
            .where(SchoolClass.school_id == school.id)
            .order_by(SchoolClass.grade, SchoolClass.name)
        ).all()
    assert len(classes) == 21
    labels = {
        None: [(f"红星小学 {grade}年级{name}", cid) for cid, grade, name in classes[:20]],
        "en": [(f"红星小学 Grade {grade} {name}", cid) for cid, grade, name in classes[:20]],
    }
    for text, prefix, state in (
        ("/rollcall", "rck", ("rollcall", "pick", {})),
        ("缺 3", "rcq", ("quickmark", "pick", {"mark": "absent", "tokens": ["3"], "chosen": {}})),
    ):
        for lang, question in ((None, "哪个班？"), ("en", "Which class?")):
            asked = console.send(teacher, text, lang=lang, now=at(MONDAY, 8))
            assert len(asked) == 1
            assert asked[0].text == question
            assert button_rows(asked[0]) == [[(label, f"{prefix}:{cid}")] for label, cid in labels[lang]]
            assert dialog_of(app, teacher) == state
            console.send(teacher, "/cancel", now=at(MONDAY, 8))


def test_not_a_school_day_names_the_day(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    saturday = MONDAY + timedelta(days=5)
    for attempt in ("/rollcall", "缺 3"):
        replies = console.send(demo.teacher, attempt, now=at(saturday, 8))
        assert [(r.text, r.buttons) for r in replies] == [
            ("11月28日 周六不是上课日，不需要点名。没有记录任何内容。", [])
        ]
        assert dialog_of(app, demo.teacher) is None
    replies = console.send(demo.teacher, "/rollcall", lang="en", now=at(saturday, 8))
    assert [r.text for r in replies] == [
        "Sat, Nov 28 is not a school day, so there is no roll-call. Nothing was recorded."
    ]


def test_submit_on_a_day_cancelled_meanwhile_names_the_day(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    console.send(demo.teacher, "1", now=at(MONDAY, 8, 1))
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        s.add(
            CalendarEntry(
                region_id=klass.school.region_id,
                school_id=klass.school_id,
                kind=CalendarKind.DAY_OFF,
                name="停课",
                first_day=MONDAY,
                last_day=MONDAY,
                created_at=at(MONDAY, 8, 1),
            )
        )
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 2))
    assert [(r.text, r.buttons) for r in done] == [(f"{DAY}不是上课日，不需要点名。没有记录任何内容。", [])]
    assert dialog_of(app, demo.teacher) is None
    assert recorded_marks(app) == {}


def test_submit_keeps_a_pupil_another_teacher_set_present_meanwhile(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    """Both teachers turned pupil 1 from absent to present; the second submit finds no record to drop."""
    class_id, ids = teacher_class(app, demo.teacher)
    subject = subject_teacher(app, class_id)
    console.send(subject, "缺 1", now=at(MONDAY, 8))
    assert recorded_marks(app) == {ids[0]: Mark.ABSENT}
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8, 1))
    for _tap in range(4):  # absent → sick → personal → late → present
        console.send(demo.teacher, "1", now=at(MONDAY, 8, 2))
    console.send(subject, "/rollcall", now=at(MONDAY, 8, 3))
    for _tap in range(4):
        console.send(subject, "1", now=at(MONDAY, 8, 3))
    console.send(subject, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 4))
    assert recorded_marks(app) == {}
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 5))
    assert [r.text for r in done] == [f"点名已更新：3年级1班，{DAY}。应到38人，实到38人。"]
    assert recorded_marks(app) == {}
    with app.session_factory() as s:
        assert s.execute(select(RollCall.class_id, RollCall.submitted_by)).all() == [(class_id, demo.teacher)]
