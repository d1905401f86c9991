"""What other domains call: the pack for a school, a pupil's profile, and aid applications opening.

    from chatbot.aid.api import pack_for_school, profile_for_student, applications_opening, opening_lines

Example (reminders, once a month): for each region, `applications_opening(pack, month, today, stages)`
gives the items whose applications usually open that month; `opening_lines(items)` renders one short
line per item in the active locale (call it inside the outbox render callable, under the recipient's
locale).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from chatbot.aid.engine import Profile, Result, evaluate, items_opening
from chatbot.aid.pack import Pack, PackItem, pack_for
from chatbot.aid.render import how_to_apply, item_name
from chatbot.i18n import _
from db.models import HOUSEHOLD_FLAGS, School, Stage, Student


def pack_for_school(school: School, on: date) -> Pack:
    """The pack of the school's region in force on `on` (national when none or out of its period)."""
    return pack_for(school.region.aid_pack, on)


def profile_for_student(student: Student) -> Profile:
    """What the school record says: stage, boarding, and household (unknown when none is recorded)."""
    household = [f for f in (student.household or []) if f in HOUSEHOLD_FLAGS]
    return Profile(
        stage=student.school_class.school.stage,
        boarding=bool(student.boarding),
        household=frozenset(household) if household else None,
        in_province=True,
    )


def results_for_student(student: Student, on: date) -> list[Result]:
    """Every item of the pupil's regional pack evaluated against the school record."""
    return evaluate(profile_for_student(student), pack_for_school(student.school_class.school, on), on)


def applications_opening(
    pack: Pack, month: int, on: date, stages: Iterable[Stage] | None = None
) -> list[PackItem]:
    """Items in force on `on` whose applications usually open in `month`, optionally for some stages."""
    return items_opening(pack, month, on, stages)


def opening_lines(entries: Iterable[PackItem]) -> list[str]:
    """One short line per item in the active locale: its name and when/where to apply."""
    lines = []
    for entry in entries:
        apply = how_to_apply(entry)
        lines.append(
            _("{name} — when: {when}; where: {where}.").format(
                name=item_name(entry), when=apply["when"], where=apply["where"]
            )
        )
    return lines
