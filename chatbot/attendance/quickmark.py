"""Quick roll-call by text: "缺 3 7 12", "absent 3, 7, 12", "病假 王小明" (diagram: quickmark.mmd).

Numbers are positions in the roll (as shown by /rollcall); names must match a pupil of the class,
and a name shared by several pupils is asked back. Everyone not named stays as already recorded
(present, if nothing was).
"""

from __future__ import annotations

import re
from datetime import date

from chatbot.attendance.payloads import QuickPick, QuickWho
from chatbot.attendance.rollcall import ROLLCALL_ROLES, may_rollcall, refusal_text
from chatbot.attendance.service import RollCallRefused, local_day, roster, submit_rollcall
from chatbot.attendance.texts import MARK_LABELS, class_label
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming
from chatbot.i18n import _
from chatbot.people.auth import Act, Target, can, classes_in_scope
from db.models import SchoolClass, Student
from db.models.attendance import Mark

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
    parsed = parse(msg.text or "")
    if parsed is None:
        return say(_("Write for example: 缺 3 7 12, or 病假 王小明."))
    mark, tokens = parsed
    ctx.data = {"mark": str(mark), "tokens": tokens, "chosen": {}}
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
    ctx.data["class_id"] = klass.id
    return resolve(ctx, klass)


def which(ctx: Context, msg: Incoming, chosen: QuickWho) -> Outcome:
    """Take the pupil chosen for an ambiguous name."""
    klass = ctx.session.get(SchoolClass, int(ctx.data.get("class_id", 0)))
    if klass is None or chosen.class_id != klass.id:
        return say(refusal_text("forbidden"))
    if not can(ctx.session, ctx.person, Act.ROLLCALL, Target.klass(klass.id)):
        return say(refusal_text("forbidden"))
    pending = ctx.data["pending"]
    if chosen.student_id not in {s.id for s in roster(ctx.session, klass.id)}:
        return say(refusal_text("forbidden"))
    ctx.data["chosen"] = {**ctx.data.get("chosen", {}), pending: chosen.student_id}
    return resolve(ctx, klass)


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
        lines.append(
            _(
                "Recorded for {klass}: {mark}: {names}. Everyone else stays as recorded (present by default). "
                "Send /rollcall to review."
            ).format(klass=class_label(klass), mark=_(MARK_LABELS[mark]), names=_numbered(pupils, took))
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
        "pick": State(buttons=[On(QuickPick, pick)], goes_to=("which", END)),
        "which": State(buttons=[On(QuickWho, which)], goes_to=("which", END)),
    },
    trigger=trigger,
    trigger_priority=30,
    allowed=may_rollcall,
)
