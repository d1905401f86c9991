"""The messages of the daily close and of the nudge before it, rendered in each reader's language."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from chatbot.attendance.payloads import AbsenceAnswer, ContactGuardian
from chatbot.attendance.texts import ANSWER_LABELS, class_label_parts
from chatbot.core.messages import Button, Reply
from chatbot.core.router import start_button
from chatbot.i18n import _, format_day, get_locale
from db.models.attendance import GuardianAnswer


@lru_cache(maxsize=64)
def day_label(day: date, locale: str) -> str:
    """Babel date formatting costs ~100 µs; a close renders thousands of messages for one day."""
    return format_day(day, locale)


def class_label_args(grade: int, name: str) -> tuple[int, str]:
    return (grade, name)


def missing_list(school: str, day: date, classes: list[tuple[int, str]]) -> Any:
    def render() -> Reply:
        lines = [
            _("{school}: no roll-call yet on {day} for these classes:").format(
                school=school, day=day_label(day, get_locale())
            )
        ]
        lines.extend("• " + class_label_parts(grade, name) for grade, name in classes)
        return Reply("\n".join(lines))

    return render


class PupilAlert(NamedTuple):
    """One pupil in a class teacher's absence alert: guardians to call, and whether any was asked."""

    student_id: int
    name: str
    guardian_ids: list[int]
    relations: list[str | None]
    asked: bool


def absence_alert(klass: tuple[int, str], day: date, pupils: list[PupilAlert]) -> Any:
    def render() -> Reply:
        lines = [
            _("{klass}, {day}: absent without explanation:").format(
                klass=class_label_parts(*klass), day=day_label(day, get_locale())
            )
        ]
        rows: list[list[Button]] = []
        for pupil in pupils:
            lines.append("• " + pupil.name)
            for guardian_id, relation in zip(pupil.guardian_ids, pupil.relations, strict=True):
                label = _("📞 {pupil}'s {relation}").format(
                    pupil=pupil.name, relation=relation or _("guardian")
                )
                rows.append([Button(label, ContactGuardian(pupil.student_id, guardian_id).pack())])
            if not pupil.guardian_ids:
                lines[-1] += " " + _("(no guardian registered)")
            elif not pupil.asked:
                lines[-1] += " " + _("(no guardian can get chat messages: please phone)")
        asked = sum(1 for pupil in pupils if pupil.asked)
        if asked == len(pupils):
            lines.append(_("Their guardians have been asked why. Answers will reach you here."))
        elif asked:
            lines.append(
                _("The guardians of the other pupils have been asked why. Answers will reach you here.")
            )
        else:
            lines.append(_("No guardian could be asked by chat."))
        return Reply("\n".join(lines), rows)

    return render


ANSWER_ROWS = (
    (GuardianAnswer.SICK, GuardianAnswer.PERSONAL),
    (GuardianAnswer.UNKNOWN, GuardianAnswer.ON_THE_WAY),
)


def guardian_question(children: list[tuple[int, str]], school: str, day: date) -> Any:
    """Why is the child away? One question for all of a guardian's absent children: with several,
    each button names its child, so no answer (or typed number) can apply to the wrong one."""

    def render() -> Reply:
        when = day_label(day, get_locale())
        if len(children) == 1:
            [(record_id, pupil)] = children
            text = _("{pupil} is not at {school} today ({day}). Why?").format(
                pupil=pupil, school=school, day=when
            )
            rows = [
                [Button(_(ANSWER_LABELS[answer]), AbsenceAnswer(record_id, answer).pack()) for answer in pair]
                for pair in ANSWER_ROWS
            ]
            return Reply(text, rows)
        text = _(
            "These children are not at school today ({day}): {pupils}. Why? Please answer for each."
        ).format(day=when, pupils=_(", ").join(pupil for _record, pupil in children))
        rows = [
            [
                Button(
                    _("{pupil}: {answer}").format(pupil=pupil, answer=_(ANSWER_LABELS[answer])),
                    AbsenceAnswer(record_id, answer).pack(),
                )
                for answer in pair
            ]
            for record_id, pupil in children
            for pair in ANSWER_ROWS
        ]
        return Reply(text, rows)

    return render


def nudge(class_id: int, klass: tuple[int, str]) -> Any:
    def render() -> Reply:
        return Reply(
            _("⏰ {klass} has no roll-call yet today. Please take it before the cutoff.").format(
                klass=class_label_parts(*klass)
            ),
            [[start_button(_("Take roll-call"), "rollcall")]],
        )

    return render


__all__ = [
    "PupilAlert",
    "absence_alert",
    "class_label_args",
    "day_label",
    "guardian_question",
    "missing_list",
    "nudge",
]
