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
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from chatbot.attendance.cases import SchoolRow, open_cases, people_with_role
from chatbot.attendance.notify import Outgoing, enqueue_many
from chatbot.attendance.payloads import AbsenceAnswer, ContactGuardian
from chatbot.attendance.rules import ABSENCE_MARKS, DEFAULT_CUTOFF
from chatbot.attendance.texts import ANSWER_LABELS, class_label_parts
from chatbot.calendar.service import load_calendars
from chatbot.core.messages import Button, Reply
from chatbot.core.router import start_button
from chatbot.i18n import _, format_day, get_locale
from db.models import Guardian, Region, Role, School, SchoolClass, ScopeType, Student
from db.models.attendance import AttendanceRecord, GuardianAnswer, Mark, RollCall
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
    rows = []
    for school, region_tz, settings in session.execute(query.order_by(School.id)):
        rows.append(
            (school, SchoolRow(school.id, school.region_id, school.timezone or region_tz, settings or {}))
        )
    return rows


def _cutoff(school: School, tz: str, day: date) -> datetime:
    return datetime.combine(day, school.rollcall_cutoff or DEFAULT_CUTOFF, tzinfo=ZoneInfo(tz))


def close_day(
    session: Session, day: date, now: datetime, school_ids: Sequence[int] | None = None
) -> CloseSummary:
    """Close `day` for every school (or those in `school_ids`) whose cutoff has passed at `now`.

    Tells principals which classes have no roll-call, alerts each class teacher once per class
    about unexplained absences (with a contact button per guardian), asks each guardian why, and
    opens dropout-risk cases. Runs in the caller's transaction; safe to run again.
    """
    eligible: list[SchoolRow] = []
    skipped = 0
    names: dict[int, str] = {}
    school_rows = _school_rows(session, school_ids)
    # One calendar query for every school (the calendar domain's batch form of is_school_day).
    calendars = load_calendars(session, [school for school, _row in school_rows])
    for school, row in school_rows:
        if now >= _cutoff(school, row.tz, day) and calendars[school.id].is_school_day(day):
            eligible.append(row)
            names[row.id] = school.name
        else:
            skipped += 1
    if not eligible:
        return CloseSummary(day=day, schools_skipped=skipped)
    tz_of = {s.id: s.tz for s in eligible}
    ids = [s.id for s in eligible]
    # Closing every school: filter by day only, without lists of 1,500 school ids.
    scope: list[int] | None = None if school_ids is None and not skipped else ids
    outgoing: list[Outgoing] = []

    # 1. Classes without a roll-call → their school's principals, one list per school.
    missing: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for group in school_groups(scope):
        for school_id, grade, name in session.execute(
            select(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name)
            .outerjoin(RollCall, and_(RollCall.class_id == SchoolClass.id, RollCall.day == day))
            .where(within(SchoolClass.school_id, group), RollCall.id.is_(None))
            .order_by(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name)
        ):
            missing[school_id].append((grade, name))
    principals = people_with_role(session, Role.PRINCIPAL, ScopeType.SCHOOL, list(missing))
    principal_notices = 0
    for school_id, classes in missing.items():
        for person_id in principals.get(school_id, []):
            principal_notices += 1
            outgoing.append(
                Outgoing(
                    person_id=person_id,
                    render=_missing_list(names[school_id], day, classes),
                    kind="attendance.missing_rollcall",
                    dedupe_key=f"att.norc:{school_id}:{day.isoformat()}",
                    tz=tz_of[school_id],
                    priority=Priority.NORMAL,
                    ref=("school", school_id),
                )
            )

    # 2. Unexplained absences not alerted yet → one alert per class, one question per guardian.
    ar = AttendanceRecord
    absences: list[Any] = []
    for group in school_groups(scope):
        absences.extend(
            session.execute(
                select(
                    ar.id,
                    ar.student_id,
                    ar.class_id,
                    ar.school_id,
                    Student.name,
                    Student.student_no,
                    SchoolClass.grade,
                    SchoolClass.name,
                    SchoolClass.class_teacher_id,
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
    guardians: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for chunk in chunks(sorted({row[1] for row in absences})):
        for student_id, person_id, relation in session.execute(
            select(Guardian.student_id, Guardian.person_id, Guardian.relation).where(
                Guardian.student_id.in_(chunk)
            )
        ):
            guardians[student_id].append((person_id, relation))
    per_class: dict[int, list[Any]] = defaultdict(list)
    for row in absences:
        per_class[row[2]].append(row)
    teacher_alerts = 0
    guardian_questions = 0
    for class_id, rows in per_class.items():
        first = rows[0]
        tz = tz_of[first[3]]
        if first[8] is not None:
            teacher_alerts += 1
            pupils = [
                (r[1], r[4], [g for g, _rel in guardians[r[1]]], [rel for _g, rel in guardians[r[1]]])
                for r in rows
            ]
            outgoing.append(
                Outgoing(
                    person_id=first[8],
                    render=_absence_alert(class_label_args(first[6], first[7]), day, pupils),
                    kind="attendance.absence_alert",
                    # A late roll-call brings a second batch for the same class and day: key it by its first row.
                    dedupe_key=f"att.abs:{class_id}:{day.isoformat()}:{first[0]}",
                    tz=tz,
                    ref=("school_class", class_id),
                )
            )
        for row in rows:
            for guardian_id, _relation in guardians[row[1]]:
                guardian_questions += 1
                outgoing.append(
                    Outgoing(
                        person_id=guardian_id,
                        render=_guardian_question(row[0], row[4], names[row[3]], day),
                        kind="attendance.absence_question",
                        dedupe_key=f"att.ask:{row[0]}",
                        tz=tz,
                        ref=("attendance_record", row[0]),
                    )
                )
    # 3. Dropout-risk triggers, for the day's absences no close has looked at yet.
    case_alerts = open_cases(session, eligible, day, now, every_school=scope is None)

    # 4. Mark the day's absences processed, so a rerun neither alerts nor evaluates them again
    #    (a roll-call changed after the cutoff brings new, unprocessed rows for the next run).
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
    outgoing.extend(case_alerts)
    queued = enqueue_many(session, outgoing, now)
    return CloseSummary(
        day=day,
        schools_closed=len(eligible),
        schools_skipped=skipped,
        classes_missing=sum(len(v) for v in missing.values()),
        absences_alerted=len(absences),
        teacher_alerts=teacher_alerts,
        guardian_questions=guardian_questions,
        principal_notices=principal_notices,
        cases_opened=len(case_alerts),
        messages_queued=queued,
    )


@lru_cache(maxsize=64)
def _day_label(day: date, locale: str) -> str:
    """Babel date formatting costs ~100 µs; a close renders thousands of messages for one day."""
    return format_day(day, locale)


def class_label_args(grade: int, name: str) -> tuple[int, str]:
    return (grade, name)


def _missing_list(school: str, day: date, classes: list[tuple[int, str]]) -> Any:
    def render() -> Reply:
        lines = [
            _("{school}: no roll-call yet on {day} for these classes:").format(
                school=school, day=_day_label(day, get_locale())
            )
        ]
        lines.extend("• " + class_label_parts(grade, name) for grade, name in classes)
        return Reply("\n".join(lines))

    return render


def _absence_alert(
    klass: tuple[int, str], day: date, pupils: list[tuple[int, str, list[int], list[str | None]]]
) -> Any:
    def render() -> Reply:
        lines = [
            _("{klass}, {day}: absent without explanation:").format(
                klass=class_label_parts(*klass), day=_day_label(day, get_locale())
            )
        ]
        rows: list[list[Button]] = []
        for student_id, name, guardian_ids, relations in pupils:
            lines.append("• " + name)
            for guardian_id, relation in zip(guardian_ids, relations, strict=True):
                label = _("📞 {pupil}'s {relation}").format(pupil=name, relation=relation or _("guardian"))
                rows.append([Button(label, ContactGuardian(student_id, guardian_id).pack())])
            if not guardian_ids:
                lines[-1] += " " + _("(no guardian registered)")
        lines.append(_("Their guardians have been asked why. Answers will reach you here."))
        return Reply("\n".join(lines), rows)

    return render


def _guardian_question(record_id: int, pupil: str, school: str, day: date) -> Any:
    def render() -> Reply:
        return Reply(
            _("{pupil} is not at {school} today ({day}). Why?").format(
                pupil=pupil, school=school, day=_day_label(day, get_locale())
            ),
            [
                [
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.SICK]),
                        AbsenceAnswer(record_id, GuardianAnswer.SICK).pack(),
                    ),
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.PERSONAL]),
                        AbsenceAnswer(record_id, GuardianAnswer.PERSONAL).pack(),
                    ),
                ],
                [
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.UNKNOWN]),
                        AbsenceAnswer(record_id, GuardianAnswer.UNKNOWN).pack(),
                    ),
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.ON_THE_WAY]),
                        AbsenceAnswer(record_id, GuardianAnswer.ON_THE_WAY).pack(),
                    ),
                ],
            ],
        )

    return render


def nudge_missing_rollcalls(session: Session, now: datetime, school_ids: Sequence[int] | None = None) -> int:
    """Nudge class teachers whose class has no roll-call yet today; returns messages queued.

    Without `school_ids`: schools whose cutoff is less than 30 minutes away. With them (the
    scheduler decided the timing): those schools, as long as their cutoff has not passed. Each
    teacher is nudged at most once per class and day, however often this runs.
    """
    due: dict[int, tuple[date, str]] = {}
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
            due[school.id] = (day, row.tz)
    if not due:
        return 0
    outgoing: list[Outgoing] = []
    by_day: dict[date, list[int]] = defaultdict(list)
    for school_id, (day, _tz) in due.items():
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
                        render=_nudge(class_id, (grade, name)),
                        kind="attendance.nudge",
                        dedupe_key=f"att.nudge:{class_id}:{day.isoformat()}",
                        tz=due[school_id][1],
                        ref=("school_class", class_id),
                    )
                )
    return enqueue_many(session, outgoing, now)


def _nudge(class_id: int, klass: tuple[int, str]) -> Any:
    def render() -> Reply:
        return Reply(
            _("⏰ {klass} has no roll-call yet today. Please take it before the cutoff.").format(
                klass=class_label_parts(*klass)
            ),
            [[start_button(_("Take roll-call"), "rollcall")]],
        )

    return render


__all__ = ["CloseSummary", "close_day", "nudge_missing_rollcalls"]
