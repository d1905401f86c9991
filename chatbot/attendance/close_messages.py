"""The messages of the daily close and of the nudge before it, rendered in each reader's language."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

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


def absence_alert(
    klass: tuple[int, str], day: date, pupils: list[tuple[int, str, list[int], list[str | None]]]
) -> Any:
    def render() -> Reply:
        lines = [
            _("{klass}, {day}: absent without explanation:").format(
                klass=class_label_parts(*klass), day=day_label(day, get_locale())
            )
        ]
        rows: list[list[Button]] = []
        for student_id, name, guardian_ids, relations in pupils:
            lines.append("• " + name)
            for guardian_id, relation in zip(guardian_ids, relations, strict=True):
                label = _("📞 {pupil}'s {relation}").format(pupil=name, relation=relation or _("guardian"))
                rows.append([Button(label, ContactGuardian(student_id, guardian_id).pack())])
            if not guardian_ids:
                lines[-1] += " " + _("(no guardian registered)")
        lines.append(_("Their guardians have been asked why. Answers will reach you here."))
        return Reply("\n".join(lines), rows)

    return render


def guardian_question(record_id: int, pupil: str, school: str, day: date) -> Any:
    def render() -> Reply:
        return Reply(
            _("{pupil} is not at {school} today ({day}). Why?").format(
                pupil=pupil, school=school, day=day_label(day, get_locale())
            ),
            [
                [
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.SICK]),
                        AbsenceAnswer(record_id, GuardianAnswer.SICK).pack(),
                    ),
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.PERSONAL]),
                        AbsenceAnswer(record_id, GuardianAnswer.PERSONAL).pack(),
                    ),
                ],
                [
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.UNKNOWN]),
                        AbsenceAnswer(record_id, GuardianAnswer.UNKNOWN).pack(),
                    ),
                    Button(
                        _(ANSWER_LABELS[GuardianAnswer.ON_THE_WAY]),
                        AbsenceAnswer(record_id, GuardianAnswer.ON_THE_WAY).pack(),
                    ),
                ],
            ],
        )

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


__all__ = ["absence_alert", "class_label_args", "day_label", "guardian_question", "missing_list", "nudge"]
