"""/todo: what waits for this member of staff, until it is handled (diagram: todo.mmd).

Pushed messages scroll away; this list is rebuilt from the database each time, so an item stays
until it is done, whatever else was typed in between: pending leave requests (approve / refuse
with a reason), today's answers from parents, open cases assigned to this person, and the
guardians of their classes no message can reach (with phone numbers, for the class teacher only).
"""

from __future__ import annotations

from sqlalchemy import or_, select

from chatbot.attendance.actions import decide_and_tell
from chatbot.attendance.leave import days_text
from chatbot.attendance.payloads import CaseOpen, LeaveDecide
from chatbot.attendance.service import local_day
from chatbot.attendance.texts import ANSWER_LABELS, LEAVE_LABELS, class_label
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, Outcome, State, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.router import deny_reply
from chatbot.delivery.outbox import reachable_people
from chatbot.i18n import N_, _
from chatbot.people.auth import Act, Target, can, has_role, scopes_with
from db.models import Guardian, Person, Role, SchoolClass, ScopeType, Student
from db.models.attendance import AttendanceRecord, CaseStatus, DropoutCase, LeaveRequest, LeaveStatus

STAFF = (Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN)
MAX_NOTE = 500  # LeaveRequest.decision_note
LIST_LIMIT = 20


def may_use(ctx: Context) -> bool:
    return has_role(ctx.person, *STAFF)


def _my_class_ids(ctx: Context) -> list[int]:
    return [
        scope_id for kind, scope_id in scopes_with(ctx.person, Role.CLASS_TEACHER) if kind == ScopeType.CLASS
    ]


def _my_school_ids(ctx: Context) -> list[int]:
    return [
        scope_id for kind, scope_id in scopes_with(ctx.person, Role.PRINCIPAL) if kind == ScopeType.SCHOOL
    ]


def pending_leave(ctx: Context) -> list[LeaveRequest]:
    """Pending requests this person may decide: their classes' (class teacher), their school's (principal)."""
    classes, schools = _my_class_ids(ctx), _my_school_ids(ctx)
    if not classes and not schools:
        return []
    return list(
        ctx.session.scalars(
            select(LeaveRequest)
            .join(Student, Student.id == LeaveRequest.student_id)
            .where(
                LeaveRequest.status == LeaveStatus.PENDING,
                or_(Student.class_id.in_(classes), Student.school_id.in_(schools)),
            )
            .order_by(LeaveRequest.first_day, LeaveRequest.id)
            .limit(LIST_LIMIT)
        )
    )


def _leave_section(ctx: Context, lines: list[str], rows: list[list[Button]]) -> None:
    for leave in pending_leave(ctx):
        student = ctx.session.get(Student, leave.student_id)
        assert student is not None
        line = _("📝 {pupil} ({klass}): {kind}, {days}").format(
            pupil=student.name,
            klass=class_label(student.school_class),
            kind=_(LEAVE_LABELS[leave.kind]),
            days=days_text(leave.first_day, leave.last_day),
        )
        lines.append(line + (_(" — {reason}").format(reason=leave.reason) if leave.reason else ""))
        rows.append(
            [
                Button(_("✅ {pupil}").format(pupil=student.name), LeaveDecide(leave.id, True).pack()),
                Button(_("❌ {pupil}").format(pupil=student.name), LeaveDecide(leave.id, False).pack()),
            ]
        )


def _answers_section(ctx: Context, lines: list[str]) -> None:
    """Today's answers from parents about their children's absences, in the class teacher's classes."""
    classes = ctx.session.scalars(select(SchoolClass).where(SchoolClass.id.in_(_my_class_ids(ctx)))).all()
    for klass in classes:
        today = local_day(klass.school, ctx.now)
        for record, pupil in ctx.session.execute(
            select(AttendanceRecord, Student.name)
            .join(Student, Student.id == AttendanceRecord.student_id)
            .where(
                AttendanceRecord.class_id == klass.id,
                AttendanceRecord.day == today,
                AttendanceRecord.guardian_answer.is_not(None),
            )
            .order_by(Student.student_no)
        ):
            assert record.guardian_answer is not None
            lines.append(
                _("💬 {pupil} ({klass}), today: {answer}").format(
                    pupil=pupil, klass=class_label(klass), answer=_(ANSWER_LABELS[record.guardian_answer])
                )
            )


def _cases_section(ctx: Context, lines: list[str], rows: list[list[Button]]) -> None:
    """Open cases assigned to this person."""
    assert ctx.person is not None
    for case in ctx.session.scalars(
        select(DropoutCase)
        .where(DropoutCase.status == CaseStatus.OPEN, DropoutCase.assignee_id == ctx.person.id)
        .order_by(DropoutCase.level.desc(), DropoutCase.opened_on)
        .limit(LIST_LIMIT)
    ):
        label = _("⚠️ Case #{id}: {pupil}").format(id=case.id, pupil=case.student.name)
        lines.append(label)
        rows.append([Button(label, CaseOpen(case.id).pack())])


def _unreachable_section(ctx: Context, lines: list[str]) -> int:
    """Pupils of the class teacher's own classes whose guardians no message can reach, with phones."""
    links = ctx.session.execute(
        select(Student.id, Student.name, Guardian.person_id, Guardian.relation, Person.name, Person.phone)
        .join(Guardian, Guardian.student_id == Student.id)
        .join(Person, Person.id == Guardian.person_id)
        .where(Student.class_id.in_(_my_class_ids(ctx)), Student.active.is_(True))
        .order_by(Student.class_id, Student.student_no, Guardian.person_id)
    ).all()
    reachable = reachable_people(ctx.session, [link.person_id for link in links])
    # A pupil with any reachable guardian hears from the school: only whole families are listed.
    heard = {link.id for link in links if link.person_id in reachable}
    pupils: set[int] = set()
    for student_id, pupil, _person_id, relation, name, phone in links:
        if student_id in heard:
            continue
        pupils.add(student_id)
        lines.append(
            _("📵 {pupil}: {relation} {name}, phone {phone}").format(
                pupil=pupil,
                relation=relation or _("guardian"),
                name=name,
                phone=phone or _("(no phone number on file)"),
            )
        )
    return len(pupils)


def show_todo(ctx: Context, msg: Incoming) -> Outcome:
    """Build the list from the database: every item that still waits for this person."""
    lines: list[str] = []
    rows: list[list[Button]] = []
    leave: list[str] = []
    _leave_section(ctx, leave, rows)
    answers: list[str] = []
    _answers_section(ctx, answers)
    cases: list[str] = []
    _cases_section(ctx, cases, rows)
    sections = [
        [title, *found]
        for title, found in (
            (_("Leave requests waiting for you:"), leave),
            (_("Answers from parents today:"), answers),
            (_("Open cases assigned to you:"), cases),
        )
        if found
    ]
    unreachable: list[str] = []
    pupils = _unreachable_section(ctx, unreachable)
    if pupils:
        title = _(
            "Families no message reaches ({count} pupils): please phone them or give them an invite code."
        )
        sections.append([title.format(count=pupils), *unreachable])
        ctx.audit("attendance.todo.unreachable_phones", "todo", pupils=pupils)
    if not sections:
        return say(_("Nothing waits for you. ✅"))
    for section in sections:
        lines.extend([*section, ""])
    return Outcome([Reply("\n".join(lines).strip(), rows)], END)


def refuse(ctx: Context, msg: Incoming) -> Outcome:
    """The reason for a refusal: record it and tell the guardian."""
    text = (msg.text or "").strip()
    if not text:
        return say(_("Please type the reason, or /cancel."), then="refuse")
    if len(text) > MAX_NOTE:
        return say(
            _("That is {length} characters; please keep it under {limit}.").format(
                length=len(text), limit=MAX_NOTE
            ),
            then="refuse",
        )
    leave = ctx.session.get(LeaveRequest, int(ctx.data.get("leave_id", 0)))
    if leave is None or not can(ctx.session, ctx.person, Act.LEAVE_DECIDE, Target.student(leave.student_id)):
        return Outcome([deny_reply(ctx)])
    reply = decide_and_tell(ctx, leave, approve=False, note=text)
    return Outcome([Reply(reply.text)])


FLOW = Flow.create(
    "todo",
    Entry(show_todo, goes_to=(END,)),
    {"refuse": State(text=refuse, goes_to=("refuse", END))},
    commands=("todo",),
    opened_by_actions=("refuse",),
    allowed=may_use,
    help=N_("your to-do list: leave requests, answers, cases"),
    help_order=5,
)
