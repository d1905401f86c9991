"""Escalation of silent dropout-risk cases (双线三级): class teacher → principal → county bureau.

Pinned on cases written straight into the database: which cases move (open, below the county,
silent for the region's number of school days), the ledger line, the new assignee, and the exact
queued alert (kind, dedupe key, reference, the school's time zone, text and button).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, select

from chatbot.app import App
from chatbot.attendance.cases import escalate_cases, people_with_role
from chatbot.channels.console import ConsoleChannel
from db.models import Membership, OutboxStatus, Priority, Region, Role, School, ScopeType
from db.models.attendance import CaseEventKind, CaseStatus, CaseTrigger, DropoutCase
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    add_case,
    at,
    case_events,
    identity_of,
    name_of,
    new_person,
    outbox_rows,
    teacher_class,
)

WEDNESDAY, THURSDAY, FRIDAY = (MONDAY + timedelta(days=n) for n in (2, 3, 4))
RATE_DETAIL = {"days": 20, "absent": 5, "percent": 25, "tier": 2}


def _school_ids(app: App) -> tuple[int, int, int]:
    """(红星小学, the junior school, their region)."""
    with app.session_factory() as s:
        schools = list(s.scalars(select(School).order_by(School.id)))
        return schools[0].id, schools[1].id, schools[0].region_id


# A case opened on Monday whose last action was on Wednesday.
_add_case = partial(add_case, last=WEDNESDAY)


def _noise(app: App) -> list[int]:
    """Memberships that share a role or a scope id with the ones escalation looks for, but not both."""
    school_a, _school_b, region_id = _school_ids(app)
    return [
        new_person(app, "某老师", (Role.TEACHER, ScopeType.SCHOOL, school_a)),
        new_person(app, "某校长", (Role.PRINCIPAL, ScopeType.REGION, school_a)),
        new_person(app, "某局长", (Role.COUNTY_ADMIN, ScopeType.SCHOOL, region_id)),
    ]


def _cases(app: App) -> dict[int, tuple[Any, ...]]:
    with app.session_factory() as s:
        return {
            c.id: (c.status, c.level, c.assignee_id, c.last_activity_on)
            for c in s.scalars(select(DropoutCase).order_by(DropoutCase.id))
        }


def _events(app: App) -> list[tuple[Any, ...]]:
    return case_events(app, ("case_id", "at", "actor_id", "kind", "level", "note"))


def test_silent_cases_move_one_level_up_and_alert_the_new_level(  # type: ignore[no-untyped-def]
    app: App, console: ConsoleChannel, demo
) -> None:
    noise = _noise(app)
    for person_id in (demo.teacher, demo.principal, demo.admin, *noise):
        console.external_id(person_id)
    school_a, _school_b, _region = _school_ids(app)
    with transaction(app.session_factory) as s:
        school = s.get(School, school_a)
        assert school is not None
        school.timezone = "Asia/Urumqi"
    _class_id, pupils = teacher_class(app, demo.teacher)
    a, b, c, d = pupils[2:6]
    at_teacher = _add_case(app, a, level=0, assignee=demo.teacher)
    closed = _add_case(app, b, level=0, assignee=demo.teacher, status=CaseStatus.CLOSED)
    at_county = _add_case(app, c, level=2, assignee=demo.admin)
    at_principal = _add_case(
        app, d, level=1, assignee=demo.principal, trigger=CaseTrigger.RATE, detail=RATE_DETAIL
    )
    before = _cases(app)

    now = at(FRIDAY, 8)
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, FRIDAY, now) == 2  # Thursday and Friday without an action

    assert _cases(app) == {
        at_teacher: (CaseStatus.OPEN, 1, demo.principal, FRIDAY),
        closed: before[closed],
        at_county: before[at_county],
        at_principal: (CaseStatus.OPEN, 2, demo.admin, FRIDAY),
    }
    assert _events(app) == [
        (at_teacher, now, None, CaseEventKind.ESCALATED, 1, None),
        (at_principal, now, None, CaseEventKind.ESCALATED, 2, None),
    ]
    principal, admin = identity_of(app, demo.principal), identity_of(app, demo.admin)
    common = ("console", "attendance.escalation")
    assert outbox_rows(app) == [
        (
            demo.principal,
            principal,
            *common,
            f"att.case:{at_teacher}:level1|{principal}",
            "dropout_case",
            at_teacher,
            "Asia/Urumqi",
            int(Priority.URGENT),
            OutboxStatus.QUEUED,
            now,
            f"🔺 已上报校长：{name_of(app, a)}（红星小学）辍学风险，连续3个上课日缺勤。未按时记录处理情况。",
            [[{"label": "打开台账", "payload": f"cso:{at_teacher}"}]],
        ),
        (
            demo.admin,
            admin,
            *common,
            f"att.case:{at_principal}:level2|{admin}",
            "dropout_case",
            at_principal,
            "Asia/Urumqi",
            int(Priority.URGENT),
            OutboxStatus.QUEUED,
            now,
            f"🔺 已上报县教育局：{name_of(app, d)}（红星小学）辍学风险，最近20个上课日缺勤率25%。未按时记录处理情况。",
            [[{"label": "打开台账", "payload": f"cso:{at_principal}"}]],
        ),
    ]
    # The same day again moves nothing and queues nothing.
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, FRIDAY, at(FRIDAY, 9)) == 0
    assert len(outbox_rows(app)) == 2 and len(_events(app)) == 2


def test_the_region_sets_how_many_silent_school_days_escalate(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _school_a, _school_b, region_id = _school_ids(app)
    with transaction(app.session_factory) as s:
        region = s.get(Region, region_id)
        assert region is not None
        region.settings = {"attendance": {"escalate_after": 1}}
    _class_id, pupils = teacher_class(app, demo.teacher)
    case_id = _add_case(app, pupils[2], level=0, assignee=demo.teacher)
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, WEDNESDAY, at(WEDNESDAY, 18)) == 0  # the day of the last action
        assert escalate_cases(s, THURSDAY, at(THURSDAY, 8)) == 1  # one silent school day is enough
    assert _cases(app)[case_id] == (CaseStatus.OPEN, 1, demo.principal, THURSDAY)


def test_a_school_without_principal_still_escalates_and_keeps_the_assignee(  # type: ignore[no-untyped-def]
    app: App, console: ConsoleChannel, demo
) -> None:
    console.external_id(demo.teacher)
    school_a, _school_b, _region = _school_ids(app)
    with transaction(app.session_factory) as s:
        s.execute(
            delete(Membership).where(
                Membership.role == Role.PRINCIPAL,
                Membership.scope_type == ScopeType.SCHOOL,
                Membership.scope_id == school_a,
            )
        )
    _class_id, pupils = teacher_class(app, demo.teacher)
    case_id = _add_case(app, pupils[2], level=0, assignee=demo.teacher)
    now = at(FRIDAY, 8)
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, FRIDAY, now) == 1
    assert _cases(app)[case_id] == (CaseStatus.OPEN, 1, demo.teacher, FRIDAY)
    assert _events(app) == [(case_id, now, None, CaseEventKind.ESCALATED, 1, None)]
    assert outbox_rows(app) == []


def test_people_with_role_matches_role_scope_type_and_scope_id_across_chunks(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _noise(app)
    school_a, school_b, region_id = _school_ids(app)
    with app.session_factory() as s:
        principal_b = s.scalars(
            select(Membership.person_id).where(
                Membership.role == Role.PRINCIPAL,
                Membership.scope_type == ScopeType.SCHOOL,
                Membership.scope_id == school_b,
            )
        ).one()
        # 901 scope ids (two chunks of the IN list), the schools' ids among them, one repeated.
        scope_ids = [*range(1, 902), school_a]
        assert dict(people_with_role(s, Role.PRINCIPAL, ScopeType.SCHOOL, scope_ids)) == {
            school_a: [demo.principal],
            school_b: [principal_b],
        }
        assert dict(people_with_role(s, Role.COUNTY_ADMIN, ScopeType.REGION, [region_id])) == {
            region_id: [demo.admin]
        }
        assert dict(people_with_role(s, Role.PRINCIPAL, ScopeType.SCHOOL, [])) == {}
