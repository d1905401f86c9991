"""/leave for guardians: child → days → sick or personal → optional reason (diagram: leave.mmd).

Free text such as "请假" or "孩子今天生病了" starts it too, with what the text already says filled in.
The class teacher gets the request through the outbox with approve / reject buttons (see actions.py).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from chatbot.attendance.leave_routing import can_be_decided, route_leave_request
from chatbot.attendance.payloads import (
    LeaveChild,
    LeaveDays,
    LeaveDecide,
    LeaveNoReason,
    LeaveSpan,
    LeaveType,
)
from chatbot.attendance.service import MAX_LEAVE_DAYS, create_leave, local_day, school_days_in
from chatbot.attendance.texts import LEAVE_LABELS, class_label
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.i18n import N_, _, format_day
from chatbot.people.auth import Act, Target, can, children_of, is_guardian
from db.models import Person, Student
from db.models.attendance import LeaveKind, LeaveRequest

TRIGGER_WORDS = ("请假", "請假", "生病", "病了", "发烧", "發燒", "不舒服", "看病", "住院")
SICK_WORDS = ("病", "烧", "燒", "不舒服", "住院", "sick")
DATE = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})[日号號]?")
DAY_ONLY = re.compile(r"(\d{1,2})[日号號]")
MAX_REASON = 1000  # the column's length: a longer reason is refused, never cut


def may_request(ctx: Context) -> bool:
    return is_guardian(ctx.person)


def trigger(ctx: Context, text: str) -> bool:
    return is_guardian(ctx.person) and any(word in text for word in TRIGGER_WORDS)


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Pick up hints from the text, then ask for the child if there are several."""
    text = msg.text or ""
    ctx.data = {}
    if any(word in text for word in SICK_WORDS):
        ctx.data["kind"] = LeaveKind.SICK.value
    if "今天" in text or "today" in text.lower():
        ctx.data["span"] = LeaveDays.TODAY.value
    elif "明天" in text or "tomorrow" in text.lower():
        ctx.data["span"] = LeaveDays.TOMORROW.value
    children = children_of(ctx.session, ctx.person)
    if not children:
        return say(_("Leave requests are for guardians of a pupil. Ask the school for an invite code."))
    if len(children) == 1:
        return child_chosen(ctx, children[0])
    rows = [[Button(child.name, LeaveChild(child.id).pack())] for child in children]
    return say(_("For which child?"), *rows, then="child")


def child(ctx: Context, msg: Incoming, chosen: LeaveChild) -> Outcome:
    """Take the child chosen by button (only the person's own children)."""
    mine = {c.id: c for c in children_of(ctx.session, ctx.person)}
    if chosen.student_id not in mine:
        return say(_("Sorry, you do not have permission to do that."))
    return child_chosen(ctx, mine[chosen.student_id])


def child_chosen(ctx: Context, student: Student) -> Outcome:
    """Remember the child; ask for the days unless the text said."""
    ctx.data["student_id"] = student.id
    today = local_day(student.school_class.school, ctx.now)
    ctx.data["today"] = today.isoformat()
    if "span" in ctx.data:
        return span_chosen(ctx, LeaveDays(ctx.data.pop("span")))
    return say(
        _("Leave for {child}: which days?").format(child=student.name),
        [
            Button(_("Today"), LeaveSpan(LeaveDays.TODAY).pack()),
            Button(_("Tomorrow"), LeaveSpan(LeaveDays.TOMORROW).pack()),
        ],
        [
            Button(_("Today and tomorrow"), LeaveSpan(LeaveDays.TWO).pack()),
            Button(_("Other days…"), LeaveSpan(LeaveDays.OTHER).pack()),
        ],
        then="span",
    )


def span(ctx: Context, msg: Incoming, pressed: LeaveSpan) -> Outcome:
    """Take a span button (dates typed straight away go to `dates`)."""
    return span_chosen(ctx, pressed.span)


def span_chosen(ctx: Context, chosen: LeaveDays) -> Outcome:
    """Turn a span into first/last day, or ask for dates."""
    today = date.fromisoformat(ctx.data["today"])
    spans = {
        LeaveDays.TODAY: (today, today),
        LeaveDays.TOMORROW: (today + timedelta(1), today + timedelta(1)),
        LeaveDays.TWO: (today, today + timedelta(1)),
    }
    if chosen not in spans:
        return say(_("Type the date, or the first and last day, e.g. 11-25 or 11-25 11-27."), then="dates")
    first, last = spans[chosen]
    return days_chosen(ctx, first, last)


def parse_dates(text: str, today: date) -> tuple[date, date] | None:
    """'11-25', '11月25日到11月27日', '2026-11-25 2026-11-27', '25号' → (first, last); None if unclear."""
    found: list[date] = []
    for year, month, day in DATE.findall(text):
        try:
            found.append(_nearest(today, int(month), int(day), int(year) if year else None))
        except ValueError:
            return None
    if not found:
        for day in DAY_ONLY.findall(text):
            try:
                found.append(_nearest(today, today.month, int(day), None))
            except ValueError:
                return None
    if not found or len(found) > 2:
        return None
    return found[0], found[-1]


def _nearest(today: date, month: int, day: int, year: int | None) -> date:
    if year is not None:
        return date(year, month, day)
    candidate = date(today.year, month, day)
    # "1-5" typed in December means next January.
    if candidate < today - timedelta(days=60):
        candidate = date(today.year + 1, month, day)
    return candidate


def dates(ctx: Context, msg: Incoming) -> Outcome:
    """Parse typed dates: not in the past (beyond a week), at most a month."""
    today = date.fromisoformat(ctx.data["today"])
    parsed = parse_dates(msg.text or "", today)
    if parsed is None:
        return say(
            _("I could not read that date. Type e.g. 11-25, or 11-25 11-27 for several days."), then="dates"
        )
    first, last = parsed
    if last < first or first < today - timedelta(days=7) or (last - first).days >= MAX_LEAVE_DAYS:
        return say(
            _("Please give days from the last week onwards, at most {days} days in a row.").format(
                days=MAX_LEAVE_DAYS
            ),
            then="dates",
        )
    return days_chosen(ctx, first, last)


def days_chosen(ctx: Context, first: date, last: date) -> Outcome:
    """Remember the days (there must be school on at least one); ask sick or personal unless known."""
    student = ctx.session.get(Student, int(ctx.data["student_id"]))
    if student is None:
        return say(_("Sorry, you do not have permission to do that."))
    if not school_days_in(ctx.session, student.school_class.school, first, last):
        return say(
            _("There is no school on {days}, so no leave is needed.").format(days=days_text(first, last))
        )
    ctx.data["first"], ctx.data["last"] = first.isoformat(), last.isoformat()
    if "kind" in ctx.data:
        return ask_reason(ctx)
    return say(
        _("Sick leave or personal leave?"),
        [
            Button(_("🤒 Sick"), LeaveType(LeaveKind.SICK).pack()),
            Button(_("📝 Personal"), LeaveType(LeaveKind.PERSONAL).pack()),
        ],
        then="kind",
    )


def kind(ctx: Context, msg: Incoming, pressed: LeaveType) -> Outcome:
    """Take sick or personal."""
    chosen = pressed.kind
    if chosen not in {k.value for k in LeaveKind}:
        return say(_("Please choose one of the buttons."), then="kind")
    ctx.data["kind"] = chosen
    return ask_reason(ctx)


def ask_reason(ctx: Context) -> Outcome:
    """Ask for an optional reason."""
    return say(
        _("Anything the teacher should know? Type it, or skip."),
        [Button(_("Skip"), LeaveNoReason(True).pack())],
        then="reason",
    )


def skip_reason(ctx: Context, msg: Incoming, pressed: LeaveNoReason) -> Outcome:
    """Send the request without a reason."""
    return send_request(ctx, None)


def typed_reason(ctx: Context, msg: Incoming) -> Outcome:
    """Send the request with the typed reason; a reason too long is refused whole, never cut."""
    text = (msg.text or "").strip()
    if len(text) > MAX_REASON:
        return say(
            _("That is {length} characters; please keep the reason under {limit}, or skip.").format(
                length=len(text), limit=MAX_REASON
            ),
            [Button(_("Skip"), LeaveNoReason(True).pack())],
            then="reason",
        )
    return send_request(ctx, text or None)


def send_request(ctx: Context, text: str | None) -> Outcome:
    """Create the request, route it, and tell the guardian exactly where it went."""
    assert ctx.person is not None
    student = ctx.session.get(Student, int(ctx.data["student_id"]))
    if student is None or not can(ctx.session, ctx.person, Act.LEAVE_REQUEST, Target.student(student.id)):
        return say(_("Sorry, you do not have permission to do that."))
    first, last = date.fromisoformat(ctx.data["first"]), date.fromisoformat(ctx.data["last"])
    if not can_be_decided(ctx.session, student):
        # Checked before the request is saved: a request nobody can answer must not stay pending.
        return say(_("Your child's class has no class teacher in the system yet. Please phone the school."))
    leave = create_leave(
        ctx.session, ctx.person, student, LeaveKind(ctx.data["kind"]), first, last, text, ctx.now
    )
    routed = route_leave_request(
        ctx.session, leave, student, render_request(leave, student, ctx.person), ctx.now
    )
    ctx.audit("attendance.leave.request", f"leave:{leave.id}", student_id=student.id, routed=routed.teacher)
    what = {"kind": _(LEAVE_LABELS[leave.kind]), "child": student.name, "days": days_text(first, last)}
    if routed.teacher:
        text = _("Sent to the class teacher: {kind} for {child}, {days}. You will get the answer here.")
    elif routed.principals:
        what["principals"] = _(", ").join(routed.principals)
        text = _(
            "The class teacher cannot be reached by chat yet, so this was sent to the principal ({principals}):"
            " {kind} for {child}, {days}. You will get the answer here."
        )
    else:
        text = _(
            "Saved: {kind} for {child}, {days}. Nobody at the school can receive it by chat yet; it waits"
            " for the class teacher, and the days count as leave until then. Please also phone the school."
        )
    return say(text.format(**what), then=END)


def days_text(first: date, last: date) -> str:
    if first == last:
        return format_day(first)
    return _("{first} to {last}").format(first=format_day(first), last=format_day(last))


def render_request(leave: LeaveRequest, student: Student, guardian: Person):  # type: ignore[no-untyped-def]
    """The teacher's copy, rendered in the teacher's language."""
    leave_id, kind_label = leave.id, LEAVE_LABELS[leave.kind]
    first, last, note = leave.first_day, leave.last_day, leave.reason
    pupil, klass, who = student.name, student.school_class, guardian.name

    def render() -> Reply:
        lines = [
            _("📝 Leave request: {pupil} ({klass}), {kind}, {days}. From {guardian}.").format(
                pupil=pupil,
                klass=class_label(klass),
                kind=_(kind_label),
                days=days_text(first, last),
                guardian=who,
            )
        ]
        if note:
            lines.append(_("Reason: {reason}").format(reason=note))
        return Reply(
            "\n".join(lines),
            [
                [
                    Button(_("✅ Approve"), LeaveDecide(leave_id, True).pack()),
                    Button(_("❌ Reject"), LeaveDecide(leave_id, False).pack()),
                ]
            ],
        )

    return render


FLOW = Flow.create(
    "leave",
    Entry(start, goes_to=("child", "span", "kind", "reason", END)),
    {
        "child": State(buttons=[On(LeaveChild, child)], goes_to=("span", "kind", "reason", END)),
        "span": State(buttons=[On(LeaveSpan, span)], text=dates, goes_to=("dates", "kind", "reason", END)),
        "dates": State(text=dates, goes_to=("dates", "kind", "reason", END)),
        "kind": State(buttons=[On(LeaveType, kind)], goes_to=("kind", "reason")),
        "reason": State(buttons=[On(LeaveNoReason, skip_reason)], text=typed_reason, goes_to=("reason", END)),
    },
    commands=("leave",),
    trigger=trigger,
    trigger_priority=40,
    allowed=may_request,
    help=N_("ask for leave for your child"),
    help_order=10,
)
