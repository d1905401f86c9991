"""The daily close at each school's roll-call cutoff, and the nudge half an hour before it.

Everything here is set-based: a handful of queries per run whatever the number of pupils, and
bulk outbox inserts. Reruns are idempotent: absences carry `alerted_at`, and every message has a
dedupe key, so a second run for the same day queues nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from chatbot.attendance.cases import SchoolRow, open_cases, people_with_role
from chatbot.attendance.close_absences import Absence, guardians_of, warn_about_absences
from chatbot.attendance.close_messages import missing_list, nudge
from chatbot.attendance.notify import Outgoing, enqueue_many
from chatbot.attendance.rules import ABSENCE_MARKS, DEFAULT_CUTOFF
from chatbot.calendar.service import load_calendars
from db.models import Region, Role, School, SchoolClass, ScopeType, Student
from db.models.attendance import AttendanceRecord, Mark, RollCall
from db.models.delivery import Priority
from db.sql import chunks, school_groups, within

NUDGE_BEFORE = timedelta(minutes=30)


@dataclass(frozen=True)
class CloseSummary:
    day: date
    schools_closed: int = 0
    schools_skipped: int = 0  # not a school day, or the cutoff has not passed yet
    classes_missing: int = 0
    absences_alerted: int = 0
    teacher_alerts: int = 0
    guardian_questions: int = 0
    principal_notices: int = 0
    cases_opened: int = 0
    messages_queued: int = 0


def _school_rows(session: Session, school_ids: Sequence[int] | None) -> list[tuple[School, SchoolRow]]:
    query = select(School, Region.timezone, Region.settings).join(Region, Region.id == School.region_id)
    if school_ids is not None:
        query = query.where(School.id.in_(list(school_ids)))
    return [
        (school, SchoolRow(school.id, school.region_id, school.timezone or region_tz, settings or {}))
        for school, region_tz, settings in session.execute(query.order_by(School.id))
    ]


def _cutoff(school: School, tz: str, day: date) -> datetime:
    return datetime.combine(day, school.rollcall_cutoff or DEFAULT_CUTOFF, tzinfo=ZoneInfo(tz))


@dataclass(frozen=True)
class _DueSchools:
    """The schools a close covers: their rows, names and time zones, and the scope of its queries."""

    rows: list[SchoolRow]
    names: dict[int, str]
    tz_of: dict[int, str]
    skipped: int
    scope: list[int] | None  # None: every school, queries filter by day only (no list of 1,500 ids)


class _MissingClass(NamedTuple):
    school_id: int
    grade: int
    name: str


def close_day(
    session: Session, day: date, now: datetime, school_ids: Sequence[int] | None = None
) -> CloseSummary:
    """Close `day` for every school (or those in `school_ids`) whose cutoff has passed at `now`.

    Tells principals which classes have no roll-call, alerts each class teacher once per class
    about unexplained absences (with a contact button per guardian), asks each guardian why, and
    opens dropout-risk cases. Runs in the caller's transaction; safe to run again.
    """
    due = _schools_due(session, day, now, school_ids)
    if not due.rows:
        return CloseSummary(day=day, schools_skipped=due.skipped)
    missing = _classes_without_rollcall(session, due.scope, day)
    notices = _tell_principals(session, due, day, missing)
    absences = _unexplained_absences(session, due.scope, day)
    warned = warn_about_absences(due.names, due.tz_of, day, absences, guardians_of(session, absences))
    # Dropout-risk triggers look at the day's absences no close has processed yet: before marking them.
    case_alerts = open_cases(session, due.rows, day, now, every_school=due.scope is None)
    _mark_processed(session, due.scope, day, now)
    queued = enqueue_many(session, [*notices, *warned.messages, *case_alerts], now)
    return CloseSummary(
        day=day,
        schools_closed=len(due.rows),
        schools_skipped=due.skipped,
        classes_missing=sum(len(v) for v in missing.values()),
        absences_alerted=len(absences),
        teacher_alerts=warned.teacher_alerts,
        guardian_questions=warned.guardian_questions,
        principal_notices=len(notices),
        cases_opened=len(case_alerts),
        messages_queued=queued,
    )


def _schools_due(session: Session, day: date, now: datetime, school_ids: Sequence[int] | None) -> _DueSchools:
    """Find the schools whose cutoff has passed at `now` on a school day; the others are skipped."""
    eligible: list[SchoolRow] = []
    names: dict[int, str] = {}
    skipped = 0
    school_rows = _school_rows(session, school_ids)
    # One calendar query for every school (the calendar domain's batch form of is_school_day).
    calendars = load_calendars(session, [school for school, _row in school_rows])
    for school, row in school_rows:
        if now >= _cutoff(school, row.tz, day) and calendars[school.id].is_school_day(day):
            eligible.append(row)
            names[row.id] = school.name
        else:
            skipped += 1
    return _DueSchools(
        rows=eligible,
        names=names,
        tz_of={s.id: s.tz for s in eligible},
        skipped=skipped,
        scope=None if school_ids is None and not skipped else [s.id for s in eligible],
    )


def _classes_without_rollcall(
    session: Session, scope: list[int] | None, day: date
) -> dict[int, list[tuple[int, str]]]:
    """Find the classes with no roll-call on `day`: school → [(grade, name)] in grade order."""
    missing: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for group in school_groups(scope):
        for row in session.execute(
            select(
                SchoolClass.school_id.label("school_id"),
                SchoolClass.grade.label("grade"),
                SchoolClass.name.label("name"),
            )
            .outerjoin(RollCall, and_(RollCall.class_id == SchoolClass.id, RollCall.day == day))
            .where(within(SchoolClass.school_id, group), RollCall.id.is_(None))
            .order_by(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name)
        ):
            klass = _MissingClass(**row._mapping)
            missing[klass.school_id].append((klass.grade, klass.name))
    return missing


def _tell_principals(
    session: Session, due: _DueSchools, day: date, missing: dict[int, list[tuple[int, str]]]
) -> list[Outgoing]:
    """Tell each school's principals which of its classes have no roll-call: one list per school."""
    principals = people_with_role(session, Role.PRINCIPAL, ScopeType.SCHOOL, list(missing))
    return [
        Outgoing(
            person_id=person_id,
            render=missing_list(due.names[school_id], day, classes),
            kind="attendance.missing_rollcall",
            dedupe_key=f"att.norc:{school_id}:{day.isoformat()}",
            tz=due.tz_of[school_id],
            priority=Priority.NORMAL,
            ref=("school", school_id),
        )
        for school_id, classes in missing.items()
        for person_id in principals.get(school_id, [])
    ]


def _unexplained_absences(session: Session, scope: list[int] | None, day: date) -> list[Absence]:
    """Find the day's unexplained absences no close has alerted yet, by class and roll number."""
    ar = AttendanceRecord
    absences: list[Absence] = []
    for group in school_groups(scope):
        absences.extend(
            Absence(**row._mapping)
            for row in session.execute(
                select(
                    ar.id.label("record_id"),
                    ar.student_id.label("student_id"),
                    ar.class_id.label("class_id"),
                    ar.school_id.label("school_id"),
                    Student.name.label("pupil"),
                    Student.student_no.label("student_no"),
                    SchoolClass.grade.label("grade"),
                    SchoolClass.name.label("class_name"),
                    SchoolClass.class_teacher_id.label("teacher_id"),
                )
                .join(Student, Student.id == ar.student_id)
                .join(SchoolClass, SchoolClass.id == ar.class_id)
                .where(
                    ar.day == day,
                    within(ar.school_id, group),
                    ar.status == Mark.ABSENT,
                    ar.alerted_at.is_(None),
                )
                .order_by(ar.class_id, Student.student_no)
            ).all()
        )
    return absences


def _mark_processed(session: Session, scope: list[int] | None, day: date, now: datetime) -> None:
    """Mark the day's absences processed, so a rerun neither alerts nor evaluates them again.

    A roll-call changed after the cutoff brings new, unprocessed rows for the next run.
    """
    ar = AttendanceRecord
    for group in school_groups(scope):
        session.execute(
            update(ar)
            .where(
                ar.day == day,
                within(ar.school_id, group),
                ar.status.in_(ABSENCE_MARKS),
                ar.alerted_at.is_(None),
            )
            .values(alerted_at=now)
        )


def nudge_missing_rollcalls(session: Session, now: datetime, school_ids: Sequence[int] | None = None) -> int:
    """Nudge class teachers whose class has no roll-call yet today; returns messages queued.

    Without `school_ids`: schools whose cutoff is less than 30 minutes away. With them (the
    scheduler decided the timing): those schools, as long as their cutoff has not passed. Each
    teacher is nudged at most once per class and day, however often this runs.
    """
    due: dict[int, date] = {}
    tz_of: dict[int, str] = {}
    candidates = []
    for school, row in _school_rows(session, school_ids):
        day = now.astimezone(ZoneInfo(row.tz)).date()
        cutoff = _cutoff(school, row.tz, day)
        window_start = cutoff - NUDGE_BEFORE if school_ids is None else cutoff - timedelta(hours=24)
        if window_start <= now < cutoff:
            candidates.append((school, row, day))
    calendars = load_calendars(session, [school for school, _row, _day in candidates])
    for school, row, day in candidates:
        if calendars[school.id].is_school_day(day):
            due[school.id], tz_of[school.id] = day, row.tz
    if not due:
        return 0
    outgoing: list[Outgoing] = []
    by_day: dict[date, list[int]] = defaultdict(list)
    for school_id, day in due.items():
        by_day[day].append(school_id)
    for day, ids in by_day.items():
        for chunk in chunks(ids):
            for class_id, school_id, grade, name, teacher_id in session.execute(
                select(
                    SchoolClass.id,
                    SchoolClass.school_id,
                    SchoolClass.grade,
                    SchoolClass.name,
                    SchoolClass.class_teacher_id,
                )
                .outerjoin(RollCall, and_(RollCall.class_id == SchoolClass.id, RollCall.day == day))
                .where(
                    SchoolClass.school_id.in_(chunk),
                    RollCall.id.is_(None),
                    SchoolClass.class_teacher_id.is_not(None),
                )
            ):
                if teacher_id is None:
                    continue
                outgoing.append(
                    Outgoing(
                        person_id=teacher_id,
                        render=nudge(class_id, (grade, name)),
                        kind="attendance.nudge",
                        dedupe_key=f"att.nudge:{class_id}:{day.isoformat()}",
                        tz=tz_of[school_id],
                        ref=("school_class", class_id),
                    )
                )
    return enqueue_many(session, outgoing, now)


__all__ = ["CloseSummary", "close_day", "nudge_missing_rollcalls"]
