"""What each rule sends to whom: one planner per rule kind in PLANNERS, and `plan()`, which runs the
occurrence's planner and folds several messages to one person into one. Planning only reads, so dry
runs use it too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from chatbot.aid.engine import items_opening
from chatbot.aid.pack import PackError, pack_for
from chatbot.aid.render import item_name
from chatbot.calendar.reminder_rules import NEVER_RETURNED, SPRING_FESTIVAL, TERM_START, VACATION, rules_for
from chatbot.calendar.service import SchoolCalendar
from chatbot.core.messages import Reply
from chatbot.reminders import messages
from chatbot.reminders.occurrences import Occurrence
from chatbot.reminders.recipients import (
    Child,
    classes,
    home_visit_items,
    never_returned_items,
    parents,
    principals,
)
from db.models import Region, School

log = logging.getLogger(__name__)


@dataclass
class Planned:
    occurrence: Occurrence
    person_id: int
    role: str  # parent, class_teacher, principal
    reason: str  # for the operator (English, no names)
    render: Callable[[], Reply]

    @property
    def key(self) -> str:
        return self.occurrence.key(f"p{self.person_id}")


Planner = Callable[[Session, Occurrence, School, SchoolCalendar], list[Planned]]


def _bind(function: Callable[..., Reply], *args: Any) -> Callable[[], Reply]:
    return lambda: function(*args)


def _join(first: Callable[[], Reply], second: Callable[[], Reply]) -> Callable[[], Reply]:
    return lambda: Reply(first().text + "\n\n" + second().text)


def _aid_line(region: Region, school: School, start: date) -> Callable[[], str] | None:
    """The aid line for a term start: the region's pack items opening that month, if any."""
    try:
        pack = pack_for(region.aid_pack, start)
        entries = items_opening(pack, start.month, start, stages=[school.stage])
    except PackError:
        log.exception("aid pack %s unusable; term-start reminders use the generic aid line", region.aid_pack)
        return messages.aid_generic_line
    if not entries:
        return None
    # item_name reads the active locale, so it runs inside the recipient's render.
    return lambda: messages.aid_opening_line([item_name(e) for e in entries])


def _render_term_parent(
    children: list[Child], school_name: str, occurrence: Occurrence, aid: Callable[[], str] | None
) -> Callable[[], Reply]:
    def render() -> Reply:
        return messages.term_start_parent(
            [c.name for c in children],
            school_name,
            occurrence.anchor,
            any(c.boarding for c in children),
            aid() if aid else None,
            occurrence.offset,
        )

    return render


# --- one planner per rule --------------------------------------------------------------------------


def plan_term_start(
    session: Session, occurrence: Occurrence, school: School, calendar: SchoolCalendar
) -> list[Planned]:
    """Parents: the return date, what to bring and the aid line; class teachers: check who is back."""
    aid = _aid_line(school.region, school, occurrence.anchor)
    n = rules_for(school.region)[NEVER_RETURNED].school_days_after
    planned = [
        Planned(
            occurrence,
            person_id,
            "parent",
            f"{occurrence.kind} term starts {occurrence.anchor} (in {occurrence.offset} days)",
            _render_term_parent(children, school.name, occurrence, aid),
        )
        for person_id, children in parents(session, school).items()
    ]
    for klass in classes(session, school):
        assert klass.class_teacher_id is not None
        planned.append(
            Planned(
                occurrence,
                klass.class_teacher_id,
                "class_teacher",
                f"{occurrence.kind} term starts {occurrence.anchor}: check who has not returned (class {klass.id})",
                _bind(messages.term_start_teacher, (klass.grade, klass.name), occurrence.anchor, n),
            )
        )
    return planned


def plan_holiday(
    session: Session, occurrence: Occurrence, school: School, calendar: SchoolCalendar
) -> list[Planned]:
    """Parents: the safety notice and the return date; class teachers: the home-visit list."""
    back = calendar.first_school_day_after(occurrence.anchor)
    planned = [
        Planned(
            occurrence,
            person_id,
            "parent",
            f"{occurrence.kind} from {occurrence.anchor}: safety notice, back on {back}",
            _bind(
                messages.holiday_parent,
                occurrence.kind,
                [c.name for c in children],
                school.name,
                occurrence.anchor,
                back,
            ),
        )
        for person_id, children in parents(session, school).items()
    ]
    for klass in classes(session, school):
        assert klass.class_teacher_id is not None
        items = home_visit_items(session, klass, occurrence.due_day)
        planned.append(
            Planned(
                occurrence,
                klass.class_teacher_id,
                "class_teacher",
                f"home-visit list before {occurrence.kind}: {len(items)} pupils (class {klass.id})",
                _bind(messages.home_visit_teacher, occurrence.kind, (klass.grade, klass.name), items),
            )
        )
    return planned


def plan_never_returned(
    session: Session, occurrence: Occurrence, school: School, calendar: SchoolCalendar
) -> list[Planned]:
    """Class teachers and the school's principals: pupils with no attendance since the term started."""
    planned: list[Planned] = []
    school_items: list[messages.VisitItem] = []
    for klass in classes(session, school):
        assert klass.class_teacher_id is not None
        items = never_returned_items(session, klass, occurrence.anchor, occurrence.due_day)
        school_items.extend(items)
        if items:
            planned.append(
                Planned(
                    occurrence,
                    klass.class_teacher_id,
                    "class_teacher",
                    f"{len(items)} pupils with no attendance since {occurrence.anchor} (class {klass.id})",
                    _bind(
                        messages.never_returned_teacher, (klass.grade, klass.name), occurrence.anchor, items
                    ),
                )
            )
    if school_items:
        for person_id in principals(session, school):
            planned.append(
                Planned(
                    occurrence,
                    person_id,
                    "principal",
                    f"{len(school_items)} pupils with no attendance since {occurrence.anchor} (school {school.id})",
                    _bind(messages.never_returned_principal, school.name, occurrence.anchor, school_items),
                )
            )
    return planned


PLANNERS: dict[str, Planner] = {
    TERM_START: plan_term_start,
    VACATION: plan_holiday,
    SPRING_FESTIVAL: plan_holiday,
    NEVER_RETURNED: plan_never_returned,
}


def plan(session: Session, occurrence: Occurrence, school: School, calendar: SchoolCalendar) -> list[Planned]:
    """Recipients and messages of one occurrence; reads only (used by dry runs too)."""
    planner = PLANNERS.get(occurrence.rule)
    planned = planner(session, occurrence, school, calendar) if planner is not None else []
    # One message per person and occurrence: a teacher of two classes gets the first one only once.
    unique: dict[int, Planned] = {}
    for item in planned:
        previous = unique.get(item.person_id)
        if previous is None:
            unique[item.person_id] = item
        else:
            unique[item.person_id] = Planned(
                occurrence,
                item.person_id,
                previous.role,
                previous.reason + "; " + item.reason,
                _join(previous.render, item.render),
            )
    return list(unique.values())
