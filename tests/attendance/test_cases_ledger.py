"""The 劝返 ledger (`act_on_case`): each action's ledger line, the case's new state, the audit row,
and for a dropout report the county bureau's alert; closed cases and reason-less closures are refused."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest

from chatbot.app import App
from chatbot.attendance.cases import CaseClosed, act_on_case
from chatbot.channels.console import ConsoleChannel
from db.models import OutboxStatus, Person, Priority, School, Student
from db.models.attendance import CaseEventKind, CaseStatus, DropoutCase, NotDropoutReason
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    OUTBOX_COLUMNS,
    add_case,
    at,
    audit_rows,
    case_events,
    identity_of,
    outbox_rows,
    teacher_class,
)

WEDNESDAY, THURSDAY = MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)


# A case opened on Monday whose last action was on Wednesday.
_add_case = partial(add_case, last=WEDNESDAY)
# Every column of a case alert but its channel.
_outbox = partial(outbox_rows, columns=[c for c in OUTBOX_COLUMNS if c != "channel"])


def _act(
    app: App,
    case_id: int,
    actor_id: int,
    kind: CaseEventKind,
    now: datetime,
    note: str | None = None,
    reason: NotDropoutReason | None = None,
) -> tuple[Any, ...]:
    with transaction(app.session_factory) as s:
        case = s.get(DropoutCase, case_id)
        actor = s.get(Person, actor_id)
        assert case is not None and actor is not None
        event = act_on_case(s, case, actor, kind, now, now.date(), note=note, reason=reason)
        return (event.case_id, event.at, event.actor_id, event.kind, event.note, event.level)


def _case(app: App, case_id: int) -> tuple[Any, ...]:
    with app.session_factory() as s:
        c = s.get(DropoutCase, case_id)
        assert c is not None
        return (
            c.status,
            c.level,
            c.assignee_id,
            c.last_activity_on,
            c.closed_at,
            c.outcome,
            c.not_dropout_reason,
        )


def _events(app: App, case_id: int) -> list[tuple[Any, ...]]:
    return case_events(app, ("case_id", "at", "actor_id", "kind", "note", "level"), case_id)


def test_contact_and_visit_are_logged_at_the_case_level_and_keep_it_open(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _class_id, pupils = teacher_class(app, demo.teacher)
    case_id = _add_case(app, pupils[2], level=1, assignee=demo.principal)  # with the principal
    first, second = at(THURSDAY, 9), at(THURSDAY, 15)

    assert _act(app, case_id, demo.principal, CaseEventKind.CONTACTED, first, note="见到奶奶") == (
        case_id,
        first,
        demo.principal,
        CaseEventKind.CONTACTED,
        "见到奶奶",
        1,
    )
    assert _act(app, case_id, demo.teacher, CaseEventKind.HOME_VISIT, second) == (
        case_id,
        second,
        demo.teacher,
        CaseEventKind.HOME_VISIT,
        None,
        1,
    )
    assert _events(app, case_id) == [
        (case_id, first, demo.principal, CaseEventKind.CONTACTED, "见到奶奶", 1),
        (case_id, second, demo.teacher, CaseEventKind.HOME_VISIT, None, 1),
    ]
    assert _case(app, case_id) == (CaseStatus.OPEN, 1, demo.principal, THURSDAY, None, None, None)
    assert audit_rows(app, "attendance.case.") == [
        (first, demo.principal, "attendance.case.contacted", f"case:{case_id}", {"reason": None}),
        (second, demo.teacher, "attendance.case.home_visit", f"case:{case_id}", {"reason": None}),
    ]
    assert _outbox(app) == []


def test_a_reason_or_a_return_closes_the_case(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _class_id, pupils = teacher_class(app, demo.teacher)
    by_reason, with_note, returned = (_add_case(app, p, level=0, assignee=demo.teacher) for p in pupils[2:5])
    now = at(THURSDAY, 16)
    elsewhere = NotDropoutReason.STUDYING_ELSEWHERE

    _act(app, by_reason, demo.teacher, CaseEventKind.NOT_DROPOUT, now, reason=elsewhere)
    _act(app, with_note, demo.teacher, CaseEventKind.NOT_DROPOUT, now, note="转学到县城", reason=elsewhere)
    _act(app, returned, demo.teacher, CaseEventKind.RETURNED, now)

    assert _events(app, by_reason) == [
        (by_reason, now, demo.teacher, CaseEventKind.NOT_DROPOUT, "studying_elsewhere", 0)
    ]
    assert _events(app, with_note) == [
        (with_note, now, demo.teacher, CaseEventKind.NOT_DROPOUT, "转学到县城", 0)
    ]
    assert _events(app, returned) == [(returned, now, demo.teacher, CaseEventKind.RETURNED, None, 0)]
    closed = (CaseStatus.CLOSED, 0, demo.teacher, THURSDAY, now)
    assert _case(app, by_reason) == (*closed, CaseEventKind.NOT_DROPOUT, elsewhere)
    assert _case(app, with_note) == (*closed, CaseEventKind.NOT_DROPOUT, elsewhere)
    assert _case(app, returned) == (*closed, CaseEventKind.RETURNED, None)
    assert audit_rows(app, "attendance.case.") == [
        (
            now,
            demo.teacher,
            "attendance.case.not_dropout",
            f"case:{by_reason}",
            {"reason": "studying_elsewhere"},
        ),
        (
            now,
            demo.teacher,
            "attendance.case.not_dropout",
            f"case:{with_note}",
            {"reason": "studying_elsewhere"},
        ),
        (now, demo.teacher, "attendance.case.returned", f"case:{returned}", {"reason": None}),
    ]

    # A closed case takes no further action, and says which case it was.
    with transaction(app.session_factory) as s:
        case = s.get(DropoutCase, returned)
        actor = s.get(Person, demo.teacher)
        assert case is not None and actor is not None
        with pytest.raises(CaseClosed) as refused:
            act_on_case(s, case, actor, CaseEventKind.CONTACTED, now, THURSDAY)
    assert refused.value.args == (returned,)
    assert len(_events(app, returned)) == 1


def test_a_not_a_dropout_closure_without_a_reason_is_refused(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _class_id, pupils = teacher_class(app, demo.teacher)
    case_id = _add_case(app, pupils[2], level=0, assignee=demo.teacher)
    with transaction(app.session_factory) as s:
        case = s.get(DropoutCase, case_id)
        actor = s.get(Person, demo.teacher)
        assert case is not None and actor is not None
        message = "a not-a-dropout closure needs one of the seven reasons"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            act_on_case(s, case, actor, CaseEventKind.NOT_DROPOUT, at(THURSDAY, 9), THURSDAY, note="x")
    assert _events(app, case_id) == []
    assert _case(app, case_id)[0] == CaseStatus.OPEN


def test_a_dropout_report_moves_the_case_to_the_county_and_alerts_the_bureau(  # type: ignore[no-untyped-def]
    app: App, console: ConsoleChannel, demo
) -> None:
    console.external_id(demo.admin)
    console.external_id(demo.principal)
    _class_id, pupils = teacher_class(app, demo.teacher)
    case_id = _add_case(app, pupils[2], level=0, assignee=demo.teacher)
    with transaction(app.session_factory) as s:
        student = s.get(Student, pupils[2])
        assert student is not None
        pupil = student.name
        school = s.get(School, student.school_id)
        assert school is not None
        school.timezone = "Asia/Urumqi"
    now = at(THURSDAY, 11)

    _act(app, case_id, demo.teacher, CaseEventKind.DROPOUT_REPORTED, now)

    assert _events(app, case_id) == [(case_id, now, demo.teacher, CaseEventKind.DROPOUT_REPORTED, None, 0)]
    assert _case(app, case_id) == (
        CaseStatus.OPEN,
        2,
        demo.teacher,
        THURSDAY,
        None,
        CaseEventKind.DROPOUT_REPORTED,
        None,
    )
    assert audit_rows(app, "attendance.case.") == [
        (now, demo.teacher, "attendance.case.dropout_reported", f"case:{case_id}", {"reason": None})
    ]
    identity = identity_of(app, demo.admin)
    assert _outbox(app) == [
        (
            demo.admin,
            identity,
            "attendance.dropout_report",
            f"att.case:{case_id}:reported|{identity}",
            "dropout_case",
            case_id,
            "Asia/Urumqi",
            int(Priority.URGENT),
            OutboxStatus.QUEUED,
            now,
            f"📋 辍学报告：{pupil}，红星小学。学校继续劝返。",
            [[{"label": "打开台账", "payload": f"cso:{case_id}"}]],
        )
    ]
