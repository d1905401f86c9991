"""Where a guardian's leave request goes: the class teacher, else the principals, else it waits.

The guardian's confirmation is built from what was queued here, never from what was meant to be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from chatbot.attendance.case_common import people_with_role
from chatbot.delivery.outbox import Render, enqueue_for_person
from db.models import Person, Role, ScopeType, Student
from db.models.attendance import LeaveRequest


@dataclass(frozen=True)
class LeaveRouted:
    """Who got the request: `teacher` when a row was queued to the class teacher, else the names of
    the principals it was queued to; neither means it waits in the class teacher's to-do list."""

    teacher: bool
    principals: list[str] = field(default_factory=list)

    @property
    def reached_anyone(self) -> bool:
        return self.teacher or bool(self.principals)


def can_be_decided(session: Session, student: Student) -> bool:
    """A request needs someone who may answer it: the class teacher or a principal of the school."""
    if student.school_class.class_teacher_id is not None:
        return True
    return bool(people_with_role(session, Role.PRINCIPAL, ScopeType.SCHOOL, [student.school_id]))


def route_leave_request(
    session: Session, leave: LeaveRequest, student: Student, render: Render, now: datetime
) -> LeaveRouted:
    """Queue the request to the class teacher; if they cannot be reached by chat, to the principals."""

    def reaches(person: Person) -> bool:
        return enqueue_for_person(
            session,
            person,
            render,
            kind="attendance.leave_request",
            now=now,
            dedupe_key=f"att.leave:{leave.id}:ask",
            ref=("leave_request", leave.id),
            tz=student.school_class.school.tz,
        ).reached

    teacher = student.school_class.class_teacher
    if teacher is not None and reaches(teacher):
        return LeaveRouted(teacher=True)
    principals = people_with_role(session, Role.PRINCIPAL, ScopeType.SCHOOL, [student.school_id])
    reached: list[str] = []
    for person_id in principals.get(student.school_id, []):
        principal = session.get(Person, person_id)
        if principal is not None and reaches(principal):
            reached.append(principal.name)
    return LeaveRouted(teacher=False, principals=reached)
