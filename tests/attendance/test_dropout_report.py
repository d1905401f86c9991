"""A dropout report (辍学报告): the case stays open at the county level, its outcome is recorded, every
county admin of the case's region gets one queued message naming the pupil and the school (in the
admin's own language, with an "Open the case" button), the report is audited, and a repeated report
queues nothing new."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.cases import escalate_cases
from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, OutboxMessage, OutboxStatus, Priority, Region, Role, School, ScopeType
from db.models.attendance import CaseEvent, CaseEventKind, CaseLevel, CaseStatus, DropoutCase
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    at,
    identity_of,
    name_of,
    new_person,
    new_region,
    open_case,
    texts,
)

THURSDAY = MONDAY + timedelta(days=3)
NEXT_TUESDAY = MONDAY + timedelta(days=8)
REPORT_KIND = "attendance.dropout_report"
# The school's own time zone (not the default Asia/Shanghai), so the outbox row's tz is seen to be the school's.
SCHOOL_TZ = "Asia/Urumqi"


def _people(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A second county admin of the demo region (reading English), and the admin of another region."""
    with app.session_factory() as s:
        region = s.scalars(select(Region.id).where(Region.code == "linxia-demo")).one()
    other_region = new_region(app, "别县")
    second = new_person(app, "韩副局长", (Role.COUNTY_ADMIN, ScopeType.REGION, region), locale="en")
    outsider = new_person(app, "外县局长", (Role.COUNTY_ADMIN, ScopeType.REGION, other_region))
    return {"second": second, "outsider": outsider}


def _reports(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == REPORT_KIND)
                .order_by(OutboxMessage.person_id)
            )
        )


def _school_of(app: App, case_id: int) -> School:
    with app.session_factory() as s:
        case = s.get(DropoutCase, case_id)
        assert case is not None
        school = s.get(School, case.school_id)
        assert school is not None
        s.expunge(school)
        return school


def test_dropout_report_keeps_the_case_open_at_county_level_and_alerts_every_county_admin(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    extra = _people(app)
    for person_id in (demo.teacher, demo.principal, demo.admin, extra["second"], extra["outsider"]):
        console.external_id(person_id)
    case_id, pupil = open_case(console, app, demo.teacher)
    school = _school_of(app, case_id)
    assert school.name == "红星小学"
    with transaction(app.session_factory) as s:
        stored = s.get(School, school.id)
        assert stored is not None
        stored.timezone = SCHOOL_TZ
    card = console.send(demo.teacher, payload=f"cso:{case_id}", now=at(THURSDAY, 9))[-1]
    assert [(b.label, b.payload) for b in card.flat_buttons()][-1] == (
        "📋 辍学报告",
        f"csa:{case_id}:dropout_reported",
    )

    now = at(THURSDAY, 9, 5)
    replies = console.send(demo.teacher, payload=f"csa:{case_id}:dropout_reported", now=now)

    assert len(replies) == 2
    assert replies[0].text == "已记录：已作辍学报告。" and replies[0].buttons == []
    lines = replies[1].text.split("\n")
    assert lines[0] == f"台账 #{case_id}：{name_of(app, pupil)}，红星小学 3年级1班"
    assert lines[1].endswith("当前责任人：县教育局。")
    assert lines[2].endswith(" 已作辍学报告")  # the newest ledger line
    # Still open, so the actions are still offered.
    assert [b.payload for b in replies[1].flat_buttons()] == [
        f"csa:{case_id}:{act}"
        for act in ("contacted", "home_visit", "returned", "not_dropout", "dropout_reported")
    ]

    with app.session_factory() as s:
        case = s.get(DropoutCase, case_id)
        assert case is not None
        assert case.status == CaseStatus.OPEN
        assert case.level == CaseLevel.COUNTY
        assert int(case.level) == 2
        assert case.outcome == CaseEventKind.DROPOUT_REPORTED
        assert case.closed_at is None and case.not_dropout_reason is None
        assert case.last_activity_on == THURSDAY
        assert case.assignee_id == demo.teacher
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
        assert [e.kind for e in events] == [CaseEventKind.OPENED, CaseEventKind.DROPOUT_REPORTED]
        reported = events[-1]
        assert (reported.actor_id, reported.at, reported.level, reported.note) == (demo.teacher, now, 0, None)
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "attendance.case.dropout_reported")).one()
        assert audit.actor_person_id == demo.teacher
        assert audit.at == now
        assert audit.target == f"case:{case_id}"
        assert audit.details == {"reason": None}

    pupil_name = name_of(app, pupil)
    expected = {
        demo.admin: (
            f"📋 辍学报告：{pupil_name}，红星小学。学校继续劝返。",
            [[{"label": "打开台账", "payload": f"cso:{case_id}"}]],
        ),
        extra["second"]: (
            f"📋 Dropout report (辍学报告): {pupil_name}, 红星小学. The school keeps trying to bring the pupil back.",
            [[{"label": "Open the case", "payload": f"cso:{case_id}"}]],
        ),
    }
    rows = _reports(app)
    # Exactly the county admins of the case's region: not the principal, not another region's admin.
    assert sorted(row.person_id or 0 for row in rows) == sorted(expected)
    for row in rows:
        assert row.person_id is not None
        identity = identity_of(app, row.person_id)
        assert row.identity_id == identity
        assert row.channel == "console"
        assert row.kind == REPORT_KIND
        assert (row.text, row.buttons) == expected[row.person_id]
        assert row.dedupe_key == f"att.case:{case_id}:reported|{identity}"
        assert row.priority == int(Priority.URGENT)
        assert row.status == OutboxStatus.QUEUED and row.attempts == 0
        assert row.not_before == now and row.created_at == now
        assert (row.ref_type, row.ref_id) == ("dropout_case", case_id)
        assert row.tz == SCHOOL_TZ

    # Delivered to the admin's chat; its button opens the case, now with the county bureau.
    pushed = console.pushed(demo.admin, now=now + timedelta(minutes=1))
    report = [r for r in pushed if r.text.startswith("📋")]
    assert [(r.text, [(b.label, b.payload) for b in r.flat_buttons()]) for r in report] == [
        (f"📋 辍学报告：{pupil_name}，红星小学。学校继续劝返。", [("打开台账", f"cso:{case_id}")])
    ]
    opened = console.send(demo.admin, payload=f"cso:{case_id}", now=now + timedelta(minutes=2))
    assert opened[-1].text.split("\n")[0] == f"台账 #{case_id}：{pupil_name}，红星小学 3年级1班"
    assert "当前责任人：县教育局。" in opened[-1].text
    assert texts(console.pushed(demo.principal, now=now + timedelta(minutes=1))).count("辍学报告") == 0


def test_a_repeated_dropout_report_is_logged_but_queues_nothing_new_and_the_case_no_longer_escalates(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    console.external_id(demo.admin)
    case_id, _pupil = open_case(console, app, demo.teacher)
    first = console.send(demo.teacher, payload=f"csa:{case_id}:dropout_reported", now=at(THURSDAY, 9))
    assert texts(first).startswith("已记录：已作辍学报告。")
    assert [(row.person_id, row.dedupe_key) for row in _reports(app)] == [
        (demo.admin, f"att.case:{case_id}:reported|{identity_of(app, demo.admin)}")
    ]
    again = console.send(demo.teacher, payload=f"csa:{case_id}:dropout_reported", now=at(THURSDAY, 15))
    assert again[0].text == "已记录：已作辍学报告。"
    assert len(_reports(app)) == 1  # the same dedupe key: the bureau is not told twice
    with app.session_factory() as s:
        kinds = list(
            s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        )
        assert kinds == [CaseEventKind.OPENED, CaseEventKind.DROPOUT_REPORTED, CaseEventKind.DROPOUT_REPORTED]
        levels = list(
            s.scalars(select(CaseEvent.level).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        )
        assert levels == [0, 0, 2]  # the second report was made at the county level
        audits = s.scalars(
            select(AuditLog).where(AuditLog.action == "attendance.case.dropout_reported")
        ).all()
        assert len(audits) == 2
    # At the county level already: days of silence move it nowhere.
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, NEXT_TUESDAY, at(NEXT_TUESDAY, 8)) == 0
    with app.session_factory() as s:
        case = s.get(DropoutCase, case_id)
        assert case is not None
        assert (case.status, case.level, case.outcome) == (
            CaseStatus.OPEN,
            CaseLevel.COUNTY,
            CaseEventKind.DROPOUT_REPORTED,
        )


def test_a_principal_can_report_and_the_bureau_is_told_even_without_escalation(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    console.external_id(demo.admin)
    case_id, pupil = open_case(console, app, demo.teacher)
    now = at(THURSDAY, 11)
    replies = console.send(demo.principal, payload=f"csa:{case_id}:dropout_reported", now=now)
    assert replies[0].text == "已记录：已作辍学报告。"
    with app.session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "attendance.case.dropout_reported")).one()
        assert (audit.actor_person_id, audit.target) == (demo.principal, f"case:{case_id}")
        event = s.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.DROPOUT_REPORTED
            )
        ).one()
        assert event.actor_id == demo.principal
    rows = _reports(app)
    assert [(r.person_id, r.text, r.tz) for r in rows] == [
        (demo.admin, f"📋 辍学报告：{name_of(app, pupil)}，红星小学。学校继续劝返。", "Asia/Shanghai")
    ]
