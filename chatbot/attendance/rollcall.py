"""/rollcall: everyone present by default, tap the exceptions, submit once (diagram: rollcall.mmd)."""

from __future__ import annotations

from datetime import date

from chatbot.attendance.payloads import RollPage, RollPick, RollSubmit, RollTap

# The roles, the refusals and the rule binding a list to its day are shared with the quick marks.
from chatbot.attendance.quickmark import (
    ROLLCALL_ROLES,
    carry_over,
    closed_notice,
    earlier_list_notice,
    may_rollcall,
    refusal_text,
    with_notice,
)
from chatbot.attendance.service import (
    RollCallRefused,
    check_rollcall_allowed,
    local_day,
    marks_for,
    next_mark,
    roster,
    submit_rollcall,
)
from chatbot.attendance.texts import MARK_ICONS, MARK_LABELS, class_label
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.i18n import N_, _, format_day
from chatbot.people.auth import Act, Target, can, classes_in_scope
from db.models import SchoolClass
from db.models.attendance import Mark

PAGE_SIZE = 48  # one page for almost every class; Telegram allows 100 buttons per message
PER_ROW = 3


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Open the teacher's class, or ask which one if they teach several; first say so if this
    /rollcall closed a list left open from an earlier day or past its cutoff."""
    notice = earlier_list_notice(ctx)
    classes = classes_in_scope(ctx.session, ctx.person, *ROLLCALL_ROLES)
    if not classes:
        return with_notice(notice, say(_("You have no class to take roll-call for.")))
    if len(classes) == 1:
        return with_notice(notice, open_class(ctx, classes[0]))
    rows = [[Button(f"{k.school.name} {class_label(k)}", RollPick(k.id).pack())] for k in classes[:20]]
    return with_notice(notice, say(_("Which class?"), *rows, then="pick"))


def pick(ctx: Context, msg: Incoming, chosen: RollPick) -> Outcome:
    """Open the class chosen by button."""
    klass = ctx.session.get(SchoolClass, chosen.class_id)
    if klass is None or not can(ctx.session, ctx.person, Act.ROLLCALL, Target.klass(klass.id)):
        return say(refusal_text("forbidden"))
    return open_class(ctx, klass)


def open_class(ctx: Context, klass: SchoolClass) -> Outcome:
    """Check the day, pre-mark known leave and earlier answers, show the list."""
    day = local_day(klass.school, ctx.now)
    try:
        check_rollcall_allowed(ctx.session, ctx.person, klass, day, ctx.now)
    except RollCallRefused as refused:
        return say(refusal_text(refused.code, klass, day))
    known = {str(sid): str(mark) for sid, mark in marks_for(ctx.session, klass.id, day).items()}
    # "opened" is what the list showed; on submit only the teacher's own changes to it are applied,
    # so leave approved while the list was open is not undone by it.
    ctx.data = {
        "class_id": klass.id,
        "day": day.isoformat(),
        "page": 0,
        "marks": known,
        "opened": dict(known),
    }
    return Outcome([render(ctx, klass)], "marking")


def list_closed(ctx: Context, klass: SchoolClass) -> str | None:
    """Why the open list takes nothing now (its day is over, or its cutoff passed since it was opened)."""
    touched = ctx.dialog.updated_at if ctx.dialog is not None else ctx.now
    return closed_notice(klass.school, date.fromisoformat(ctx.data["day"]), touched, ctx.now, form=True)


def _open_list(ctx: Context, class_id: int) -> SchoolClass | Outcome:
    """The class on the open list, re-authorized; a refusal when the button names another class
    (forged or stale) or the teacher may no longer take its roll-call; the list closed when it is of
    an earlier day or past its cutoff, so it is never submitted under a day it was not meant for."""
    klass = ctx.session.get(SchoolClass, int(ctx.data.get("class_id", 0)))
    if klass is None or not can(ctx.session, ctx.person, Act.ROLLCALL, Target.klass(klass.id)):
        return say(refusal_text("forbidden"))
    if (notice := list_closed(ctx, klass)) is not None:
        return say(notice + "\n" + _("Send /rollcall to open today's list."))
    if class_id != klass.id:
        # Keep the teacher's list open: only the forged or stale button is refused.
        return Outcome([Reply(refusal_text("forbidden"))], "marking")
    return klass


def tap(ctx: Context, msg: Incoming, tapped: RollTap) -> Outcome:
    """Cycle a pupil's mark: absent → sick → personal → late → present."""
    klass = _open_list(ctx, tapped.class_id)
    if isinstance(klass, Outcome):
        return klass
    if tapped.student_id not in {s.id for s in roster(ctx.session, klass.id)}:
        return Outcome([Reply(refusal_text("forbidden"))], "marking")
    marks = dict(ctx.data.get("marks", {}))
    current = marks.get(str(tapped.student_id))
    following = next_mark(Mark(current) if current else None)
    if following is None:
        marks.pop(str(tapped.student_id), None)
    else:
        marks[str(tapped.student_id)] = str(following)
    ctx.data["marks"] = marks
    return Outcome([render(ctx, klass, edit=True)], "marking")


def turn_page(ctx: Context, msg: Incoming, page: RollPage) -> Outcome:
    """Show another page of a long class list."""
    klass = _open_list(ctx, page.class_id)
    if isinstance(klass, Outcome):
        return klass
    ctx.data["page"] = max(0, page.page)
    return Outcome([render(ctx, klass, edit=True)], "marking")


def submit_list(ctx: Context, msg: Incoming, pressed: RollSubmit) -> Outcome:
    """Submit the list as it stands."""
    klass = _open_list(ctx, pressed.class_id)
    if isinstance(klass, Outcome):
        return klass
    return submit(ctx, klass)


def marking_text(ctx: Context, msg: Incoming) -> Outcome:
    """Typed text while the list is open: say how the list works and show it again. On a later day (or
    past the cutoff) the list is closed instead and the text taken afresh: a quick mark goes to today."""
    klass = ctx.session.get(SchoolClass, int(ctx.data.get("class_id", 0)))
    if klass is None or not can(ctx.session, ctx.person, Act.ROLLCALL, Target.klass(klass.id)):
        return say(refusal_text("forbidden"))
    if (notice := list_closed(ctx, klass)) is not None:
        return carry_over(ctx, msg, notice, ask=False)
    return Outcome(
        [Reply(_("Tap a pupil to change their mark, then press Submit.")), render(ctx, klass)], "marking"
    )


def merged_marks(current: dict[int, Mark], opened: dict[str, str], chosen: dict[str, str]) -> dict[int, Mark]:
    """Today's marks as they are now, with the pupils the teacher changed on the list set as she chose.

    A pupil she did not touch keeps what was recorded meanwhile (a leave approved after the list opened).
    """
    merged = dict(current)
    for sid in set(opened) | set(chosen):
        if opened.get(sid) == chosen.get(sid):
            continue
        if sid in chosen:
            merged[int(sid)] = Mark(chosen[sid])
        else:
            merged.pop(int(sid), None)
    return merged


def submit(ctx: Context, klass: SchoolClass) -> Outcome:
    """Record the roll-call in one transaction and summarise it."""
    assert ctx.person is not None
    day = date.fromisoformat(ctx.data["day"])
    marks = merged_marks(
        marks_for(ctx.session, klass.id, day), ctx.data.get("opened", {}), ctx.data.get("marks", {})
    )
    try:
        result = submit_rollcall(ctx.session, ctx.person, klass, day, marks, ctx.now)
    except RollCallRefused as refused:
        return say(refusal_text(refused.code, klass, day))
    pupils = len(roster(ctx.session, klass.id))
    away = result.absent + result.sick + result.personal
    template = (
        _("Roll-call updated: {klass}, {day}. Present {present} of {total}.")
        if result.replaced
        else _("Roll-call recorded: {klass}, {day}. Present {present} of {total}.")
    )
    lines = [
        template.format(klass=class_label(klass), day=format_day(day), present=pupils - away, total=pupils)
    ]
    details = [
        (N_("absent"), result.absent),
        (N_("sick leave"), result.sick),
        (N_("personal leave"), result.personal),
        (N_("late"), result.late),
    ]
    lines.append(" · ".join(f"{_(label)} {count}" for label, count in details if count))
    if result.absent:
        lines.append(_("Guardians of absent pupils will be asked at the cutoff."))
    return Outcome([Reply("\n".join(line for line in lines if line), edit=True)], END)


def render(ctx: Context, klass: SchoolClass, edit: bool = False) -> Reply:
    """The class list as buttons, one page at a time, with counts and Submit."""
    pupils = roster(ctx.session, klass.id)
    marks = ctx.data.get("marks", {})
    page = int(ctx.data.get("page", 0))
    pages = max(1, (len(pupils) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages - 1)
    shown = list(enumerate(pupils, start=1))[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[list[Button]] = []
    for start_index in range(0, len(shown), PER_ROW):
        rows.append(
            [
                Button(
                    f"{number}.{pupil.name}{MARK_ICONS[Mark(marks[str(pupil.id)]) if str(pupil.id) in marks else None]}",
                    RollTap(klass.id, pupil.id).pack(),
                )
                for number, pupil in shown[start_index : start_index + PER_ROW]
            ]
        )
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(Button(_("◀ Previous"), RollPage(klass.id, page - 1).pack()))
        if page < pages - 1:
            nav.append(Button(_("Next ▶"), RollPage(klass.id, page + 1).pack()))
        rows.append(nav)
    away = sum(1 for m in marks.values() if m != Mark.LATE)
    rows.append(
        [
            Button(
                _("✔ Submit ({present} present)").format(present=len(pupils) - away),
                RollSubmit(klass.id).pack(),
            )
        ]
    )
    counts = {m: sum(1 for v in marks.values() if v == m) for m in Mark}
    summary = " ".join(f"{MARK_ICONS[m]}{_(MARK_LABELS[m])} {counts[m]}" for m in Mark if counts[m])
    day = date.fromisoformat(ctx.data["day"])
    text = _("Roll-call {klass}, {day}. Everyone is present unless you tap them.").format(
        klass=class_label(klass), day=format_day(day)
    )
    legend = _("Tap: ❌absent → 🤒sick → 📝personal → ⏰late → ✅present")
    page_line = _("Page {page} of {pages}").format(page=page + 1, pages=pages) if pages > 1 else ""
    return Reply("\n".join(x for x in (text, legend, summary, page_line) if x), rows, edit=edit)


FLOW = Flow.create(
    "rollcall",
    Entry(start, goes_to=("pick", "marking", END)),
    {
        "pick": State(buttons=[On(RollPick, pick)], goes_to=("marking", END)),
        "marking": State(
            buttons=[On(RollTap, tap), On(RollPage, turn_page), On(RollSubmit, submit_list)],
            text=marking_text,
            goes_to=("marking", END),
        ),
    },
    commands=("rollcall", "attendance"),
    allowed=may_rollcall,
    help=N_("take today's roll-call"),
    help_order=20,
)
