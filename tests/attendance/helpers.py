"""Shared helpers for the attendance tests: demo lookups, rows read back or written straight into the
database, the console chat's state, and the clock of the demo week."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.close import close_day
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from db.models import (
    AuditLog,
    ChannelIdentity,
    DialogState,
    Guardian,
    Membership,
    OutboxMessage,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Student,
)
from db.models.attendance import (
    AttendanceRecord,
    CaseEvent,
    CaseEventKind,
    CaseLevel,
    CaseStatus,
    CaseTrigger,
    DropoutCase,
    Mark,
    MarkSource,
    RollCall,
)
from db.session import transaction

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026 in Shanghai (UTC+8): 08:00 is before the 10:00 cutoff, 10:30 after it.
MONDAY = date(2026, 11, 23)
# Every column of an outbox row that the case alerts are compared by, in the order outbox_rows gives them.
OUTBOX_COLUMNS = (
    "person_id",
    "identity_id",
    "channel",
    "kind",
    "dedupe_key",
    "ref_type",
    "ref_id",
    "tz",
    "priority",
    "status",
    "not_before",
    "text",
    "buttons",
)
# The keys every outbox_dicts row has; "ref" is the pair (ref_type, ref_id).
OUTBOX_KEYS = (
    "identity_id",
    "person_id",
    "kind",
    "text",
    "buttons",
    "priority",
    "not_before",
    "dedupe_key",
    "ref",
    "tz",
)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def texts(replies: list[Reply]) -> str:
    """The replies' texts, one after another on their own lines."""
    return "\n".join(r.text for r in replies)


def teacher_class(app: App, teacher_id: int) -> tuple[int, list[int]]:
    """The demo teacher's class id and its pupils' ids in roll order."""
    with app.session_factory() as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.class_teacher_id == teacher_id)).one()
        pupils = list(
            s.scalars(
                select(Student.id)
                .where(Student.class_id == klass.id)
                .order_by(Student.student_no, Student.id)
            )
        )
        return klass.id, pupils


def guardian_of(app: App, student_id: int) -> int:
    """The person id of one guardian of the pupil."""
    with app.session_factory() as s:
        return s.scalars(select(Guardian.person_id).where(Guardian.student_id == student_id)).first()  # type: ignore[return-value]


def name_of(app: App, student_id: int) -> str:
    """The pupil's name."""
    with app.session_factory() as s:
        student = s.get(Student, student_id)
        assert student is not None
        return student.name


def phone_of(app: App, person_id: int) -> str | None:
    """The person's phone number, if any."""
    with app.session_factory() as s:
        person = s.get(Person, person_id)
        assert person is not None
        return person.phone


# --- the console chat --------------------------------------------------------------------------


def identity_of(app: App, person_id: int) -> int:
    """The id of the person's console account (which must exist already)."""
    with app.session_factory() as s:
        found: int = s.scalars(
            select(ChannelIdentity.id).where(
                ChannelIdentity.person_id == person_id, ChannelIdentity.channel == "console"
            )
        ).one()
        return found


def dialog_of(app: App, person_id: int) -> tuple[str, str, dict[str, Any]] | None:
    """The (flow, state, data) the person's console chat is in, None when no dialog is open."""
    with app.session_factory() as s:
        row = s.execute(
            select(DialogState.flow, DialogState.state, DialogState.data)
            .join(ChannelIdentity, ChannelIdentity.id == DialogState.identity_id)
            .where(ChannelIdentity.channel == "console", ChannelIdentity.external_id == f"person-{person_id}")
        ).first()
        return (row[0], row[1], row[2]) if row else None


def put_dialog(
    console: ConsoleChannel,
    app: App,
    person_id: int,
    flow: str,
    state: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Write the person's open console dialog straight into the database, as a hand-edited row would be."""
    console.external_id(person_id)
    identity_id = identity_of(app, person_id)
    with transaction(app.session_factory) as s:
        s.add(DialogState(identity_id=identity_id, flow=flow, state=state, data=data, updated_at=now))


def buttons_of(reply: Reply) -> list[tuple[str, str]]:
    """A reply's buttons as (label, payload), row breaks dropped."""
    return [(b.label, b.payload) for b in reply.flat_buttons()]


def button_rows(reply: Reply) -> list[list[tuple[str, str]]]:
    """A reply's buttons as (label, payload), row by row."""
    return [[(b.label, b.payload) for b in row] for row in reply.buttons]


def shown(replies: list[Reply]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each reply as its text and its buttons (label, payload), row breaks dropped."""
    return [(r.text, buttons_of(r)) for r in replies]


def cli_environment(app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment of `bot.py` run in-process: the test database, and nothing from the checkout."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    for name in ("TIMEZONE", "DEFAULT_LOCALE", "LOG_FILE", "TELEGRAM_TOKEN", "WECHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


# --- rows read back ----------------------------------------------------------------------------


def _outbox_value(row: OutboxMessage, column: str) -> Any:
    return (row.ref_type, row.ref_id) if column == "ref" else getattr(row, column)


def outbox_rows(app: App, columns: Sequence[str] = OUTBOX_COLUMNS) -> list[tuple[Any, ...]]:
    """Every outbox row, oldest first, as the tuple of its `columns`."""
    with app.session_factory() as s:
        return [
            tuple(_outbox_value(r, c) for c in columns)
            for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def outbox_dicts(app: App, *extra: str) -> list[dict[str, Any]]:
    """Every outbox row, oldest first, as a dict of OUTBOX_KEYS and the `extra` columns."""
    keys = (*OUTBOX_KEYS, *extra)
    with app.session_factory() as s:
        return [
            {key: _outbox_value(r, key) for key in keys}
            for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def audit_rows(app: App, prefix: str | None = None) -> list[tuple[Any, ...]]:
    """(at, actor, action, target, details) of the audit rows, oldest first; only actions starting with `prefix`."""
    query = select(AuditLog).order_by(AuditLog.id)
    if prefix is not None:
        query = query.where(AuditLog.action.like(f"{prefix}%"))
    with app.session_factory() as s:
        return [(a.at, a.actor_person_id, a.action, a.target, a.details) for a in s.scalars(query)]


def case_events(app: App, columns: Sequence[str], case_id: int | None = None) -> list[tuple[Any, ...]]:
    """The ledger lines (of one case, when `case_id` is given), oldest first, as the tuple of their `columns`."""
    query = select(CaseEvent).order_by(CaseEvent.id)
    if case_id is not None:
        query = query.where(CaseEvent.case_id == case_id)
    with app.session_factory() as s:
        return [tuple(getattr(e, c) for c in columns) for e in s.scalars(query)]


def pupils_of(app: App, class_id: int, *, active_only: bool = False) -> list[tuple[int, str]]:
    """(id, name) of the class's pupils (only the active ones, if so asked) in roll order."""
    query = select(Student.id, Student.name).where(Student.class_id == class_id)
    if active_only:
        query = query.where(Student.active.is_(True))
    with app.session_factory() as s:
        return [(row[0], row[1]) for row in s.execute(query.order_by(Student.student_no, Student.id))]


def recorded_marks(app: App) -> dict[int, Mark]:
    """The mark of every attendance record, by pupil id."""
    with app.session_factory() as s:
        return dict(s.execute(select(AttendanceRecord.student_id, AttendanceRecord.status)).all())


# --- rows written straight into the database ---------------------------------------------------


def new_person(app: App, name: str, *memberships: tuple[Role, ScopeType, int], **fields: Any) -> int:
    """A new person (created on MONDAY at 07:00 unless `fields` say otherwise) holding the given
    (role, scope type, scope id)s."""
    with transaction(app.session_factory) as s:
        person = Person(**{"name": name, "created_at": at(MONDAY, 7), **fields})
        s.add(person)
        s.flush()
        for role, scope_type, scope_id in memberships:
            s.add(Membership(person_id=person.id, role=role, scope_type=scope_type, scope_id=scope_id))
        return person.id


def new_region(app: App, name: str) -> int:
    """A second region (county, code "other-county") besides the demo one, in Shanghai time."""
    with transaction(app.session_factory) as s:
        region = Region(code="other-county", name=name, timezone="Asia/Shanghai", settings={})
        s.add(region)
        s.flush()
        return region.id


def grant(app: App, person_id: int, role: Role, scope_type: ScopeType, scope_id: int) -> None:
    """One more membership for an existing person."""
    with transaction(app.session_factory) as s:
        s.add(Membership(person_id=person_id, role=role, scope_type=scope_type, scope_id=scope_id))


def subject_teacher(app: App, class_id: int) -> int:
    """A new teacher of the class who is not its class teacher."""
    return new_person(app, "赵老师", (Role.TEACHER, ScopeType.CLASS, class_id))


def add_rollcalls(app: App, class_id: int, days: Iterable[date]) -> None:
    """Roll-calls of the class submitted at 08:00 on `days`, oldest first (as a school year fills the table)."""
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        for day in sorted(days):
            s.add(RollCall(class_id=class_id, school_id=klass.school_id, day=day, submitted_at=at(day, 8)))


def add_marks(
    app: App,
    student_id: int,
    days: Iterable[date],
    status: Mark = Mark.ABSENT,
    closed_through: date | None = None,
) -> None:
    """Roll-call records of one pupil at 08:00 on `days`; those up to `closed_through` (not late ones)
    count as processed by that day's close at 10:30."""
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        for day in sorted(days):
            closed = closed_through is not None and day <= closed_through and status != Mark.LATE
            s.add(
                AttendanceRecord(
                    student_id=student_id,
                    class_id=student.class_id,
                    school_id=student.school_id,
                    day=day,
                    status=status,
                    source=MarkSource.ROLLCALL,
                    at=at(day, 8),
                    alerted_at=at(day, 10, 30) if closed else None,
                )
            )


def absence(pupil: Student, day: date, reported_by: int | None, hour: int = 8) -> AttendanceRecord:
    """An unexplained absence of the pupil in their class, taken by roll-call at `hour` on `day` (not added yet)."""
    return AttendanceRecord(
        student_id=pupil.id,
        class_id=pupil.class_id,
        school_id=pupil.school_id,
        day=day,
        status=Mark.ABSENT,
        source=MarkSource.ROLLCALL,
        reported_by=reported_by,
        at=at(day, hour),
    )


def add_case(
    app: App,
    student_id: int,
    *,
    status: CaseStatus = CaseStatus.OPEN,
    level: int = 0,
    assignee: int | None = None,
    trigger: CaseTrigger = CaseTrigger.CONSECUTIVE,
    detail: dict[str, Any] | None = None,
    opened_on: date = MONDAY,
    last: date | None = None,
    closed_as: CaseEventKind | None = CaseEventKind.RETURNED,
) -> int:
    """A dropout case of the pupil's class, opened at 10:30 on `opened_on` and last touched on `last`
    (by default the same day); a closed one was closed `closed_as` at 09:00 on `last` (None: no outcome)."""
    last = opened_on if last is None else last
    closed = status == CaseStatus.CLOSED and closed_as is not None
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        school = s.get(School, student.school_id)
        assert school is not None
        case = DropoutCase(
            student_id=student_id,
            class_id=student.class_id,
            school_id=student.school_id,
            region_id=school.region_id,
            trigger=trigger,
            detail={"days": 3} if detail is None else detail,
            status=status,
            level=level,
            assignee_id=assignee,
            opened_on=opened_on,
            opened_at=at(opened_on, 10, 30),
            last_activity_on=last,
            closed_at=at(last, 9) if closed else None,
            outcome=closed_as if closed else None,
        )
        s.add(case)
        s.flush()
        return case.id


def absent_three_days(console: ConsoleChannel, app: App, teacher: int) -> int:
    """Mark roll number 3 absent Monday to Wednesday by quick text, closing each day. → the pupil's id."""
    for day in (MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)):
        reply = console.send(teacher, "缺 3", now=at(day, 8))
        assert "3." in texts(reply)
        with transaction(app.session_factory) as s:
            close_day(s, day, at(day, 10, 30))
    return teacher_class(app, teacher)[1][2]


def open_case(console: ConsoleChannel, app: App, teacher: int) -> tuple[int, int]:
    """Roll number 3 absent Monday to Wednesday, each day closed: a case is open. → (case id, pupil id)."""
    pupil = absent_three_days(console, app, teacher)
    with app.session_factory() as s:
        case = s.scalars(select(DropoutCase).where(DropoutCase.student_id == pupil)).one()
        assert case.status == CaseStatus.OPEN and case.level == CaseLevel.CLASS_TEACHER
        return case.id, pupil


def rename(app: App, student_ids: list[int], name: str) -> None:
    """Give the pupils the same name (to make a name ambiguous)."""
    with transaction(app.session_factory) as s:
        for student_id in student_ids:
            student = s.get(Student, student_id)
            assert student is not None
            student.name = name


def grow_class(app: App, class_id: int, total: int, number_prefix: str) -> None:
    """Add new active pupils 新生N at the end of the roll (student number prefix + N) until the class has `total`."""
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        have = len(s.scalars(select(Student.id).where(Student.class_id == class_id)).all())
        for number in range(have + 1, total + 1):
            s.add(
                Student(
                    school_id=klass.school_id,
                    class_id=class_id,
                    student_no=f"{number_prefix}{number:02d}",
                    name=f"新生{number}",
                    household=[],
                    active=True,
                )
            )
