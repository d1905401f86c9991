"""Dropout-risk triggers and the cases the daily close opens for them.

History is measured in the class's own roll-call days: a day counts as a school day of the
pupil's class when that class submitted a roll-call, so a day nobody recorded never counts
against a pupil. All trigger queries are set-based (window functions, both backends).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from chatbot.attendance.case_common import LOOKBACK_DAYS, SchoolRow
from chatbot.attendance.notify import Outgoing
from chatbot.attendance.payloads import CaseOpen
from chatbot.attendance.rules import ABSENCE_MARKS, Rules, rules_for
from chatbot.attendance.texts import class_label_parts, trigger_text
from chatbot.core.messages import Button, Reply
from chatbot.i18n import _
from db.models import SchoolClass, Student
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
from db.sql import chunks, school_groups, within

Triggers = dict[int, tuple[CaseTrigger, dict[str, Any]]]


class _AbsentToday(NamedTuple):
    student_id: int
    class_id: int
    status: Mark


class _RollCallDay(NamedTuple):
    class_id: int
    day: date


class _PastAbsence(NamedTuple):
    student_id: int
    day: date
    status: Mark


class _Pupil(NamedTuple):
    student_id: int
    name: str
    class_id: int
    school_id: int
    grade: int
    class_name: str
    teacher_id: int | None


class _Created(NamedTuple):
    case_id: int
    student_id: int


# --- triggers ----------------------------------------------------------------------------------


def find_triggers(
    session: Session, school_ids: Sequence[int] | None, day: date, rules: Rules
) -> dict[int, tuple[CaseTrigger, dict[str, Any]]]:
    """Pupils absent on `day` (not yet processed by a close) who now meet a trigger and have no open
    case: student → (trigger, detail).

    Three narrow set-based reads — today's absences, the last roll-call days of their classes (a
    window function), and those pupils' absences in the look-back — then the streak and the rate
    are counted in memory for the few thousand pupils concerned.
    """
    today = _absent_today(session, school_ids, day)
    _drop_pupils_with_open_cases(session, today)
    if not today:
        return {}
    since = day - timedelta(days=LOOKBACK_DAYS)
    keep = max(rules.rate_window, rules.consecutive_days)
    class_days = _last_rollcall_days(session, {a.class_id for a in today.values()}, day, since, keep)
    history = _absence_history(session, today, day, since)
    found: Triggers = {}
    for student_id, absent in today.items():
        days = sorted(class_days.get(absent.class_id, []), reverse=True)
        trigger = _trigger_met(absent.status, days, history.get(student_id, {}), rules)
        if trigger is not None:
            found[student_id] = trigger
    return found


def _absent_today(session: Session, school_ids: Sequence[int] | None, day: date) -> dict[int, _AbsentToday]:
    """Find the day's absences (any kind) that no close has processed yet: student → absence."""
    ar = AttendanceRecord
    today: dict[int, _AbsentToday] = {}
    for group in school_groups(school_ids):
        for row in session.execute(
            select(
                ar.student_id.label("student_id"), ar.class_id.label("class_id"), ar.status.label("status")
            ).where(
                ar.day == day,
                within(ar.school_id, group),
                ar.status.in_(ABSENCE_MARKS),
                ar.source != MarkSource.LEAVE,  # leave asked for (pending or approved) is not a risk
                ar.alerted_at.is_(None),
            )
        ):
            today[row.student_id] = _AbsentToday(
                student_id=row.student_id, class_id=row.class_id, status=Mark(row.status)
            )
    return today


def _drop_pupils_with_open_cases(session: Session, today: dict[int, _AbsentToday]) -> None:
    """Leave out the pupils who already have an open case."""
    for chunk in chunks(sorted(today)):
        for student_id in session.scalars(
            select(DropoutCase.student_id).where(
                DropoutCase.status == CaseStatus.OPEN, DropoutCase.student_id.in_(chunk)
            )
        ):
            today.pop(student_id, None)


def _last_rollcall_days(
    session: Session, class_ids: set[int], day: date, since: date, keep: int
) -> dict[int, list[date]]:
    """Find each class's last `keep` roll-call days up to `day` (a window function): class → days."""
    class_days: dict[int, list[date]] = defaultdict(list)
    for chunk in chunks(sorted(class_ids)):
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
        for row in session.execute(
            select(ranked.c.class_id.label("class_id"), ranked.c.day.label("day")).where(ranked.c.rn <= keep)
        ):
            rollcall = _RollCallDay(**row._mapping)
            class_days[rollcall.class_id].append(rollcall.day)
    return class_days


def _absence_history(
    session: Session, student_ids: Iterable[int], day: date, since: date
) -> dict[int, dict[date, Mark]]:
    """Find the pupils' absences (any kind) in the look-back: student → day → mark."""
    ar = AttendanceRecord
    history: dict[int, dict[date, Mark]] = defaultdict(dict)
    for chunk in chunks(sorted(student_ids)):
        for row in session.execute(
            select(ar.student_id.label("student_id"), ar.day.label("day"), ar.status.label("status")).where(
                ar.student_id.in_(chunk),
                ar.day <= day,
                ar.day > since,
                ar.status.in_(ABSENCE_MARKS),
                ar.source != MarkSource.LEAVE,
            )
        ):
            absence = _PastAbsence(student_id=row.student_id, day=row.day, status=Mark(row.status))
            history[absence.student_id][absence.day] = absence.status
    return history


def _trigger_met(
    mark: Mark, days: list[date], mine: dict[date, Mark], rules: Rules
) -> tuple[CaseTrigger, dict[str, Any]] | None:
    """The trigger a pupil meets over the class's roll-call days (newest first): a streak, else a rate."""
    streak = days[: rules.consecutive_days]
    if (
        mark == Mark.ABSENT
        and len(streak) == rules.consecutive_days
        and all(mine.get(d) == Mark.ABSENT for d in streak)
    ):
        return (CaseTrigger.CONSECUTIVE, {"days": rules.consecutive_days})
    window = days[: rules.rate_window]
    if len(window) < rules.rate_min_days:
        return None
    absent_days = sum(1 for d in window if d in mine)
    rate = absent_days / len(window)
    tiers = [i + 1 for i, tier in enumerate(rules.rate_tiers) if rate > tier]
    if not tiers:
        return None
    return (
        CaseTrigger.RATE,
        {"days": len(window), "absent": absent_days, "percent": round(rate * 100), "tier": max(tiers)},
    )


# --- opening cases -----------------------------------------------------------------------------


def open_cases(
    session: Session, schools: Sequence[SchoolRow], day: date, now: datetime, every_school: bool = False
) -> list[Outgoing]:
    """Open a case for every pupil meeting a trigger today; returns the class-teacher alerts to queue."""
    triggers = _triggers_per_rules(session, schools, day, every_school)
    if not triggers:
        return []
    school_of = {s.id: s for s in schools}
    pupils = _pupils(session, triggers)
    created = _insert_cases(session, pupils, triggers, school_of, day, now)
    _log_openings(session, created, triggers, now)
    return _alert_class_teachers(created, pupils, triggers, school_of)


def _triggers_per_rules(
    session: Session, schools: Sequence[SchoolRow], day: date, every_school: bool
) -> Triggers:
    """Find the pupils meeting a trigger, one pass per distinct set of regional rules."""
    by_rules: dict[Rules, list[SchoolRow]] = defaultdict(list)
    for school in schools:
        by_rules[rules_for(school.settings)].append(school)
    triggers: Triggers = {}
    for rules, group in by_rules.items():
        ids = None if every_school and len(by_rules) == 1 else [s.id for s in group]
        triggers.update(find_triggers(session, ids, day, rules))
    return triggers


def _pupils(session: Session, student_ids: Iterable[int]) -> list[_Pupil]:
    """Read the pupils concerned with their class and class teacher."""
    pupils: list[_Pupil] = []
    for chunk in chunks(sorted(student_ids)):
        pupils.extend(
            _Pupil(**row._mapping)
            for row in session.execute(
                select(
                    Student.id.label("student_id"),
                    Student.name.label("name"),
                    Student.class_id.label("class_id"),
                    Student.school_id.label("school_id"),
                    SchoolClass.grade.label("grade"),
                    SchoolClass.name.label("class_name"),
                    SchoolClass.class_teacher_id.label("teacher_id"),
                )
                .join(SchoolClass, SchoolClass.id == Student.class_id)
                .where(Student.id.in_(chunk))
            ).all()
        )
    return pupils


def _insert_cases(
    session: Session,
    pupils: list[_Pupil],
    triggers: Triggers,
    school_of: dict[int, SchoolRow],
    day: date,
    now: datetime,
) -> list[_Created]:
    """Insert one open case per pupil, at the class-teacher level; returns (case, student) pairs."""
    values: list[dict[str, Any]] = []
    for pupil in pupils:
        trigger, detail = triggers[pupil.student_id]
        values.append(
            {
                "student_id": pupil.student_id,
                "class_id": pupil.class_id,
                "school_id": pupil.school_id,
                "region_id": school_of[pupil.school_id].region_id,
                "trigger": trigger,
                "detail": detail,
                "status": CaseStatus.OPEN,
                "level": int(CaseLevel.CLASS_TEACHER),
                "assignee_id": pupil.teacher_id,
                "opened_on": day,
                "opened_at": now,
                "last_activity_on": day,
            }
        )
    # Core bulk insert with RETURNING: one round trip per batch instead of the ORM's unit of work.
    created: list[_Created] = []
    for start in range(0, len(values), 1000):
        created.extend(
            _Created(case_id=row.id, student_id=row.student_id)
            for row in session.execute(
                insert(cast(Table, DropoutCase.__table__)).returning(DropoutCase.id, DropoutCase.student_id),
                values[start : start + 1000],
            )
        )
    return created


def _log_openings(session: Session, created: list[_Created], triggers: Triggers, now: datetime) -> None:
    """Log an `opened` event per new case, its trigger as the note."""
    if not created:
        return
    trigger_of = {student_id: trigger for student_id, (trigger, _detail) in triggers.items()}
    session.execute(
        insert(cast(Table, CaseEvent.__table__)),
        [
            {
                "case_id": case.case_id,
                "at": now,
                "actor_id": None,
                "kind": CaseEventKind.OPENED,
                "level": 0,
                "note": str(trigger_of[case.student_id]),
            }
            for case in created
        ],
    )


def _alert_class_teachers(
    created: list[_Created], pupils: list[_Pupil], triggers: Triggers, school_of: dict[int, SchoolRow]
) -> list[Outgoing]:
    """Alert each new case's class teacher (if the class has one), in the order the cases were made."""
    by_student = {pupil.student_id: pupil for pupil in pupils}
    alerts: list[Outgoing] = []
    for case in created:
        pupil = by_student[case.student_id]
        if pupil.teacher_id is None:
            continue
        trigger, detail = triggers[case.student_id]
        alerts.append(
            Outgoing(
                person_id=pupil.teacher_id,
                render=_case_alert(
                    case.case_id, pupil.name, class_label_args(pupil.grade, pupil.class_name), trigger, detail
                ),
                kind="attendance.case",
                dedupe_key=f"att.case:{case.case_id}:open",
                tz=school_of[pupil.school_id].tz,
                ref=("dropout_case", case.case_id),
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


__all__ = ["class_label_args", "find_triggers", "open_cases"]
