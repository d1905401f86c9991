"""Stateless buttons on pushed messages: decide leave, answer an absence question, contact a guardian.

Each press is re-authorized: the payload only names things, it never grants anything.
"""

from __future__ import annotations

from sqlalchemy import select

from chatbot.attendance.leave import days_text
from chatbot.attendance.payloads import AbsenceAnswer, ContactGuardian, LeaveDecide
from chatbot.attendance.service import decide_leave
from chatbot.attendance.texts import ANSWER_LABELS, LEAVE_LABELS, class_label
from chatbot.core.context import Context
from chatbot.core.flow import Action, Outcome
from chatbot.core.messages import Incoming, Reply
from chatbot.core.router import deny_reply
from chatbot.delivery.outbox import Queued, enqueue_for_person
from chatbot.i18n import _, format_day
from chatbot.people.auth import Act, Target, can, is_guardian_of
from db.models import Guardian, Person, Student
from db.models.attendance import AttendanceRecord, GuardianAnswer, LeaveRequest, LeaveStatus, Mark, MarkSource
from db.models.delivery import Priority

ANSWER_MARKS = {
    GuardianAnswer.SICK: Mark.SICK,
    GuardianAnswer.PERSONAL: Mark.PERSONAL,
    GuardianAnswer.ON_THE_WAY: Mark.LATE,
    GuardianAnswer.UNKNOWN: Mark.ABSENT,
}


def on_leave_decision(ctx: Context, msg: Incoming) -> list[Reply] | Outcome:
    """Approve at once; a refusal first asks the teacher for the reason the guardian will read."""
    pressed = LeaveDecide.unpack(msg.payload)
    leave = ctx.session.get(LeaveRequest, pressed.leave_id)
    if (
        leave is None
        or ctx.person is None
        or not can(ctx.session, ctx.person, Act.LEAVE_DECIDE, Target.student(leave.student_id))
    ):
        return [deny_reply(ctx)]
    if leave.status != LeaveStatus.PENDING:
        return [Reply(_("This request was already answered."), edit=True)]
    if not pressed.approve:
        ctx.data = {"leave_id": leave.id}
        prompt = Reply(
            _("Why is this request refused? Type the reason: the guardian will read it. Or /cancel.")
        )
        return Outcome([prompt], next_state="refuse", flow="todo")
    return [decide_and_tell(ctx, leave, approve=True)]


def decide_and_tell(ctx: Context, leave: LeaveRequest, *, approve: bool, note: str | None = None) -> Reply:
    """Record the decision, queue it to the guardian, and say whether the guardian could be reached."""
    assert ctx.person is not None
    if not decide_leave(ctx.session, ctx.person, leave, approve, ctx.now, note):
        return Reply(_("This request was already answered."), edit=True)
    student = ctx.session.get(Student, leave.student_id)
    assert student is not None
    ctx.audit("attendance.leave.decide", f"leave:{leave.id}", approved=approve)
    guardian = ctx.session.get(Person, leave.requested_by) if leave.requested_by else None
    told = guardian is not None and _tell_guardian(ctx, leave, student, guardian).reached
    label = _("Approved") if approve else _("Refused")
    what = {
        "decision": label,
        "kind": _(LEAVE_LABELS[leave.kind]),
        "child": student.name,
        "days": days_text(leave.first_day, leave.last_day),
    }
    if told:
        text = _("{decision}: {kind} for {child}, {days}. The guardian is told.")
    else:
        text = _(
            "{decision}: {kind} for {child}, {days}. The guardian cannot be reached by chat: please phone them."
        )
    return Reply(text.format(**what), edit=True)


def _tell_guardian(ctx: Context, leave: LeaveRequest, student: Student, guardian: Person) -> Queued:
    """Queue the decision (and a refusal's reason) to the guardian who asked."""
    approved, pupil, kind = leave.status == LeaveStatus.APPROVED, student.name, leave.kind
    first, last, note = leave.first_day, leave.last_day, leave.decision_note

    def render() -> Reply:
        if approved:
            text = _("✅ The teacher approved {kind} for {child}, {days}.")
        else:
            text = _("❌ The teacher did not approve {kind} for {child}, {days}. Please contact the teacher.")
        lines = [text.format(kind=_(LEAVE_LABELS[kind]), child=pupil, days=days_text(first, last))]
        if note:
            lines.append(_("Reason: {reason}").format(reason=note))
        return Reply("\n".join(lines))

    return enqueue_for_person(
        ctx.session,
        guardian,
        render,
        kind="attendance.leave_decision",
        now=ctx.now,
        dedupe_key=f"att.leave:{leave.id}:decided",
        ref=("leave_request", leave.id),
        tz=student.school_class.school.tz,
    )


def on_absence_answer(ctx: Context, msg: Incoming) -> list[Reply]:
    """A guardian says why the child is away; it is recorded and forwarded to the class teacher."""
    pressed = AbsenceAnswer.unpack(msg.payload)
    record = ctx.session.get(AttendanceRecord, pressed.record_id)
    if record is None or ctx.person is None or not is_guardian_of(ctx.session, ctx.person, record.student_id):
        return [deny_reply(ctx)]
    try:
        answer = GuardianAnswer(pressed.answer)
    except ValueError:
        return [Reply(_("That button is not valid any more. Send /help to start again."))]
    if record.guardian_answer == answer:
        return [Reply(_("Thank you, this was already recorded."), edit=True)]
    record.guardian_answer = answer
    record.answered_by = ctx.person.id
    record.answered_at = ctx.now
    record.status = ANSWER_MARKS[answer]
    record.source = MarkSource.GUARDIAN
    student = ctx.session.get(Student, record.student_id)
    assert student is not None
    klass = student.school_class
    teacher = klass.class_teacher
    relation = ctx.session.scalars(
        select(Guardian.relation).where(
            Guardian.person_id == ctx.person.id, Guardian.student_id == student.id
        )
    ).first()
    told = False
    if teacher is not None:
        pupil, day, who = student.name, record.day, ctx.person.name

        def render() -> Reply:
            return Reply(
                _("💬 {guardian} ({relation}) about {pupil}, {klass}, {day}: {answer}").format(
                    guardian=who,
                    relation=relation or _("guardian"),
                    pupil=pupil,
                    klass=class_label(klass),
                    day=format_day(day),
                    answer=_(ANSWER_LABELS[answer]),
                )
            )

        told = enqueue_for_person(
            ctx.session,
            teacher,
            render,
            kind="attendance.absence_answer",
            now=ctx.now,
            priority=Priority.URGENT,
            dedupe_key=f"att.ans:{record.id}:{answer}",
            ref=("attendance_record", record.id),
            tz=klass.school.tz,
        ).reached
    ctx.audit("attendance.absence.answer", f"attendance_record:{record.id}", answer=str(answer))
    if told:
        text = _("Thank you. {child}: {answer}. The class teacher has been told.")
    else:
        text = _(
            "Thank you. {child}: {answer}. It is recorded, and the class teacher will find it in their to-do list."
        )
    return [Reply(text.format(child=student.name, answer=_(ANSWER_LABELS[answer])), edit=True)]


def on_contact(ctx: Context, msg: Incoming) -> list[Reply]:
    """Show a guardian's name and phone, to authorized staff only; each look is audited."""
    pressed = ContactGuardian.unpack(msg.payload)
    if not can(ctx.session, ctx.person, Act.CONTACT_GUARDIAN, Target.student(pressed.student_id)):
        return [deny_reply(ctx)]
    link = ctx.session.get(Guardian, {"person_id": pressed.guardian_id, "student_id": pressed.student_id})
    if link is None:
        return [deny_reply(ctx)]
    guardian = link.person
    ctx.audit("attendance.contact_guardian", f"student:{pressed.student_id}", guardian_id=guardian.id)
    return [
        Reply(
            _("{relation} of {pupil}: {name}, phone {phone}").format(
                relation=link.relation or _("guardian"),
                pupil=link.student.name,
                name=guardian.name,
                phone=guardian.phone or _("(no phone number on file)"),
            )
        )
    ]


ACTIONS = [
    Action(LeaveDecide.prefix, on_leave_decision),
    Action(AbsenceAnswer.prefix, on_absence_answer),
    Action(ContactGuardian.prefix, on_contact),
]
