"""Actions on a dropout-risk case: the 劝返 ledger (contacts, visits, return, closure, dropout report)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from chatbot.attendance.case_common import people_with_role
from chatbot.attendance.notify import Outgoing, enqueue_many
from chatbot.attendance.payloads import CaseOpen
from chatbot.core.messages import Button, Reply
from chatbot.i18n import _
from chatbot.people.enrolment import set_enrolment
from db.models import AuditLog, Enrolment, Person, Role, School, ScopeType, Student
from db.models.attendance import (
    CaseEvent,
    CaseEventKind,
    CaseLevel,
    CaseStatus,
    DropoutCase,
    NotDropoutReason,
)


class CaseClosed(Exception):
    """The case is already closed."""


def act_on_case(
    session: Session,
    case: DropoutCase,
    actor: Person,
    kind: CaseEventKind,
    now: datetime,
    today: date,
    *,
    note: str | None = None,
    reason: NotDropoutReason | None = None,
) -> CaseEvent:
    """Log one action; returning to school or a not-a-dropout reason closes the case.

    A dropout report (辍学报告) keeps the case open at the county level and alerts the bureau, because
    persuading the pupil to return (劝返) goes on after the report. The caller has authorized `actor`.
    """
    _check_action(case, kind, reason)
    event = _log_action(session, case, actor, kind, now, today, note, reason)
    if kind in (CaseEventKind.RETURNED, CaseEventKind.NOT_DROPOUT):
        _close(case, kind, now, reason)
    elif kind == CaseEventKind.DROPOUT_REPORTED:
        _report_dropout(session, case, now)
    _record_enrolment(session, case, actor, kind, reason, now, today)
    _audit(session, case, actor, kind, now, reason)
    session.flush()
    return event


def _check_action(case: DropoutCase, kind: CaseEventKind, reason: NotDropoutReason | None) -> None:
    """Refuse an action on a closed case, and a not-a-dropout closure without its reason."""
    if case.status != CaseStatus.OPEN:
        raise CaseClosed(case.id)
    if kind == CaseEventKind.NOT_DROPOUT and reason is None:
        raise ValueError("a not-a-dropout closure needs one of the seven reasons")


def _log_action(
    session: Session,
    case: DropoutCase,
    actor: Person,
    kind: CaseEventKind,
    now: datetime,
    today: date,
    note: str | None,
    reason: NotDropoutReason | None,
) -> CaseEvent:
    """Add the action to the case's ledger at its current level; the case counts as active today."""
    event = CaseEvent(
        case_id=case.id,
        at=now,
        actor_id=actor.id,
        kind=kind,
        note=(note or (str(reason) if reason else None)),
        level=case.level,
    )
    session.add(event)
    case.last_activity_on = today
    return event


def _close(case: DropoutCase, kind: CaseEventKind, now: datetime, reason: NotDropoutReason | None) -> None:
    """Close the case with the action as its outcome."""
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.outcome = kind
    case.not_dropout_reason = reason


# A case's outcome says where the pupil now stands: closing as 休学 takes the pupil off the roll-call,
# so the next day's absence does not open the case again.
ENROLMENT_AFTER_REASON = {
    NotDropoutReason.AGED_OR_GRADUATED: Enrolment.GRADUATED,
    NotDropoutReason.STUDYING_ELSEWHERE: Enrolment.TRANSFERRED,
}


def enrolment_after(kind: CaseEventKind, reason: NotDropoutReason | None) -> Enrolment | None:
    """The pupil's status an action implies, or None when it implies none (a contact, a visit)."""
    if kind == CaseEventKind.RETURNED:
        return Enrolment.ENROLLED
    # A dropout report keeps the case open for 劝返, with the pupil on the class's visit lists: the
    # status 辍学 is set by staff (or the roster) once they record it, not by the report.
    if kind == CaseEventKind.NOT_DROPOUT and reason is not None:
        # Deferred, suspended, taught at home, unable to study, missing: not at school, not a dropout.
        return ENROLMENT_AFTER_REASON.get(reason, Enrolment.SUSPENDED)
    return None


def _record_enrolment(
    session: Session,
    case: DropoutCase,
    actor: Person,
    kind: CaseEventKind,
    reason: NotDropoutReason | None,
    now: datetime,
    today: date,
) -> None:
    """Set the pupil's enrolment status the action implies, from today."""
    enrolment = enrolment_after(kind, reason)
    student = session.get(Student, case.student_id)
    if enrolment is None or student is None:
        return
    note = f"dropout_case:{case.id}:{reason or kind}"
    set_enrolment(
        session, student, enrolment, since=today, source="case", now=now, set_by=actor.id, note=note
    )


def _report_dropout(session: Session, case: DropoutCase, now: datetime) -> None:
    """Keep the case open at the county level and alert every county admin of the region."""
    case.outcome = CaseEventKind.DROPOUT_REPORTED
    case.level = CaseLevel.COUNTY
    school = session.get(School, case.school_id)
    assert school is not None
    admins = people_with_role(session, Role.COUNTY_ADMIN, ScopeType.REGION, [case.region_id])
    student = session.get(Student, case.student_id)
    pupil = student.name if student else "?"
    enqueue_many(
        session,
        [
            Outgoing(
                person_id=admin,
                render=_dropout_report(case.id, pupil, school.name),
                kind="attendance.dropout_report",
                dedupe_key=f"att.case:{case.id}:reported",
                tz=school.tz,
                ref=("dropout_case", case.id),
            )
            for admin in admins[case.region_id]
        ],
        now,
    )


def _audit(
    session: Session,
    case: DropoutCase,
    actor: Person,
    kind: CaseEventKind,
    now: datetime,
    reason: NotDropoutReason | None,
) -> None:
    """Record who did what to which case in the audit log."""
    session.add(
        AuditLog(
            at=now,
            actor_person_id=actor.id,
            action=f"attendance.case.{kind}",
            target=f"case:{case.id}",
            details={"reason": str(reason) if reason else None},
        )
    )


def _dropout_report(case_id: int, pupil: str, school: str) -> Any:
    def render() -> Reply:
        return Reply(
            _(
                "📋 Dropout report (辍学报告): {pupil}, {school}. The school keeps trying to bring the pupil back."
            ).format(pupil=pupil, school=school),
            [[Button(_("Open the case"), CaseOpen(case_id).pack())]],
        )

    return render


__all__ = ["CaseClosed", "act_on_case"]
