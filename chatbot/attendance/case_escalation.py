"""Escalation of dropout-risk cases (双线三级): class teacher → principal → county bureau."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.attendance.case_common import people_with_role
from chatbot.attendance.notify import Outgoing, enqueue_many
from chatbot.attendance.payloads import CaseOpen
from chatbot.attendance.rules import rules_for
from chatbot.attendance.texts import LEVEL_LABELS, trigger_text
from chatbot.calendar.service import SchoolCalendar, load_calendars
from chatbot.core.messages import Button, Reply
from chatbot.i18n import _
from db.models import Region, Role, School, ScopeType, Student
from db.models.attendance import CaseEvent, CaseEventKind, CaseLevel, CaseStatus, CaseTrigger, DropoutCase


@dataclass(frozen=True)
class _Recipients:
    """Who hears of an escalation: principals per school, county admins per region; pupils' names."""

    principals: dict[int, list[int]]
    admins: dict[int, list[int]]
    names: dict[int, str]

    def of(self, case: DropoutCase) -> list[int]:
        return (
            self.principals[case.school_id]
            if case.level == CaseLevel.PRINCIPAL
            else self.admins[case.region_id]
        )


def escalate_cases(session: Session, today: date, now: datetime) -> int:
    """Move every open case with no action for K school days one level up (class teacher → principal
    → county bureau), log it and alert the new level. Idempotent for a given day. Returns cases moved."""
    stale = _stale_cases(session, today)
    if not stale:
        return 0
    schools = {
        s.id: s for s in session.scalars(select(School).where(School.id.in_({c.school_id for c in stale})))
    }
    due = _due_for_escalation(session, stale, schools, today)
    if not due:
        return 0
    recipients = _recipients(session, due)
    alerts: list[Outgoing] = []
    for case in due:
        targets = _move_up(session, case, recipients, today, now)
        alerts.extend(_escalation_alerts(case, targets, schools[case.school_id], recipients.names))
    session.flush()
    enqueue_many(session, alerts, now)
    return len(due)


def _stale_cases(session: Session, today: date) -> list[DropoutCase]:
    """Find the open cases below the county level with no activity today."""
    return list(
        session.scalars(
            select(DropoutCase).where(
                DropoutCase.status == CaseStatus.OPEN,
                DropoutCase.level < CaseLevel.COUNTY,
                DropoutCase.last_activity_on < today,
            )
        )
    )


def _due_for_escalation(
    session: Session, cases: list[DropoutCase], schools: dict[int, School], today: date
) -> list[DropoutCase]:
    """Keep the cases idle for at least their region's `escalate_after` school days."""
    regions = {
        r.id: r for r in session.scalars(select(Region).where(Region.id.in_({c.region_id for c in cases})))
    }
    calendars = load_calendars(session, schools.values())
    due = []
    for case in cases:
        rules = rules_for(regions[case.region_id].settings)
        if (
            _school_days_between(calendars[case.school_id], case.last_activity_on, today)
            >= rules.escalate_after
        ):
            due.append(case)
    return due


def _school_days_between(calendar: SchoolCalendar, after: date, until: date) -> int:
    return len(calendar.school_days(after + timedelta(days=1), until))


def _recipients(session: Session, due: Sequence[DropoutCase]) -> _Recipients:
    """Read the principals and county admins of the cases' schools and regions, and the pupils' names."""
    principals = people_with_role(session, Role.PRINCIPAL, ScopeType.SCHOOL, [c.school_id for c in due])
    admins = people_with_role(session, Role.COUNTY_ADMIN, ScopeType.REGION, [c.region_id for c in due])
    names = {
        row.id: row.name
        for row in session.execute(
            select(Student.id, Student.name).where(Student.id.in_([c.student_id for c in due]))
        )
    }
    return _Recipients(principals, admins, names)


def _move_up(
    session: Session, case: DropoutCase, recipients: _Recipients, today: date, now: datetime
) -> list[int]:
    """Move the case one level up, assign it to the new level's first person and log it; returns
    the people of the new level."""
    case.level += 1
    case.last_activity_on = today
    targets = recipients.of(case)
    case.assignee_id = targets[0] if targets else case.assignee_id
    session.add(
        CaseEvent(case_id=case.id, at=now, actor_id=None, kind=CaseEventKind.ESCALATED, level=case.level)
    )
    return targets


def _escalation_alerts(
    case: DropoutCase, targets: list[int], school: School, names: dict[int, str]
) -> list[Outgoing]:
    """Tell each person of the new level about the case."""
    return [
        Outgoing(
            person_id=person_id,
            render=_escalation_alert(
                case.id, names.get(case.student_id, "?"), school.name, case.level, case.trigger, case.detail
            ),
            kind="attendance.escalation",
            dedupe_key=f"att.case:{case.id}:level{case.level}",
            tz=school.tz,
            ref=("dropout_case", case.id),
        )
        for person_id in targets
    ]


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


__all__ = ["escalate_cases"]
