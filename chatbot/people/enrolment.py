"""A pupil's enrolment status (在读, 休学, 转学, 毕业, 辍学) and its dated history.

`Student.active` is what every pupil list filters on (roll-calls, alerts, rates, broadcasts), so it
is set here, together with the status, in one place.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from chatbot.i18n import N_
from db.models import Enrolment, EnrolmentChange, Student

ENROLMENT_LABELS = {
    Enrolment.ENROLLED: N_("enrolled"),
    Enrolment.SUSPENDED: N_("suspended from school"),
    Enrolment.TRANSFERRED: N_("transferred to another school"),
    Enrolment.GRADUATED: N_("graduated"),
    Enrolment.DROPPED_OUT: N_("dropped out"),
}
SOURCES = ("case", "roster", "chat")


def set_enrolment(
    session: Session,
    student: Student,
    enrolment: Enrolment,
    *,
    since: date,
    source: str,
    now: datetime,
    set_by: int | None = None,
    note: str | None = None,
) -> EnrolmentChange | None:
    """Record a new status from `since`; None when the pupil already has it (nothing is written)."""
    if source not in SOURCES:
        raise ValueError(f"unknown enrolment source {source!r}")
    if student.enrolment == enrolment:
        return None
    change = EnrolmentChange(
        student_id=student.id,
        enrolment=enrolment,
        since=since,
        source=source,
        note=(note or None) and note[:200],
        set_by=set_by,
        created_at=now,
    )
    session.add(change)
    student.enrolment = enrolment
    student.enrolment_since = since
    student.active = enrolment == Enrolment.ENROLLED
    session.flush()
    return change
