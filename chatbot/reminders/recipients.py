"""Who a reminder goes to: a school's parents, class teachers and principals, and the attendance
domain's lists of pupils (home visits before a break, pupils who never returned after a term start)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.attendance.cases import home_visit_list, never_returned
from chatbot.reminders.messages import VisitItem
from db.models import Guardian, Membership, Role, School, SchoolClass, ScopeType, Student


@dataclass(frozen=True)
class Child:
    name: str
    boarding: bool


def parents(session: Session, school: School) -> dict[int, list[Child]]:
    """Each guardian of an active pupil of `school`, with their children there (by person, then pupil id)."""
    rows = session.execute(
        select(Guardian.person_id, Student.name, Student.boarding)
        .join(Student, Student.id == Guardian.student_id)
        .where(Student.school_id == school.id, Student.active.is_(True))
        .order_by(Guardian.person_id, Student.id)
    )
    found: dict[int, list[Child]] = defaultdict(list)
    for person_id, name, boarding in rows:
        found[person_id].append(Child(name, bool(boarding)))
    return found


def classes(session: Session, school: School) -> list[SchoolClass]:
    """The classes of `school` that have a class teacher, in grade and name order."""
    return list(
        session.scalars(
            select(SchoolClass)
            .where(SchoolClass.school_id == school.id, SchoolClass.class_teacher_id.is_not(None))
            .order_by(SchoolClass.grade, SchoolClass.name)
        )
    )


def principals(session: Session, school: School) -> list[int]:
    return list(
        session.scalars(
            select(Membership.person_id).where(
                Membership.role == Role.PRINCIPAL,
                Membership.scope_type == ScopeType.SCHOOL,
                Membership.scope_id == school.id,
            )
        )
    )


def home_visit_items(session: Session, klass: SchoolClass, today: date) -> list[VisitItem]:
    """At-risk pupils of a class for home visits (家访), with the attendance domain's reasons."""
    return [
        VisitItem(entry.name, klass.grade, klass.name, tuple(entry.reasons))
        for entry in home_visit_list(session, klass.id, today)
    ]


def never_returned_items(session: Session, klass: SchoolClass, since: date, today: date) -> list[VisitItem]:
    """Pupils of a class with no attendance at all since `since`."""
    return [
        VisitItem(s.name, klass.grade, klass.name, ())
        for s in never_returned(session, klass.id, since, today)
    ]
