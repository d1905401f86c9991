"""What each reminder says, rendered in the recipient's language (called under their locale)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from chatbot.core.messages import Reply
from chatbot.i18n import N_, _, get_locale, ngettext
from chatbot.i18n import format_day as _format_day


@lru_cache(maxsize=512)
def _day_in(day: date, locale: str) -> str:
    return _format_day(day, locale)


def format_day(day: date) -> str:
    """format_day in the active locale, cached: a batch renders the same few dates thousands of times."""
    return _day_in(day, get_locale())


REASON_LABELS = {
    "registered_poor": N_("registered poor household"),
    "dibao": N_("minimum living allowance (低保)"),
    "tekun": N_("extreme poverty support (特困)"),
    "orphan": N_("orphan"),
    "disabled": N_("disability"),
    "open_case": N_("open dropout-risk case"),
    "case": N_("open dropout-risk case"),
    "low_attendance": N_("attendance below the threshold"),
    "attendance": N_("attendance below the threshold"),
    "absence_tier_1": N_("many absences recently"),
    "absence_tier_2": N_("very many absences recently"),
}

SAFETY = {
    "winter": N_(
        "Safety over the holiday: keep away from frozen rivers and ponds, ventilate rooms with coal stoves "
        "(carbon monoxide), be careful with fire and fireworks, and take care on the roads."
    ),
    "summer": N_(
        "Safety over the holiday: never swim in rivers, ponds or reservoirs, and never without an adult "
        "(drowning is the biggest danger in summer); take care on the roads and keep away from floods and "
        "electric wires."
    ),
    "spring_festival": N_(
        "Safety at Spring Festival: fireworks only with an adult, watch fire and gas at home, and take care on "
        "the roads when visiting family."
    ),
}
GENERIC_SAFETY = N_("Safety over the holiday: take care on the roads, near water and with fire.")


@dataclass(frozen=True)
class VisitItem:
    """One pupil on a list for a teacher (home visits, never returned)."""

    name: str
    grade: int
    class_name: str
    reasons: tuple[str, ...] = ()


def _reasons(item: VisitItem) -> str:
    return "、".join(_(REASON_LABELS[r]) if r in REASON_LABELS else r for r in item.reasons)


def class_label(grade: int, name: str) -> str:
    return _("Grade {grade} {name}").format(grade=grade, name=name)


def term_start_parent(
    children: list[str], school: str, start: date, boarding: bool, aid_line: str | None, days: int
) -> Reply:
    lines = [
        ngettext(
            "📅 School starts in {days} day: {children} back at {school} on {day}.",
            "📅 School starts in {days} days: {children} back at {school} on {day}.",
            days,
        ).format(days=days, children="、".join(children), school=school, day=format_day(start))
    ]
    lines.append(_("Please bring: school bag, textbooks and holiday homework, stationery."))
    if boarding:
        lines.append(_("Boarders: bedding, warm clothes and daily necessities."))
    if aid_line:
        lines.append(aid_line)
    return Reply("\n".join(lines))


def aid_generic_line() -> str:
    return _("Student aid: applications open with the new term. Send /aid to see what your child can get.")


def aid_opening_line(items: list[str]) -> str:
    return _("Student aid opening this term: {items}. Send /aid to see what your child can get.").format(
        items="、".join(items)
    )


def term_start_teacher(klass: tuple[int, str], start: date, check_after: int) -> Reply:
    return Reply(
        _(
            "📅 The new term starts on {day} ({klass}). Please check in roll-call who has not returned; "
            "after {n} school days I will list pupils with no attendance to you and the principal."
        ).format(day=format_day(start), klass=class_label(*klass), n=check_after)
    )


def holiday_parent(kind: str, children: list[str], school: str, first: date, back: date | None) -> Reply:
    if kind == "spring_festival":
        head = _("🧧 Spring Festival is coming ({day}).").format(day=format_day(first))
    elif kind == "winter":
        head = _("❄️ The winter vacation at {school} starts on {day}.").format(
            school=school, day=format_day(first)
        )
    elif kind == "summer":
        head = _("☀️ The summer vacation at {school} starts on {day}.").format(
            school=school, day=format_day(first)
        )
    else:
        head = _("The vacation at {school} starts on {day}.").format(school=school, day=format_day(first))
    lines = [head, _(SAFETY.get(kind, GENERIC_SAFETY))]
    if back is not None:
        lines.append(
            _("School starts again on {day}: please make sure {children} come back.").format(
                day=format_day(back), children="、".join(children)
            )
        )
    return Reply("\n".join(lines))


def home_visit_teacher(kind: str, klass: tuple[int, str], items: list[VisitItem]) -> Reply:
    occasion = {
        "winter": _("the winter vacation"),
        "summer": _("the summer vacation"),
        "spring_festival": _("Spring Festival"),
    }.get(kind, _("the vacation"))
    if not items:
        return Reply(
            _("🏠 Home visits before {occasion}: no pupil of {klass} is on the list this time.").format(
                occasion=occasion, klass=class_label(*klass)
            )
        )
    lines = [
        ngettext(
            "🏠 Home visits (家访) before {occasion}: {count} pupil of {klass} to visit:",
            "🏠 Home visits (家访) before {occasion}: {count} pupils of {klass} to visit:",
            len(items),
        ).format(occasion=occasion, count=len(items), klass=class_label(*klass))
    ]
    lines.extend(f"• {item.name}: {_reasons(item)}" if item.reasons else f"• {item.name}" for item in items)
    return Reply("\n".join(lines))


def never_returned_teacher(klass: tuple[int, str], start: date, items: list[VisitItem]) -> Reply:
    lines = [
        ngettext(
            "⚠️ {count} pupil of {klass} has no attendance since the term started on {day} and may not have "
            "returned:",
            "⚠️ {count} pupils of {klass} have no attendance since the term started on {day} and may not have "
            "returned:",
            len(items),
        ).format(count=len(items), klass=class_label(*klass), day=format_day(start))
    ]
    lines.extend(f"• {item.name}" for item in items)
    lines.append(_("Please contact their families today."))
    return Reply("\n".join(lines))


def never_returned_principal(school: str, start: date, items: list[VisitItem]) -> Reply:
    lines = [
        ngettext(
            "⚠️ {school}: {count} pupil has no attendance since the term started on {day}:",
            "⚠️ {school}: {count} pupils have no attendance since the term started on {day}:",
            len(items),
        ).format(school=school, count=len(items), day=format_day(start))
    ]
    lines.extend(f"• {class_label(item.grade, item.class_name)}: {item.name}" for item in items)
    return Reply("\n".join(lines))
