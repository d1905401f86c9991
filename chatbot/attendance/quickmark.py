"""Quick roll-call by text: "缺 3 7 12", "absent 3, 7, 12", "病假 王小明" (diagram: quickmark.mmd).

Numbers are positions in the roll (as shown by /rollcall); names must match a pupil of the class,
and a name shared by several pupils is asked back. Everyone not named stays as already recorded
(present, if nothing was).

Roll-call dialogs are bound to their school-local day (this module holds the rule, rollcall.py uses
it): a question or a /rollcall list left open takes nothing on a later day, and a list opened
before its day's cutoff takes nothing once the cutoff has passed. The teacher is told the old one
was closed, and a quick mark sent then is recorded for today instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select

from chatbot.attendance.payloads import QuickPick, QuickWho
from chatbot.attendance.service import RollCallRefused, cutoff_at, local_day, roster, submit_rollcall
from chatbot.attendance.texts import MARK_LABELS, class_label
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.i18n import _, format_day
from chatbot.people.auth import Act, Target, can, classes_in_scope, has_role
from db.models import DialogState, Role, School, SchoolClass, Student
from db.models.attendance import Mark

ROLLCALL_ROLES = (Role.CLASS_TEACHER, Role.TEACHER)

KEYWORDS: dict[str, Mark] = {
    "缺": Mark.ABSENT,
    "缺勤": Mark.ABSENT,
    "缺席": Mark.ABSENT,
    "缺課": Mark.ABSENT,
    "缺课": Mark.ABSENT,
    "absent": Mark.ABSENT,
    "病假": Mark.SICK,
    "sick": Mark.SICK,
    "事假": Mark.PERSONAL,
    "personal": Mark.PERSONAL,
    "迟到": Mark.LATE,
    "遲到": Mark.LATE,
    "late": Mark.LATE,
}
# "病假王小明" needs no space, but a bare "缺" or an English word must be followed by a separator or a
# number, so ordinary messages ("缺少材料", "latest news") are not taken for roll-call marks.
_LONG = [k for k in KEYWORDS if len(k) > 1 and not k.isascii()]
_SHORT = [k for k in KEYWORDS if k not in _LONG]
PATTERN = re.compile(
    r"^\s*(?:("
    + "|".join(sorted(map(re.escape, _LONG), key=len, reverse=True))
    + r")[\s:：,，、]*|("
    + "|".join(sorted(map(re.escape, _SHORT), key=len, reverse=True))
    + r")(?:[\s:：,，、]+|(?=\d)))(.+)$",
    re.IGNORECASE,
)
SPLIT = re.compile(r"[\s,，、;；]+")


def may_rollcall(ctx: Context) -> bool:
    return has_role(ctx.person, *ROLLCALL_ROLES)


def refusal_text(code: str, klass: SchoolClass | None = None, day: date | None = None) -> str:
    if code == "not_school_day" and day is not None:
        return _("{day} is not a school day, so there is no roll-call. Nothing was recorded.").format(
            day=format_day(day)
        )
    if code == "after_cutoff":
        return _("The roll-call cutoff has passed. Only the class teacher can change it now.")
    return _("Sorry, you do not have permission to do that.")


# --- dialogs bound to their day ----------------------------------------------------------------


def closed_notice(school: School, day: date, touched: datetime, now: datetime, *, form: bool) -> str | None:
    """Why a dialog of the school-local `day`, last written at `touched`, takes nothing at `now`; None if it may.

    Any roll-call dialog ends with its day. A /rollcall list (`form`) written before the day's cutoff
    also ends at the cutoff; one the class teacher opened after it stays open until the day ends.
    Every step checks this first, so `touched` before the cutoff means the list was opened before it.
    """
    if local_day(school, now) == day:
        if form and touched < cutoff_at(school, day) <= now:
            return _(
                "The roll-call cutoff for {day} has passed, so the list opened before it was not submitted "
                "and has been closed."
            ).format(day=format_day(day))
        return None
    if form:
        return _("The roll-call list for {day} was not submitted and has been closed.").format(
            day=format_day(day)
        )
    return _(
        "The roll-call marks you sent on {day} were not recorded and the question has been closed."
    ).format(day=format_day(day))


def earlier_list_notice(ctx: Context) -> str | None:
    """The closed-list notice when this update dropped an open /rollcall list of another day or past its
    cutoff (a command starts afresh, an idle dialog is forgotten: the router clears it before the step)."""
    if ctx.dialog is not None or not ctx.dialog_stored:
        return None
    row = ctx.session.execute(
        select(DialogState.flow, DialogState.state, DialogState.data, DialogState.updated_at).where(
            DialogState.identity_id == ctx.identity.id
        )
    ).first()
    if row is None or (row.flow, row.state) != ("rollcall", "marking") or "day" not in (row.data or {}):
        return None
    klass = ctx.session.get(SchoolClass, int(row.data.get("class_id", 0)))
    if klass is None:
        return None
    return closed_notice(
        klass.school, date.fromisoformat(row.data["day"]), row.updated_at, ctx.now, form=True
    )


def with_notice(notice: str | None, outcome: Outcome) -> Outcome:
    """The outcome, after the notice that an earlier dialog was closed (if there is one)."""
    if notice is not None:
        outcome.replies.insert(0, Reply(notice))
    return outcome


def carry_over(ctx: Context, msg: Incoming, notice: str, *, ask: bool) -> Outcome:
    """An open dialog of an earlier day (or past its cutoff) is closed: say so, and take this message
    afresh, for today. A quick mark is recorded (naming the day); `ask` False (another flow's dialog)
    cannot ask back which class or pupil, so the teacher is asked to send it again."""
    if parse(msg.text or "") is None:
        return say(notice + "\n" + _("Send /rollcall to open today's list."))
    outcome = begin(ctx, msg, dated=True)
    if outcome.next_state is not END and not ask:
        return _closed(notice)
    return with_notice(notice, outcome)


def _quick_closed(ctx: Context, klass: SchoolClass | None) -> str | None:
    """The notice when this quick-mark question is of an earlier day at the class's school."""
    if klass is None:
        scope = classes_in_scope(ctx.session, ctx.person, *ROLLCALL_ROLES)
        klass = scope[0] if scope else None
    if klass is None or ctx.dialog is None:
        return None
    touched = ctx.dialog.updated_at
    return closed_notice(klass.school, local_day(klass.school, touched), touched, ctx.now, form=False)


def _closed(notice: str) -> Outcome:
    """The dialog ends with the notice, and the teacher is asked to send the marks again."""
    return say(notice + "\n" + _("Send your marks again to record them for today."))


def parse(text: str) -> tuple[Mark, list[str]] | None:
    """('缺 3 7 12') → (ABSENT, ['3', '7', '12']); None when the text is not a quick mark."""
    match = PATTERN.match(text)
    if not match:
        return None
    tokens = [t for t in SPLIT.split(match.group(3)) if t]
    if not tokens or len(tokens) > 60:
        return None
    return KEYWORDS[(match.group(1) or match.group(2)).lower()], tokens


def trigger(ctx: Context, text: str) -> bool:
    return may_rollcall(ctx) and parse(text) is not None


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Parse the text, then pick the class (if several) and record."""
    notice = earlier_list_notice(ctx)
    return with_notice(notice, begin(ctx, msg, dated=notice is not None))


def begin(ctx: Context, msg: Incoming, *, dated: bool = False) -> Outcome:
    """Start a quick mark for today; `dated`: the confirmation names the day (after a closed notice)."""
    parsed = parse(msg.text or "")
    if parsed is None:
        return say(_("Write for example: 缺 3 7 12, or 病假 王小明."))
    mark, tokens = parsed
    ctx.data = {"mark": str(mark), "tokens": tokens, "chosen": {}}
    if dated:
        ctx.data["dated"] = True
    classes = classes_in_scope(ctx.session, ctx.person, *ROLLCALL_ROLES)
    if not classes:
        return say(_("You have no class to take roll-call for."))
    if len(classes) == 1:
        ctx.data["class_id"] = classes[0].id
        return resolve(ctx, classes[0])
    rows = [[Button(f"{k.school.name} {class_label(k)}", QuickPick(k.id).pack())] for k in classes[:20]]
    return say(_("Which class?"), *rows, then="pick")


def pick(ctx: Context, msg: Incoming, chosen: QuickPick) -> Outcome:
    """Use the class chosen by button."""
    klass = ctx.session.get(SchoolClass, chosen.class_id)
    if klass is None or not can(ctx.session, ctx.person, Act.ROLLCALL, Target.klass(klass.id)):
        return say(refusal_text("forbidden"))
    if (notice := _quick_closed(ctx, klass)) is not None:
        return _closed(notice)
    ctx.data["class_id"] = klass.id
    return resolve(ctx, klass)


def which(ctx: Context, msg: Incoming, chosen: QuickWho) -> Outcome:
    """Take the pupil chosen for an ambiguous name."""
    klass = ctx.session.get(SchoolClass, int(ctx.data.get("class_id", 0)))
    if klass is None or chosen.class_id != klass.id:
        return say(refusal_text("forbidden"))
    if not can(ctx.session, ctx.person, Act.ROLLCALL, Target.klass(klass.id)):
        return say(refusal_text("forbidden"))
    if (notice := _quick_closed(ctx, klass)) is not None:
        return _closed(notice)
    pending = ctx.data["pending"]
    if chosen.student_id not in {s.id for s in roster(ctx.session, klass.id)}:
        return say(refusal_text("forbidden"))
    ctx.data["chosen"] = {**ctx.data.get("chosen", {}), pending: chosen.student_id}
    return resolve(ctx, klass)


def waiting_text(ctx: Context, msg: Incoming) -> Outcome:
    """Typed text while a class or pupil button is awaited: a new quick mark on a later day starts
    afresh; otherwise ask for a button and keep waiting."""
    klass = ctx.session.get(SchoolClass, int(ctx.data.get("class_id", 0)))
    notice = _quick_closed(ctx, klass)
    if notice is not None:
        return carry_over(ctx, msg, notice, ask=True)
    assert ctx.dialog is not None
    return Outcome([Reply(_("Please choose one of the buttons."))], ctx.dialog.state)


def resolve(ctx: Context, klass: SchoolClass) -> Outcome:
    """Turn numbers and names into pupils; ask about the first ambiguous name; record when done."""
    pupils = roster(ctx.session, klass.id)
    chosen: dict[str, int] = ctx.data.get("chosen", {})
    picked: list[Student] = []
    for token in ctx.data["tokens"]:
        if token.isdecimal():
            number = int(token)
            if not 1 <= number <= len(pupils):
                return say(
                    _("There is no number {number} in {klass}.").format(
                        number=number, klass=class_label(klass)
                    )
                )
            picked.append(pupils[number - 1])
            continue
        if token in chosen:
            picked.append(next(p for p in pupils if p.id == chosen[token]))
            continue
        matches = [p for p in pupils if p.name == token]
        if not matches:
            return say(_("No pupil called {name} in {klass}.").format(name=token, klass=class_label(klass)))
        if len(matches) > 1:
            ctx.data["pending"] = token
            rows = [
                [Button(f"{pupils.index(p) + 1}.{p.name} ({p.student_no})", QuickWho(klass.id, p.id).pack())]
                for p in matches
            ]
            return say(
                _("There are {count} pupils called {name}. Which one?").format(
                    count=len(matches), name=token
                ),
                *rows,
                then="which",
            )
        picked.append(matches[0])
    return record(ctx, klass, pupils, picked)


def record(ctx: Context, klass: SchoolClass, pupils: list[Student], picked: list[Student]) -> Outcome:
    """Record the named pupils (one transaction) and confirm with their numbers."""
    assert ctx.person is not None
    mark = Mark(ctx.data["mark"])
    day: date = local_day(klass.school, ctx.now)
    try:
        result = submit_rollcall(
            ctx.session, ctx.person, klass, day, {p.id: mark for p in picked}, ctx.now, partial=True
        )
    except RollCallRefused as refused:
        return say(refusal_text(refused.code, klass, day))
    # Say what is stored: an approved leave is not turned into an unexplained absence.
    stored = result.marks
    took = [p for p in picked if stored.get(p.id) == mark]
    kept = [p for p in picked if stored.get(p.id) != mark]
    lines = []
    if took:
        template = (
            _(
                "Recorded for {klass}, {day}: {mark}: {names}. Everyone else stays as recorded "
                "(present by default). Send /rollcall to review."
            )
            if ctx.data.get("dated")
            else _(
                "Recorded for {klass}: {mark}: {names}. Everyone else stays as recorded (present by default). "
                "Send /rollcall to review."
            )
        )
        lines.append(
            template.format(
                klass=class_label(klass),
                day=format_day(day),
                mark=_(MARK_LABELS[mark]),
                names=_numbered(pupils, took),
            )
        )
    if kept:
        lines.append(
            _("Not marked {mark}, their approved leave stands: {names}.").format(
                mark=_(MARK_LABELS[mark]), names=_numbered(pupils, kept)
            )
        )
    return say("\n".join(lines), then=END)


def _numbered(pupils: list[Student], chosen: list[Student]) -> str:
    return "、".join(f"{pupils.index(p) + 1}.{p.name}" for p in chosen)


FLOW = Flow.create(
    "quickmark",
    Entry(start, goes_to=("pick", "which", END)),
    {
        "pick": State(buttons=[On(QuickPick, pick)], text=waiting_text, goes_to=("pick", "which", END)),
        "which": State(buttons=[On(QuickWho, which)], text=waiting_text, goes_to=("pick", "which", END)),
    },
    trigger=trigger,
    trigger_priority=30,
    allowed=may_rollcall,
)
