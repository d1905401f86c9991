"""Lists for the reminders engineer: pupils to visit at home (家访) before holidays, and pupils who
never came back after one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from chatbot.attendance.case_common import LOOKBACK_DAYS
from chatbot.attendance.rules import ABSENCE_MARKS, rules_for
from db.models import SchoolClass, Student
from db.models.attendance import AttendanceRecord, CaseStatus, DropoutCase, RollCall


@dataclass(frozen=True)
class VisitEntry:
    student_id: int
    name: str
    reasons: tuple[str, ...]  # "open_case", "registered_poor", "absence_tier_1", "absence_tier_2"


def home_visit_list(session: Session, class_id: int, today: date) -> list[VisitEntry]:
    """Pupils a class teacher should visit (家访): an open case, a registered-poor household, or an
    absence rate above the region's first tier over its window. Ordered by roll number."""
    klass = session.get(SchoolClass, class_id)
    if klass is None:
        return []
    rules = rules_for(klass.school.region.settings)
    reasons: dict[int, list[str]] = defaultdict(list)
    for (student_id,) in session.execute(
        select(DropoutCase.student_id).where(
            DropoutCase.class_id == class_id, DropoutCase.status == CaseStatus.OPEN
        )
    ):
        reasons[student_id].append("open_case")
    pupils = list(
        session.execute(
            select(Student.id, Student.name, Student.household)
            .where(Student.class_id == class_id, Student.active.is_(True))
            .order_by(Student.student_no)
        )
    )
    for student_id, _name, household in pupils:
        if "registered_poor" in (household or []):
            reasons[student_id].append("registered_poor")
    recent = _recent_rollcalls_for_class(class_id, today, rules.rate_window)
    days = session.scalar(select(func.count()).select_from(recent)) or 0
    if days >= rules.rate_min_days:
        ar = AttendanceRecord
        for student_id, absent in session.execute(
            select(ar.student_id, func.count())
            .join(recent, recent.c.day == ar.day)
            .where(ar.class_id == class_id, ar.status.in_(ABSENCE_MARKS))
            .group_by(ar.student_id)
        ):
            rate = absent / days
            tiers = [i + 1 for i, t in enumerate(rules.rate_tiers) if rate > t]
            if tiers:
                reasons[student_id].append(f"absence_tier_{max(tiers)}")
    return [VisitEntry(sid, name, tuple(reasons[sid])) for sid, name, _h in pupils if reasons.get(sid)]


def _recent_rollcalls_for_class(class_id: int, today: date, keep: int) -> Any:
    ranked = (
        select(RollCall.day, func.row_number().over(order_by=RollCall.day.desc()).label("rn"))
        .where(
            RollCall.class_id == class_id,
            RollCall.day <= today,
            RollCall.day > today - timedelta(days=LOOKBACK_DAYS),
        )
        .subquery()
    )
    return select(ranked.c.day).where(ranked.c.rn <= keep).subquery()


def never_returned(session: Session, class_id: int, since: date, today: date) -> list[Student]:
    """Pupils not seen at school since `since`: absent (any kind) at every roll-call of the class in
    [since, today]. Empty when the class has had no roll-call in that span (nothing is known yet)."""
    days = session.scalar(
        select(func.count()).where(
            RollCall.class_id == class_id, RollCall.day >= since, RollCall.day <= today
        )
    )
    if not days:
        return []
    ar = AttendanceRecord
    missing = (
        select(ar.student_id)
        .join(RollCall, and_(RollCall.class_id == ar.class_id, RollCall.day == ar.day))
        .where(ar.class_id == class_id, ar.day >= since, ar.day <= today, ar.status.in_(ABSENCE_MARKS))
        .group_by(ar.student_id)
        .having(func.count() >= days)
    )
    return list(
        session.scalars(
            select(Student)
            .where(Student.id.in_(missing), Student.active.is_(True))
            .order_by(Student.student_no)
        )
    )


__all__ = ["VisitEntry", "home_visit_list", "never_returned"]
