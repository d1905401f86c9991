"""/status: staff record a pupil's enrolment — 在读, 休学, 转学, 毕业, 辍学 — from today (status.mmd).

Only enrolled pupils are in roll-calls, alerts and rates, so a pupil who is 休学 drops out of
the class's lists at once, and one who comes back is set 在读 again here. Every change is dated,
kept in the pupil's history and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import Payload
from chatbot.core.router import deny_reply
from chatbot.i18n import N_, _, format_day
from chatbot.people.auth import Act, Target, can, classes_in_scope, has_role
from chatbot.people.enrolment import ENROLMENT_LABELS, set_enrolment
from db.models import Enrolment, Role, Student

STAFF = (Role.CLASS_TEACHER, Role.PRINCIPAL)
MAX_MATCHES = 8


@dataclass(frozen=True)
class StatusPupil(Payload, prefix="stp"):
    student_id: int


@dataclass(frozen=True)
class StatusSet(Payload, prefix="sts"):
    student_id: int
    enrolment: Enrolment


def may_use(ctx: Context) -> bool:
    return has_role(ctx.person, *STAFF)


def ask_pupil(ctx: Context, msg: Incoming) -> Outcome:
    """Ask which pupil, by name."""
    return say(_("Which pupil? Type the name (or part of it)."), then="pupil")


def find_pupil(ctx: Context, msg: Incoming) -> Outcome:
    """Look the name up in the classes this person teaches or runs, pupils who left included."""
    typed = (msg.text or "").strip()
    class_ids = [klass.id for klass in classes_in_scope(ctx.session, ctx.person, *STAFF)]
    matches = (
        list(
            ctx.session.scalars(
                select(Student)
                .where(Student.class_id.in_(class_ids), Student.name.contains(typed))
                .order_by(Student.class_id, Student.student_no)
                .limit(MAX_MATCHES + 1)
            )
        )
        if typed and class_ids
        else []
    )
    if not matches:
        return say(
            _("No pupil of your classes is called that. Type the name again, or /cancel."), then="pupil"
        )
    if len(matches) > MAX_MATCHES:
        return say(_("Too many pupils match. Type more of the name, or /cancel."), then="pupil")
    if len(matches) == 1:
        return show_status(ctx, matches[0])
    rows = [[Button(_pupil_label(pupil), StatusPupil(pupil.id).pack())] for pupil in matches]
    return say(_("Which one?"), *rows, then="which")


def _pupil_label(pupil: Student) -> str:
    return _("{pupil} ({klass}, no. {number})").format(
        pupil=pupil.name, klass=pupil.school_class.name, number=pupil.student_no
    )


def pupil_chosen(ctx: Context, msg: Incoming, pressed: StatusPupil) -> Outcome:
    """Take the pressed pupil (re-checked: the button only names a pupil)."""
    pupil = ctx.session.get(Student, pressed.student_id)
    if pupil is None or not can(ctx.session, ctx.person, Act.ENROLMENT_EDIT, Target.student(pupil.id)):
        return Outcome([deny_reply(ctx)])
    return show_status(ctx, pupil)


def show_status(ctx: Context, pupil: Student) -> Outcome:
    """The pupil's status and since when, with a button for each other status."""
    since = format_day(pupil.enrolment_since) if pupil.enrolment_since else _("the roster import")
    text = _("{pupil}: {status} (since {since}). Set a new status from today:").format(
        pupil=pupil.name, status=_(ENROLMENT_LABELS[pupil.enrolment]), since=since
    )
    rows = [
        [Button(_(label), StatusSet(pupil.id, enrolment).pack())]
        for enrolment, label in ENROLMENT_LABELS.items()
        if enrolment != pupil.enrolment
    ]
    return say(text, *rows, then="status")


def status_chosen(ctx: Context, msg: Incoming, pressed: StatusSet) -> Outcome:
    """Record the new status from the school's today, and say what was written."""
    pupil = ctx.session.get(Student, pressed.student_id)
    if pupil is None or not can(ctx.session, ctx.person, Act.ENROLMENT_EDIT, Target.student(pupil.id)):
        return Outcome([deny_reply(ctx)])
    assert ctx.person is not None
    today = ctx.now.astimezone(ZoneInfo(pupil.school_class.school.tz)).date()
    change = set_enrolment(
        ctx.session, pupil, pressed.enrolment, since=today, source="chat", now=ctx.now, set_by=ctx.person.id
    )
    if change is None:
        return say(_("{pupil} already has that status.").format(pupil=pupil.name))
    ctx.audit("people.enrolment.set", f"student:{pupil.id}", enrolment=pressed.enrolment.value)
    return say(
        _("Recorded: {pupil} is {status} from {day}.").format(
            pupil=pupil.name, status=_(ENROLMENT_LABELS[pressed.enrolment]), day=format_day(today)
        )
    )


FLOW = Flow.create(
    "status",
    Entry(ask_pupil, goes_to=("pupil",)),
    {
        "pupil": State(text=find_pupil, goes_to=("pupil", "which", "status")),
        "which": State(buttons=[On(StatusPupil, pupil_chosen)], goes_to=("status", END)),
        "status": State(buttons=[On(StatusSet, status_chosen)], goes_to=(END,)),
    },
    commands=("status",),
    allowed=may_use,
    help=N_("record a pupil's status: enrolled, suspended, transferred, graduated, dropped out"),
    help_order=60,
)
