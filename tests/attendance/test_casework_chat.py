"""/cases in chat, exactly: which cases a class teacher's list holds and in what order, the case card
with its ledger and buttons, and the home-visit and not-a-dropout steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from chatbot.channels.console import ConsoleChannel
from db.models import Student
from db.models.attendance import CaseEvent, CaseEventKind, CaseStatus, CaseTrigger
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    add_case,
    at,
    case_events,
    dialog_of,
    put_dialog,
    shown,
    teacher_class,
)

NOON = at(MONDAY, 12)


def _event(
    app,
    case_id: int,
    kind: CaseEventKind,
    moment: datetime,
    note: str | None = None,
    actor: int | None = None,
) -> int:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        event = CaseEvent(case_id=case_id, at=moment, actor_id=actor, kind=kind, note=note, level=0)
        s.add(event)
        s.flush()
        return event.id


def _other_class(app, teacher: int) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    """The last class of the second school: its class teacher and three of its pupils, highest id first."""
    class_id, _ = teacher_class(app, teacher)
    with app.session_factory() as s:
        students = list(
            s.scalars(
                select(Student).where(Student.class_id != class_id).order_by(Student.id.desc()).limit(3)
            )
        )
        teacher_id: int = students[0].school_class.class_teacher_id
        return teacher_id, [st.id for st in students]


def _events(app, case_id: int) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return case_events(app, ("kind", "actor_id", "note"), case_id)


def test_the_list_holds_the_class_and_the_assigned_cases_most_escalated_then_newest_first(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    _, pupils = teacher_class(app, demo.teacher)
    other_teacher, others = _other_class(app, demo.teacher)
    assert console.send(demo.teacher, "/cases", now=NOON)[0].text == "目前没有未结的辍学风险台账。👍"
    assert shown(console.send(demo.teacher, "/cases", now=NOON, lang="en")) == [
        ("No open dropout-risk cases. 👍", [])
    ]
    # Opened more recently than the next one, but created first (a lower id).
    newer = add_case(app, pupils[0], assignee=demo.teacher, opened_on=MONDAY - timedelta(days=1))
    oldest = add_case(app, pupils[1], assignee=demo.teacher, opened_on=MONDAY - timedelta(days=7))
    # Opened the same day: the later id first.
    tie_first = add_case(app, pupils[2], assignee=demo.teacher, opened_on=MONDAY - timedelta(days=4))
    tie_second = add_case(app, pupils[3], assignee=demo.teacher, opened_on=MONDAY - timedelta(days=4))
    # Escalated to the principal: still in the teacher's class, so still listed, and listed first.
    escalated = add_case(
        app, pupils[4], level=1, assignee=demo.principal, opened_on=MONDAY - timedelta(days=14)
    )
    # Closed: not listed.
    add_case(app, pupils[5], assignee=demo.teacher, status=CaseStatus.CLOSED, closed_as=None)
    add_case(app, others[0], assignee=other_teacher)  # another school's pupil: not listed
    # Another class's pupil, but assigned to this teacher by name: listed.
    assigned = add_case(app, others[1], level=2, assignee=demo.teacher, opened_on=MONDAY - timedelta(days=20))
    listing = console.send(demo.teacher, "/cases", now=NOON)
    assert shown(listing) == [
        (
            "未结的辍学风险台账（6）：",
            [
                ("何怡思 · 9年级1班 · 县教育局", f"cso:{assigned}"),
                ("蒋艳梓 · 3年级1班 · 校长", f"cso:{escalated}"),
                ("潘佳涵 · 3年级1班 · 班主任", f"cso:{newer}"),
                ("许梓思 · 3年级1班 · 班主任", f"cso:{tie_second}"),
                ("杜然涛 · 3年级1班 · 班主任", f"cso:{tie_first}"),
                ("刘磊 · 3年级1班 · 班主任", f"cso:{oldest}"),
            ],
        )
    ]
    assert dialog_of(app, demo.teacher) is None
    english = console.send(demo.teacher, "/cases", now=NOON, lang="en")
    assert english[0].text == "Open dropout-risk cases (6):"
    assert english[0].flat_buttons()[0].label == "何怡思 · Grade 9 1班 · county bureau"


def test_the_list_shows_at_most_thirty_cases(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _, pupils = teacher_class(app, demo.teacher)
    ids = [
        add_case(app, pupil, assignee=demo.teacher, opened_on=MONDAY - timedelta(days=index))
        for index, pupil in enumerate(pupils[:31])
    ]
    listing = console.send(demo.teacher, "/cases", now=NOON)
    assert listing[0].text == "未结的辍学风险台账（30）："
    assert [b.payload for b in listing[0].flat_buttons()] == [f"cso:{i}" for i in ids[:30]]


def test_the_case_card_shows_the_last_eight_events_and_buttons_only_while_open(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    _, pupils = teacher_class(app, demo.teacher)
    closed = add_case(
        app,
        pupils[0],
        assignee=demo.teacher,
        opened_on=MONDAY - timedelta(days=14),
        status=CaseStatus.CLOSED,
        closed_as=None,
    )
    still_open = add_case(
        app,
        pupils[1],
        level=1,
        assignee=demo.principal,
        opened_on=MONDAY - timedelta(days=7),
        trigger=CaseTrigger.RATE,
        detail={"percent": 25, "days": 12},
    )
    day = MONDAY - timedelta(days=14)
    # Inserted in this order; shown newest first by time, ties by the later id first.
    for kind, moment, note in [
        (CaseEventKind.OPENED, at(day, 10, 30), None),  # 10th newest: not shown
        (CaseEventKind.CONTACTED, at(day + timedelta(days=1), 9), None),  # 9th newest: not shown
        (CaseEventKind.HOME_VISIT, at(day + timedelta(days=2), 16), "见到奶奶,答应返校"),
        (CaseEventKind.ESCALATED, at(day + timedelta(days=4), 8), None),
        (CaseEventKind.CONTACTED, at(day + timedelta(days=3), 9), "missing"),  # a note on a call is not shown
        (CaseEventKind.CONTACTED, at(day + timedelta(days=7), 9), None),
        (CaseEventKind.ESCALATED, at(day + timedelta(days=7), 9), None),  # same time: the later id first
        (CaseEventKind.HOME_VISIT, at(day + timedelta(days=8), 15), None),
        (CaseEventKind.HOME_VISIT, at(day + timedelta(days=9), 15), "第二次家访"),
        (CaseEventKind.NOT_DROPOUT, at(day + timedelta(days=10), 17), "studying_elsewhere"),
    ]:
        _event(app, closed, kind, moment, note, actor=demo.teacher)
    # The other case's own events, newer than all of the above.
    _event(app, still_open, CaseEventKind.OPENED, at(MONDAY - timedelta(days=7), 10, 30))
    _event(app, still_open, CaseEventKind.ESCALATED, at(MONDAY, 8))

    card = console.send(demo.teacher, payload=f"cso:{closed}", now=NOON)
    assert shown(card) == [
        (
            f"台账 #{closed}：潘佳涵，红星小学 3年级1班\n"
            "原因：连续3个上课日缺勤。11月9日 周一建档。当前责任人：班主任。\n"
            "已结案。\n"
            "• 11月19日 17:00 结案：不属于辍学: 有本地户籍但在异地就读\n"
            "• 11月18日 15:00 家访: 第二次家访\n"
            "• 11月17日 15:00 家访\n"
            "• 11月16日 09:00 上报\n"
            "• 11月16日 09:00 已联系家长\n"
            "• 11月13日 08:00 上报\n"
            "• 11月12日 09:00 已联系家长\n"
            "• 11月11日 16:00 家访: 见到奶奶,答应返校",
            [],
        )
    ]
    card = console.send(demo.teacher, payload=f"cso:{still_open}", now=NOON)
    assert shown(card) == [
        (
            f"台账 #{still_open}：刘磊，红星小学 3年级1班\n"
            "原因：最近12个上课日缺勤率25%。11月16日 周一建档。当前责任人：校长。\n"
            "• 11月23日 08:00 上报\n"
            "• 11月16日 10:30 建档",
            [
                ("📞 已联系家长", f"csa:{still_open}:contacted"),
                ("🏠 家访", f"csa:{still_open}:home_visit"),
                ("🎒 已返校", f"csa:{still_open}:returned"),
                ("不属于辍学…", f"csa:{still_open}:not_dropout"),
                ("📋 辍学报告", f"csa:{still_open}:dropout_reported"),
            ],
        )
    ]
    assert [len(row) for row in card[0].buttons] == [2, 2, 1]
    english = console.send(demo.principal, payload=f"cso:{closed}", now=NOON, lang="en")
    assert english[0].text.split("\n")[:4] == [
        f"Case #{closed}: 潘佳涵, 红星小学 Grade 3 1班",
        "Why: 3 school days absent in a row. Opened Mon, Nov 9. Now with: class teacher.",
        "Closed.",
        "• Nov 19, 17:00 closed: not a dropout: Registered here but studying elsewhere",
    ]
    assert english[0].buttons == []


def test_home_visit_note_and_not_a_dropout_reason_through_the_chat(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    _, pupils = teacher_class(app, demo.teacher)
    case = add_case(app, pupils[0], assignee=demo.teacher, opened_on=MONDAY - timedelta(days=3))
    asked = console.send(demo.teacher, payload=f"csa:{case}:home_visit", now=NOON)
    assert shown(asked) == [("请写家访记录（见了谁，商定了什么）。", [])]
    assert dialog_of(app, demo.teacher) == ("cases", "note", {"case_id": case})
    # Nothing typed, or only blanks: asked again, still waiting for the note.
    for blank in ("", "   "):
        again = console.send(demo.teacher, blank, now=NOON)
        assert shown(again) == [("请简单写一下家访情况，或发送 /cancel。", [])]
        assert dialog_of(app, demo.teacher) == ("cases", "note", {"case_id": case})
    assert _events(app, case) == []
    logged = console.send(demo.teacher, "  见到爷爷,答应周一返校  ", now=NOON)
    assert [r.text for r in logged] == [
        "已记录：家访。",
        f"台账 #{case}：潘佳涵，红星小学 3年级1班\n"
        "原因：连续3个上课日缺勤。11月20日 周五建档。当前责任人：班主任。\n"
        "• 11月23日 12:00 家访: 见到爷爷,答应周一返校",
    ]
    assert len(logged[1].flat_buttons()) == 5
    assert dialog_of(app, demo.teacher) is None
    assert _events(app, case) == [(CaseEventKind.HOME_VISIT, demo.teacher, "见到爷爷,答应周一返校")]

    reasons = console.send(demo.teacher, payload=f"csa:{case}:not_dropout", now=NOON)
    assert shown(reasons) == [
        (
            "属于哪种情形？（不计为辍学）",
            [
                ("满6周岁仍在幼儿园就读或因身体原因申请延缓入学", f"csr:{case}:under_age_or_deferred"),
                ("年满15周岁或已初中毕业", f"csr:{case}:aged_or_graduated"),
                ("请假或休学", f"csr:{case}:on_leave_or_suspended"),
                ("重度残疾，安排送教上门", f"csr:{case}:home_teaching"),
                ("因身体原因不具备学习条件", f"csr:{case}:unable_to_study"),
                ("失踪失联", f"csr:{case}:missing"),
                ("有本地户籍但在异地就读", f"csr:{case}:studying_elsewhere"),
            ],
        )
    ]
    assert shown(console.send(demo.teacher, payload=f"csr:{case}:bogus", now=NOON)) == [
        ("这个按钮已失效。请发送 /help 重新开始。", [])
    ]
    closed = console.send(demo.teacher, payload=f"csr:{case}:missing", now=NOON)
    assert len(closed) == 2 and closed[0].text == "已记录：结案：不属于辍学。"
    assert closed[1].text.split("\n")[2:] == [
        "已结案。",
        "• 11月23日 12:00 结案：不属于辍学: 失踪失联",
        "• 11月23日 12:00 家访: 见到爷爷,答应周一返校",
    ]
    assert closed[1].buttons == []
    # A second reason button on the closed case changes nothing.
    assert shown(console.send(demo.teacher, payload=f"csr:{case}:missing", now=NOON)) == [
        ("这个台账已经结案。", [])
    ]
    assert shown(console.send(demo.teacher, payload=f"csr:{case}:missing", now=NOON, lang="en")) == [
        ("This case is already closed.", [])
    ]
    assert len(_events(app, case)) == 2


def test_prompts_in_english(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _, pupils = teacher_class(app, demo.teacher)
    case = add_case(app, pupils[0], assignee=demo.teacher)
    assert console.send(demo.teacher, payload=f"csa:{case}:home_visit", now=NOON, lang="en")[0].text == (
        "Type a short note about the home visit (who you met, what was agreed)."
    )
    assert console.send(demo.teacher, "", now=NOON, lang="en")[0].text == (
        "Please type a short note about the home visit, or /cancel."
    )
    assert console.send(demo.teacher, payload=f"csa:{case}:not_dropout", now=NOON, lang="en")[0].text == (
        "Which situation applies? (not counted as dropping out)"
    )
    assert console.send(demo.teacher, payload=f"csr:{case}:bogus", now=NOON, lang="en")[0].text == (
        "That button is not valid any more. Send /help to start again."
    )


def test_a_note_step_without_a_case_in_its_data_is_refused(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    """A dialog row that lost its case id (hand-edited, or written by an older version) must not log the
    note on some other case: here case #1, which the teacher may act on."""
    _, pupils = teacher_class(app, demo.teacher)
    case = add_case(app, pupils[0], assignee=demo.teacher)
    assert case == 1
    put_dialog(console, app, demo.teacher, "cases", "note", {}, NOON)
    refused = console.send(demo.teacher, "见到爷爷", now=NOON)
    assert shown(refused) == [("抱歉，您没有权限进行此操作。", [])]
    assert _events(app, case) == []
