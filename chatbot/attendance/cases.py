"""Dropout-risk cases (控辍保学台账): triggers, escalation (双线三级), the 劝返 ledger, visit lists.

History is measured in the class's own roll-call days: a day counts as a school day of the
pupil's class when that class submitted a roll-call, so a day nobody recorded never counts
against a pupil. All trigger queries are set-based (window functions, both backends).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, select
from sqlalchemy.orm import Session

from chatbot.attendance.notify import Outgoing, enqueue_many
from chatbot.attendance.payloads import CaseOpen
from chatbot.attendance.rules import ABSENCE_MARKS, Rules, rules_for
from chatbot.attendance.texts import LEVEL_LABELS, class_label_parts, trigger_text
from chatbot.calendar.service import SchoolCalendar, load_calendars
from chatbot.core.messages import Button, Reply
from chatbot.i18n import _
from db.models import AuditLog, Membership, Person, Region, Role, School, SchoolClass, ScopeType, Student
from db.models.attendance import (
    AttendanceRecord,
    CaseEvent,
    CaseEventKind,
    CaseLevel,
    CaseStatus,
    CaseTrigger,
    DropoutCase,
    Mark,
    NotDropoutReason,
    RollCall,
)
from db.sql import chunks, school_groups, within

# Calendar days searched back for the last N roll-call days (covers a winter break of 20 school days).
LOOKBACK_DAYS = 75


@dataclass(frozen=True)
class SchoolRow:
    id: int
    region_id: int
    tz: str
    settings: dict[str, Any]


def find_triggers(
    session: Session, school_ids: Sequence[int] | None, day: date, rules: Rules
) -> dict[int, tuple[CaseTrigger, dict[str, Any]]]:
    """Pupils absent on `day` (not yet processed by a close) who now meet a trigger and have no open
    case: student → (trigger, detail).

    Three narrow set-based reads — today's absences, the last roll-call days of their classes (a
    window function), and those pupils' absences in the look-back — then the streak and the rate
    are counted in memory for the few thousand pupils concerned.
    """
    ar = AttendanceRecord
    today: dict[int, tuple[int, Mark]] = {}
    for group in school_groups(school_ids):
        for student_id, class_id, status in session.execute(
            select(ar.student_id, ar.class_id, ar.status).where(
                ar.day == day,
                within(ar.school_id, group),
                ar.status.in_(ABSENCE_MARKS),
                ar.alerted_at.is_(None),
            )
        ):
            today[student_id] = (class_id, Mark(status))
    for chunk in chunks(sorted(today)):
        for (student_id,) in session.execute(
            select(DropoutCase.student_id).where(
                DropoutCase.status == CaseStatus.OPEN, DropoutCase.student_id.in_(chunk)
            )
        ):
            today.pop(student_id, None)
    if not today:
        return {}
    keep = max(rules.rate_window, rules.consecutive_days)
    since = day - timedelta(days=LOOKBACK_DAYS)
    class_days: dict[int, list[date]] = defaultdict(list)
    for chunk in chunks(sorted({class_id for class_id, _mark in today.values()})):
        ranked = (
            select(
                RollCall.class_id,
                RollCall.day,
                func.row_number()
                .over(partition_by=RollCall.class_id, order_by=RollCall.day.desc())
                .label("rn"),
            )
            .where(RollCall.class_id.in_(chunk), RollCall.day <= day, RollCall.day > since)
            .subquery()
        )
        for class_id, rollcall_day in session.execute(
            select(ranked.c.class_id, ranked.c.day).where(ranked.c.rn <= keep)
        ):
            class_days[class_id].append(rollcall_day)
    absences: dict[int, dict[date, Mark]] = defaultdict(dict)
    for chunk in chunks(sorted(today)):
        for student_id, absent_day, status in session.execute(
            select(ar.student_id, ar.day, ar.status).where(
                ar.student_id.in_(chunk), ar.day <= day, ar.day > since, ar.status.in_(ABSENCE_MARKS)
            )
        ):
            absences[student_id][absent_day] = Mark(status)
    found: dict[int, tuple[CaseTrigger, dict[str, Any]]] = {}
    for student_id, (class_id, mark) in today.items():
        days = sorted(class_days.get(class_id, []), reverse=True)
        mine = absences[student_id]
        streak = days[: rules.consecutive_days]
        if (
            mark == Mark.ABSENT
            and len(streak) == rules.consecutive_days
            and all(mine.get(d) == Mark.ABSENT for d in streak)
        ):
            found[student_id] = (CaseTrigger.CONSECUTIVE, {"days": rules.consecutive_days})
            continue
        window = days[: rules.rate_window]
        if len(window) < rules.rate_min_days:
            continue
        absent_days = sum(1 for d in window if d in mine)
        rate = absent_days / len(window)
        tiers = [i + 1 for i, tier in enumerate(rules.rate_tiers) if rate > tier]
        if tiers:
            found[student_id] = (
                CaseTrigger.RATE,
                {
                    "days": len(window),
                    "absent": absent_days,
                    "percent": round(rate * 100),
                    "tier": max(tiers),
                },
            )
    return found


def open_cases(
    session: Session, schools: Sequence[SchoolRow], day: date, now: datetime, every_school: bool = False
) -> list[Outgoing]:
    """Open a case for every pupil meeting a trigger today; returns the class-teacher alerts to queue."""
    by_rules: dict[Rules, list[SchoolRow]] = defaultdict(list)
    for school in schools:
        by_rules[rules_for(school.settings)].append(school)
    triggers: dict[int, tuple[CaseTrigger, dict[str, Any]]] = {}
    for rules, group in by_rules.items():
        ids = None if every_school and len(by_rules) == 1 else [s.id for s in group]
        triggers.update(find_triggers(session, ids, day, rules))
    if not triggers:
        return []
    region_of = {s.id: s for s in schools}
    pupils: list[Any] = []
    for chunk in chunks(sorted(triggers)):
        pupils.extend(
            session.execute(
                select(
                    Student.id,
                    Student.name,
                    Student.class_id,
                    Student.school_id,
                    SchoolClass.grade,
                    SchoolClass.name,
                    SchoolClass.class_teacher_id,
                )
                .join(SchoolClass, SchoolClass.id == Student.class_id)
                .where(Student.id.in_(chunk))
            ).all()
        )
    by_student = {row[0]: row for row in pupils}
    values = [
        {
            "student_id": row[0],
            "class_id": row[2],
            "school_id": row[3],
            "region_id": region_of[row[3]].region_id,
            "trigger": triggers[row[0]][0],
            "detail": triggers[row[0]][1],
            "status": CaseStatus.OPEN,
            "level": int(CaseLevel.CLASS_TEACHER),
            "assignee_id": row[6],
            "opened_on": day,
            "opened_at": now,
            "last_activity_on": day,
        }
        for row in pupils
    ]
    # Core bulk insert with RETURNING: one round trip per batch instead of the ORM's unit of work.
    created: list[tuple[int, int]] = []
    for start in range(0, len(values), 1000):
        created.extend(
            (case_id, student_id)
            for case_id, student_id in session.execute(
                insert(cast(Table, DropoutCase.__table__)).returning(DropoutCase.id, DropoutCase.student_id),
                values[start : start + 1000],
            )
        )
    if created:
        session.execute(
            insert(cast(Table, CaseEvent.__table__)),
            [
                {
                    "case_id": case_id,
                    "at": now,
                    "actor_id": None,
                    "kind": CaseEventKind.OPENED,
                    "level": 0,
                    "note": str(triggers[student_id][0]),
                }
                for case_id, student_id in created
            ],
        )
    alerts: list[Outgoing] = []
    for case_id, student_id in created:
        row = by_student[student_id]
        if row[6] is None:
            continue
        trigger, detail = triggers[student_id]
        alerts.append(
            Outgoing(
                person_id=row[6],
                render=_case_alert(case_id, row[1], class_label_args(row[4], row[5]), trigger, detail),
                kind="attendance.case",
                dedupe_key=f"att.case:{case_id}:open",
                tz=region_of[row[3]].tz,
                ref=("dropout_case", case_id),
            )
        )
    return alerts


def class_label_args(grade: int, name: str) -> tuple[int, str]:
    return (grade, name)


def _case_alert(
    case_id: int, pupil: str, klass: tuple[int, str], trigger: CaseTrigger, detail: dict[str, Any]
) -> Any:
    def render() -> Reply:
        return Reply(
            _("⚠️ Dropout risk: {pupil} ({klass}), {why}. Please contact the family; log what you do.").format(
                pupil=pupil, klass=class_label_parts(*klass), why=trigger_text(trigger, detail)
            ),
            [[Button(_("Open the case"), CaseOpen(case_id).pack())]],
        )

    return render


# --- escalation ------------------------------------------------------------------------------


def _school_days_between(calendar: SchoolCalendar, after: date, until: date) -> int:
    return len(calendar.school_days(after + timedelta(days=1), until))


def people_with_role(
    session: Session, role: Role, scope_type: ScopeType, scope_ids: Sequence[int]
) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(sorted(set(scope_ids))):
        for scope_id, person_id in session.execute(
            select(Membership.scope_id, Membership.person_id).where(
                Membership.role == role, Membership.scope_type == scope_type, Membership.scope_id.in_(chunk)
            )
        ):
            found[scope_id].append(person_id)
    return found


def escalate_cases(session: Session, today: date, now: datetime) -> int:
    """Move every open case with no action for K school days one level up (class teacher → principal
    → county bureau), log it and alert the new level. Idempotent for a given day. Returns cases moved."""
    open_rows = list(
        session.scalars(
            select(DropoutCase).where(
                DropoutCase.status == CaseStatus.OPEN,
                DropoutCase.level < CaseLevel.COUNTY,
                DropoutCase.last_activity_on < today,
            )
        )
    )
    if not open_rows:
        return 0
    schools = {
        s.id: s
        for s in session.scalars(select(School).where(School.id.in_({c.school_id for c in open_rows})))
    }
    regions = {
        r.id: r
        for r in session.scalars(select(Region).where(Region.id.in_({c.region_id for c in open_rows})))
    }
    calendars = load_calendars(session, schools.values())
    due = []
    for case in open_rows:
        rules = rules_for(regions[case.region_id].settings)
        if (
            _school_days_between(calendars[case.school_id], case.last_activity_on, today)
            >= rules.escalate_after
        ):
            due.append(case)
    if not due:
        return 0
    principals = people_with_role(session, Role.PRINCIPAL, ScopeType.SCHOOL, [c.school_id for c in due])
    admins = people_with_role(session, Role.COUNTY_ADMIN, ScopeType.REGION, [c.region_id for c in due])
    names = dict(
        session.execute(
            select(Student.id, Student.name).where(Student.id.in_([c.student_id for c in due]))
        ).all()
    )
    alerts: list[Outgoing] = []
    for case in due:
        case.level += 1
        case.last_activity_on = today
        targets = principals[case.school_id] if case.level == CaseLevel.PRINCIPAL else admins[case.region_id]
        case.assignee_id = targets[0] if targets else case.assignee_id
        session.add(
            CaseEvent(case_id=case.id, at=now, actor_id=None, kind=CaseEventKind.ESCALATED, level=case.level)
        )
        school = schools[case.school_id]
        for person_id in targets:
            alerts.append(
                Outgoing(
                    person_id=person_id,
                    render=_escalation_alert(
                        case.id,
                        names.get(case.student_id, "?"),
                        school.name,
                        case.level,
                        case.trigger,
                        case.detail,
                    ),
                    kind="attendance.escalation",
                    dedupe_key=f"att.case:{case.id}:level{case.level}",
                    tz=school.tz,
                    ref=("dropout_case", case.id),
                )
            )
    session.flush()
    enqueue_many(session, alerts, now)
    return len(due)


def _escalation_alert(
    case_id: int, pupil: str, school: str, level: int, trigger: CaseTrigger, detail: dict[str, Any]
) -> Any:
    def render() -> Reply:
        return Reply(
            _(
                "🔺 Escalated to {level}: dropout-risk case of {pupil} ({school}), {why}. No action was logged in time."
            ).format(
                level=_(LEVEL_LABELS[level]), pupil=pupil, school=school, why=trigger_text(trigger, detail)
            ),
            [[Button(_("Open the case"), CaseOpen(case_id).pack())]],
        )

    return render


# --- actions (the 劝返 ledger) --------------------------------------------------------------------


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
    if case.status != CaseStatus.OPEN:
        raise CaseClosed(case.id)
    if kind == CaseEventKind.NOT_DROPOUT and reason is None:
        raise ValueError("a not-a-dropout closure needs one of the seven reasons")
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
    if kind in (CaseEventKind.RETURNED, CaseEventKind.NOT_DROPOUT):
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        case.outcome = kind
        case.not_dropout_reason = reason
    elif kind == CaseEventKind.DROPOUT_REPORTED:
        case.outcome = kind
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
    session.add(
        AuditLog(
            at=now,
            actor_person_id=actor.id,
            action=f"attendance.case.{kind}",
            target=f"case:{case.id}",
            details={"reason": str(reason) if reason else None},
        )
    )
    session.flush()
    return event


def _dropout_report(case_id: int, pupil: str, school: str) -> Any:
    def render() -> Reply:
        return Reply(
            _(
                "📋 Dropout report (辍学报告): {pupil}, {school}. The school keeps trying to bring the pupil back."
            ).format(pupil=pupil, school=school),
            [[Button(_("Open the case"), CaseOpen(case_id).pack())]],
        )

    return render


# --- lists for the reminders engineer (home visits before holidays) ---------------------------


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
