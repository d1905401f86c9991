"""/cases: the dropout-risk ledger in chat (diagram: casework.mmd).

A class teacher sees the open cases of their classes, a principal their school's, an admin their
region's. Case buttons are stateless actions (they also sit on pushed alerts); only the home-visit
note needs a dialog step.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from chatbot.attendance.cases import CaseClosed, act_on_case
from chatbot.attendance.payloads import CaseAct, CaseActKind, CaseOpen, CaseReason
from chatbot.attendance.service import local_day
from chatbot.attendance.texts import EVENT_LABELS, LEVEL_LABELS, REASON_LABELS, class_label, trigger_text
from chatbot.core.context import Context
from chatbot.core.flow import END, Action, Entry, Flow, Outcome, State, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.payloads import BadPayload
from chatbot.core.router import deny_reply
from chatbot.i18n import N_, _, format_day, format_moment
from chatbot.people.auth import Act, Target, can, has_role, scopes_with
from db.models import Role, ScopeType
from db.models.attendance import CaseEvent, CaseEventKind, CaseStatus, DropoutCase, NotDropoutReason

CASE_ROLES = (Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN)
LIST_LIMIT = 30
MAX_NOTE = 1000


def may_view(ctx: Context) -> bool:
    return has_role(ctx.person, *CASE_ROLES)


def visible_cases(ctx: Context, status: CaseStatus = CaseStatus.OPEN) -> list[DropoutCase]:
    """Cases in the person's scopes (or assigned to them), newest first."""
    conditions = []
    for scope_type, scope_id in scopes_with(ctx.person, *CASE_ROLES):
        column = {
            ScopeType.CLASS: DropoutCase.class_id,
            ScopeType.SCHOOL: DropoutCase.school_id,
            ScopeType.REGION: DropoutCase.region_id,
        }[scope_type]
        conditions.append(column == scope_id)
    if ctx.person is not None:
        conditions.append(DropoutCase.assignee_id == ctx.person.id)
    return list(
        ctx.session.scalars(
            select(DropoutCase)
            .where(DropoutCase.status == status, or_(*conditions))
            .order_by(DropoutCase.level.desc(), DropoutCase.opened_on.desc(), DropoutCase.id.desc())
            .limit(LIST_LIMIT)
        )
    )


def list_cases(ctx: Context, msg: Incoming) -> Outcome:
    """Open cases as buttons, most escalated first."""
    cases = visible_cases(ctx)
    if not cases:
        return say(_("No open dropout-risk cases. 👍"))
    rows = []
    for case in cases:
        student = case.student
        rows.append(
            [
                Button(
                    f"{student.name} · {class_label(student.school_class)} · {_(LEVEL_LABELS[case.level])}",
                    CaseOpen(case.id).pack(),
                )
            ]
        )
    return say(_("Open dropout-risk cases ({count}):").format(count=len(cases)), *rows)


def note(ctx: Context, msg: Incoming) -> Outcome:
    """Log the home visit with the typed note (the dialog a home-visit button opened)."""
    text = (msg.text or "").strip()[:MAX_NOTE]
    if not text:
        return say(_("Please type a short note about the home visit, or /cancel."), then="note")
    case = ctx.session.get(DropoutCase, int(ctx.data.get("case_id", 0)))
    if case is None or not can(ctx.session, ctx.person, Act.CASE_ACT, Target.student(case.student_id)):
        return Outcome([deny_reply(ctx)])
    return Outcome(_act(ctx, case, CaseEventKind.HOME_VISIT, note=text), END)


def _today(ctx: Context, case: DropoutCase) -> date:
    return local_day(case.student.school_class.school, ctx.now)


def _act(
    ctx: Context,
    case: DropoutCase,
    kind: CaseEventKind,
    note: str | None = None,
    reason: NotDropoutReason | None = None,
) -> list[Reply]:
    assert ctx.person is not None
    try:
        act_on_case(ctx.session, case, ctx.person, kind, ctx.now, _today(ctx, case), note=note, reason=reason)
    except CaseClosed:
        return [Reply(_("This case is already closed."))]
    return [Reply(_("Logged: {what}.").format(what=_(EVENT_LABELS[kind]))), case_card(ctx, case)]


def case_card(ctx: Context, case: DropoutCase) -> Reply:
    """The case with its ledger and, for those allowed to act, the action buttons."""
    student = case.student
    lines = [
        _("Case #{id}: {pupil}, {school} {klass}").format(
            id=case.id,
            pupil=student.name,
            school=student.school_class.school.name,
            klass=class_label(student.school_class),
        ),
        _("Why: {why}. Opened {day}. Now with: {level}.").format(
            why=trigger_text(case.trigger, case.detail),
            day=format_day(case.opened_on),
            level=_(LEVEL_LABELS[case.level]),
        ),
    ]
    if case.status == CaseStatus.CLOSED:
        lines.append(_("Closed."))
    events = ctx.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        .limit(8)
    )
    tz = student.school_class.school.tz
    for event in events:
        line = f"• {format_moment(event.at, tz)} {_(EVENT_LABELS[event.kind])}"
        if event.kind == CaseEventKind.NOT_DROPOUT and event.note in {r.value for r in NotDropoutReason}:
            line += ": " + _(REASON_LABELS[NotDropoutReason(event.note)])
        elif event.note and event.kind == CaseEventKind.HOME_VISIT:
            line += ": " + event.note
        lines.append(line)
    rows: list[list[Button]] = []
    if case.status == CaseStatus.OPEN and can(
        ctx.session, ctx.person, Act.CASE_ACT, Target.student(case.student_id)
    ):
        rows = [
            [
                Button(_("📞 Contacted guardian"), CaseAct(case.id, CaseActKind.CONTACTED).pack()),
                Button(_("🏠 Home visit"), CaseAct(case.id, CaseActKind.HOME_VISIT).pack()),
            ],
            [
                Button(_("🎒 Back at school"), CaseAct(case.id, CaseActKind.RETURNED).pack()),
                Button(_("Not a dropout…"), CaseAct(case.id, CaseActKind.NOT_DROPOUT).pack()),
            ],
            [Button(_("📋 Report as dropout"), CaseAct(case.id, CaseActKind.DROPOUT_REPORTED).pack())],
        ]
    return Reply("\n".join(lines), rows)


def _case_for(ctx: Context, case_id: int, act: Act) -> DropoutCase | None:
    case = ctx.session.get(DropoutCase, case_id)
    if case is None or not can(ctx.session, ctx.person, act, Target.student(case.student_id)):
        return None
    return case


def on_open(ctx: Context, msg: Incoming) -> list[Reply]:
    """Show one case (re-authorized)."""
    case = _case_for(ctx, CaseOpen.unpack(msg.payload).case_id, Act.CASE_VIEW)
    return [case_card(ctx, case)] if case else [deny_reply(ctx)]


def on_act(ctx: Context, msg: Incoming) -> list[Reply] | Outcome:
    """Log an action; a home visit opens the note dialog, not-a-dropout asks for one of the seven reasons."""
    pressed = CaseAct.unpack(msg.payload)
    case = _case_for(ctx, pressed.case_id, Act.CASE_ACT)
    if case is None:
        return [deny_reply(ctx)]
    if case.status != CaseStatus.OPEN:
        return [Reply(_("This case is already closed."))]
    kind = CaseEventKind(pressed.act.value)
    if kind == CaseEventKind.HOME_VISIT:
        ctx.data = {"case_id": case.id}
        prompt = Reply(_("Type a short note about the home visit (who you met, what was agreed)."))
        return Outcome([prompt], next_state="note", flow="cases")
    if kind == CaseEventKind.NOT_DROPOUT:
        rows = [
            [Button(_(label), CaseReason(case.id, reason).pack())] for reason, label in REASON_LABELS.items()
        ]
        return [Reply(_("Which situation applies? (not counted as dropping out)"), rows)]
    return _act(ctx, case, kind)


def on_reason(ctx: Context, msg: Incoming) -> list[Reply]:
    """Close as not a dropout with the chosen reason."""
    try:
        pressed = CaseReason.unpack(msg.payload)
    except BadPayload:
        # Refused here rather than by the router, in this domain's wording.
        return [Reply(_("That button is not valid any more. Send /help to start again."))]
    case = _case_for(ctx, pressed.case_id, Act.CASE_ACT)
    if case is None:
        return [deny_reply(ctx)]
    return _act(ctx, case, CaseEventKind.NOT_DROPOUT, reason=pressed.reason)


FLOW = Flow.create(
    "cases",
    Entry(list_cases, goes_to=(END,)),
    {"note": State(text=note, goes_to=("note", END))},
    commands=("cases",),
    opened_by_actions=("note",),
    allowed=may_view,
    help=N_("dropout-risk cases (控辍保学)"),
    help_order=30,
)
ACTIONS = [
    Action(CaseOpen.prefix, on_open),
    Action(CaseAct.prefix, on_act),
    Action(CaseReason.prefix, on_reason),
]
