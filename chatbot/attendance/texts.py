"""Labels and message renderers shared by the flows and the batch jobs (all translated when shown)."""

from __future__ import annotations

from chatbot.i18n import N_, _
from db.models import SchoolClass
from db.models.attendance import CaseEventKind, CaseTrigger, GuardianAnswer, LeaveKind, Mark, NotDropoutReason

MARK_LABELS = {
    Mark.ABSENT: N_("absent"),
    Mark.SICK: N_("sick leave"),
    Mark.PERSONAL: N_("personal leave"),
    Mark.LATE: N_("late"),
}
MARK_ICONS = {None: "✅", Mark.ABSENT: "❌", Mark.SICK: "🤒", Mark.PERSONAL: "📝", Mark.LATE: "⏰"}

ANSWER_LABELS = {
    GuardianAnswer.SICK: N_("Sick"),
    GuardianAnswer.PERSONAL: N_("Personal leave"),
    GuardianAnswer.UNKNOWN: N_("I don't know"),
    GuardianAnswer.ON_THE_WAY: N_("Already on the way"),
}

LEAVE_LABELS = {LeaveKind.SICK: N_("sick leave"), LeaveKind.PERSONAL: N_("personal leave")}

TRIGGER_LABELS = {
    CaseTrigger.CONSECUTIVE: N_("{days} school days absent in a row"),
    CaseTrigger.RATE: N_("absent {percent}% of the last {days} school days"),
}

EVENT_LABELS = {
    CaseEventKind.OPENED: N_("opened"),
    CaseEventKind.ESCALATED: N_("escalated"),
    CaseEventKind.CONTACTED: N_("contacted guardian"),
    CaseEventKind.HOME_VISIT: N_("home visit"),
    CaseEventKind.RETURNED: N_("returned to school"),
    CaseEventKind.NOT_DROPOUT: N_("closed: not a dropout"),
    CaseEventKind.DROPOUT_REPORTED: N_("reported as dropout"),
}

# The seven situations that are not dropping out, in the order of the provincial guidance.
REASON_LABELS = {
    NotDropoutReason.UNDER_AGE_OR_DEFERRED: N_("Still in kindergarten at 6, or entry deferred for health"),
    NotDropoutReason.AGED_OR_GRADUATED: N_("Aged 15 or over, or already finished junior high"),
    NotDropoutReason.ON_LEAVE_OR_SUSPENDED: N_("On leave or suspended from school (休学)"),
    NotDropoutReason.HOME_TEACHING: N_("Severe disability, taught at home (送教上门)"),
    NotDropoutReason.UNABLE_TO_STUDY: N_("Not physically able to study"),
    NotDropoutReason.MISSING: N_("Missing or out of contact"),
    NotDropoutReason.STUDYING_ELSEWHERE: N_("Registered here but studying elsewhere"),
}

LEVEL_LABELS = {0: N_("class teacher"), 1: N_("principal"), 2: N_("county bureau")}


def class_label(klass: SchoolClass) -> str:
    return _("Grade {grade} {name}").format(grade=klass.grade, name=klass.name)


def class_label_parts(grade: int, name: str) -> str:
    return _("Grade {grade} {name}").format(grade=grade, name=name)


def trigger_text(trigger: CaseTrigger, detail: dict[str, object]) -> str:
    return _(TRIGGER_LABELS[trigger]).format(days=detail.get("days", "?"), percent=detail.get("percent", "?"))
