"""The daily close's messages about unexplained absences: one alert per class to its class teacher,
and one question per guardian covering all of that guardian's absent children.

Both say only what is true: the alert tells the teacher which families were asked and which no
message can reach (phone them), and a guardian with two absent children gets one question whose
buttons name each child, so an answer can never land on the wrong child.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.attendance.close_messages import PupilAlert, absence_alert, class_label_args, guardian_question
from chatbot.attendance.notify import Outgoing
from chatbot.delivery.outbox import reachable_people
from db.models import Guardian
from db.sql import chunks


class Absence(NamedTuple):
    record_id: int
    student_id: int
    class_id: int
    school_id: int
    pupil: str
    student_no: str
    grade: int
    class_name: str
    teacher_id: int | None


class GuardianLink(NamedTuple):
    student_id: int
    person_id: int
    relation: str | None
    reachable: bool  # has an active chat account: a question to them is queued


@dataclass(frozen=True)
class AbsenceMessages:
    messages: list[Outgoing]
    teacher_alerts: int
    guardian_questions: int


def guardians_of(session: Session, absences: list[Absence]) -> dict[int, list[GuardianLink]]:
    """The guardians of the absent pupils, each with whether a message can reach them: student → links."""
    rows: list[tuple[int, int, str | None]] = []
    for chunk in chunks(sorted({absence.student_id for absence in absences})):
        rows.extend(
            (row.student_id, row.person_id, row.relation)
            for row in session.execute(
                select(Guardian.student_id, Guardian.person_id, Guardian.relation)
                .where(Guardian.student_id.in_(chunk))
                .order_by(Guardian.student_id, Guardian.person_id)
            )
        )
    reachable = reachable_people(session, [person_id for _student, person_id, _relation in rows])
    found: dict[int, list[GuardianLink]] = defaultdict(list)
    for student_id, person_id, relation in rows:
        found[student_id].append(GuardianLink(student_id, person_id, relation, person_id in reachable))
    return found


def warn_about_absences(
    names: dict[int, str],
    tz_of: dict[int, str],
    day: date,
    absences: list[Absence],
    guardians: dict[int, list[GuardianLink]],
) -> AbsenceMessages:
    """Per class, the class teacher's alert; then per guardian, one question about their children."""
    per_class: dict[int, list[Absence]] = defaultdict(list)
    for absence in absences:
        per_class[absence.class_id].append(absence)
    messages: list[Outgoing] = []
    for rows in per_class.values():
        alert = _alert_class_teacher(rows, guardians, day, tz_of[rows[0].school_id])
        if alert is not None:
            messages.append(alert)
    teacher_alerts = len(messages)
    questions = _ask_guardians(absences, guardians, names, tz_of, day)
    return AbsenceMessages([*messages, *questions], teacher_alerts, len(questions))


def _alert_class_teacher(
    rows: list[Absence], guardians: dict[int, list[GuardianLink]], day: date, tz: str
) -> Outgoing | None:
    """Tell the class teacher (if any) who is absent without explanation, and whose family was asked."""
    first = rows[0]
    if first.teacher_id is None:
        return None
    pupils = [
        PupilAlert(
            student_id=row.student_id,
            name=row.pupil,
            guardian_ids=[g.person_id for g in guardians.get(row.student_id, [])],
            relations=[g.relation for g in guardians.get(row.student_id, [])],
            asked=any(g.reachable for g in guardians.get(row.student_id, [])),
        )
        for row in rows
    ]
    return Outgoing(
        person_id=first.teacher_id,
        render=absence_alert(class_label_args(first.grade, first.class_name), day, pupils),
        kind="attendance.absence_alert",
        # A late roll-call brings a second batch for the same class and day: key it by its first row.
        dedupe_key=f"att.abs:{first.class_id}:{day.isoformat()}:{first.record_id}",
        tz=tz,
        ref=("school_class", first.class_id),
    )


def _ask_guardians(
    absences: list[Absence],
    guardians: dict[int, list[GuardianLink]],
    names: dict[int, str],
    tz_of: dict[int, str],
    day: date,
) -> list[Outgoing]:
    """One question per reachable guardian, naming each of their absent children."""
    per_guardian: dict[int, list[Absence]] = defaultdict(list)
    for absence in absences:
        for link in guardians.get(absence.student_id, []):
            if link.reachable:
                per_guardian[link.person_id].append(absence)
    return [
        Outgoing(
            person_id=person_id,
            render=guardian_question(
                [(row.record_id, row.pupil) for row in rows], names[rows[0].school_id], day
            ),
            kind="attendance.absence_question",
            dedupe_key="att.ask:" + "-".join(str(row.record_id) for row in rows),
            tz=tz_of[rows[0].school_id],
            ref=("attendance_record", rows[0].record_id),
        )
        for person_id, rows in per_guardian.items()
    ]
