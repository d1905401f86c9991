"""Account flows: /start (binding with an invite code), /help, /whoami, /language, /forget."""

from __future__ import annotations

from chatbot.core.context import Context
from chatbot.core.flow import END, Action, Flow, Outcome, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.router import start_button
from chatbot.core.text import clean_text
from chatbot.i18n import LOCALE_NAMES, LOCALES, N_, _, format_moment, set_locale
from chatbot.people.auth import children_of
from chatbot.people.invites import RedeemResult, is_locked, looks_like_code, redeem
from db.models import Role, School, SchoolClass

ROLE_LABELS = {
    Role.CLASS_TEACHER: N_("class teacher"),
    Role.TEACHER: N_("teacher"),
    Role.PRINCIPAL: N_("principal"),
    Role.COUNTY_ADMIN: N_("county administrator"),
}


def _bound(ctx: Context) -> bool:
    return ctx.person is not None


# --- /start: binding -------------------------------------------------------------------------


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Greet a bound user, or ask an unbound one for their invite code."""
    if ctx.person is not None:
        return Outcome([Reply(_("Welcome back, {name}.").format(name=ctx.person.name)), *help_replies(ctx)])
    argument = clean_text(msg.text).split(maxsplit=1)[1:] if msg.text else []
    if argument and looks_like_code(argument[0]):
        return check_code(ctx, Incoming(msg.channel, msg.external_id, text=argument[0]))
    if is_locked(ctx.identity, ctx.now):
        return _locked_reply(ctx)
    return say(
        _(
            "Welcome to Jiaxiao 家校. Please send the 8-character invite code from your school "
            "(for example K7MX4QPA). To ask about student aid without an account, send /aid."
        ),
        then="code",
    )


def check_code(ctx: Context, msg: Incoming) -> Outcome:
    """Try the code; bind on success, explain the failure otherwise."""
    text = clean_text(msg.text)
    if not text:
        return say(_("Please type the 8-character code from your school."), then="code")
    result = redeem(ctx.session, ctx.identity, text, ctx.now)
    if result.result == RedeemResult.OK and result.person is not None:
        ctx.person = result.person
        ctx.audit("identity.bind", f"person:{result.person.id}", channel=ctx.identity.channel)
        return Outcome(
            [
                Reply(_("Done! You are now linked as {name}.").format(name=result.person.name)),
                *help_replies(ctx),
            ]
        )
    if result.result == RedeemResult.LOCKED:
        return _locked_reply(ctx)
    message = {
        RedeemResult.WRONG: _("That code is not right. Please check it and try again, or send /cancel."),
        RedeemResult.USED: _("That code has already been used. Ask your school for a new one."),
        RedeemResult.EXPIRED: _("That code has expired. Ask your school for a new one."),
    }[result.result]
    return say(message, then="code")


def _locked_reply(ctx: Context) -> Outcome:
    until = ctx.identity.locked_until
    when = format_moment(until, ctx.settings.timezone) if until else ""
    return say(_("Too many wrong codes. Please try again after {time}.").format(time=when))


def _code_trigger(ctx: Context, text: str) -> bool:
    return ctx.person is None and looks_like_code(text)


# --- /help -----------------------------------------------------------------------------------


def help_replies(ctx: Context) -> list[Reply]:
    """What this person may do, as text plus one-tap buttons."""
    from chatbot.core.domains import default_registry

    # Linking is only news to someone unlinked, and "who am I" only means something once linked.
    hidden = {"start"} if ctx.person is not None else {"whoami"}
    flows = sorted(
        (
            f
            for f in default_registry().flows.values()
            if f.help and f.commands and f.name not in hidden and f.allowed(ctx)
        ),
        key=lambda f: f.help_order,
    )
    lines = [_("What I can do for you:")]
    buttons: list[list[Button]] = []
    for flow in flows:
        assert flow.help is not None
        lines.append(f"/{flow.commands[0]} — {_(flow.help)}")
        if flow.name not in {"help", "start"} and len(buttons) < 6:
            buttons.append([start_button(_(flow.help), flow.name)])
    if ctx.person is None:
        lines.append(_("You are not linked yet: send /start and your invite code."))
    return [Reply("\n".join(lines), buttons)]


def show_help(ctx: Context, msg: Incoming) -> Outcome:
    """List the commands this person's role may use."""
    return Outcome(help_replies(ctx), END)


# --- /whoami ---------------------------------------------------------------------------------


def whoami(ctx: Context, msg: Incoming) -> Outcome:
    """Say who this chat account is linked to, and in which roles."""
    person = ctx.person
    if person is None:
        return say(_("This chat is not linked to anyone yet. Send /start and your invite code."))
    lines = [_("You are linked as {name}.").format(name=person.name)]
    for membership in person.memberships:
        lines.append(
            f"• {_(ROLE_LABELS[membership.role])}: {_scope_name(ctx, membership.scope_type.value, membership.scope_id)}"
        )
    for child in children_of(ctx.session, person):
        lines.append(
            "• "
            + _("guardian of {child} ({school} {klass})").format(
                child=child.name,
                school=child.school_class.school.name,
                klass=_class_label(child.school_class),
            )
        )
    lines.append(_("Language: {language}").format(language=LOCALE_NAMES[ctx.locale]))
    return say("\n".join(lines))


def _class_label(klass: SchoolClass) -> str:
    return _("Grade {grade} {name}").format(grade=klass.grade, name=klass.name)


def _scope_name(ctx: Context, scope_type: str, scope_id: int) -> str:
    from db.models import Region

    if scope_type == "class":
        klass = ctx.session.get(SchoolClass, scope_id)
        return f"{klass.school.name} {_class_label(klass)}" if klass else "?"
    if scope_type == "school":
        school = ctx.session.get(School, scope_id)
        return school.name if school else "?"
    region = ctx.session.get(Region, scope_id)
    return region.name if region else "?"


# --- /language -------------------------------------------------------------------------------


def ask_language(ctx: Context, msg: Incoming) -> Outcome:
    """Offer the three languages as buttons."""
    rows = [[Button(LOCALE_NAMES[loc], f"lang:{loc}")] for loc in LOCALES]
    return say(_("Choose your language:"), *rows, then="choose")


def choose_language(ctx: Context, msg: Incoming) -> Outcome:
    """Store the chosen language on the chat account (and the person, if linked)."""
    chosen = (msg.payload or "").split(":", 1)[-1] if msg.payload else None
    if chosen not in LOCALES and msg.text:
        chosen = next((loc for loc, name in LOCALE_NAMES.items() if name == msg.text.strip()), None)
    if chosen not in LOCALES:
        return say(_("Please choose one of the buttons."), then="choose")
    assert chosen is not None
    ctx.identity.locale = chosen
    if ctx.person is not None:
        ctx.person.locale = chosen
    set_locale(chosen)
    ctx.locale = chosen
    return say(_("Language set to {language}.").format(language=LOCALE_NAMES[chosen]))


# --- /forget ---------------------------------------------------------------------------------


def ask_forget(ctx: Context, msg: Incoming) -> Outcome:
    """Confirm before unlinking this chat account."""
    if ctx.person is None:
        return say(_("This chat is not linked to anyone."))
    return say(
        _("Unlink this chat from {name}? You will stop receiving school messages here.").format(
            name=ctx.person.name
        ),
        [Button(_("Yes, unlink"), "fgt:yes"), Button(_("No"), "fgt:no")],
        then="confirm",
    )


def confirm_forget(ctx: Context, msg: Incoming) -> Outcome:
    """Remove the channel identity, its dialog and its queued messages."""
    if msg.payload != "fgt:yes":
        return say(_("Nothing changed."))
    person = ctx.person
    ctx.audit("identity.forget", f"person:{person.id}" if person else None, channel=ctx.identity.channel)
    from db.models import OutboxMessage, OutboxStatus

    ctx.session.query(OutboxMessage).filter(
        OutboxMessage.identity_id == ctx.identity.id, OutboxMessage.status == OutboxStatus.QUEUED
    ).update({OutboxMessage.status: OutboxStatus.CANCELLED}, synchronize_session=False)
    ctx.identity.person_id = None
    ctx.identity.person = None
    ctx.identity.locale = None
    ctx.person = None
    return say(_("Done. This chat is no longer linked. Send /start to link again."))


FLOWS = [
    Flow.create(
        "start",
        start,
        {"code": check_code},
        commands=("start",),
        trigger=_code_trigger,
        trigger_priority=10,
        help=N_("link your account"),
        help_order=90,
        allowed=lambda ctx: True,
    ),
    Flow.create("help", show_help, {}, commands=("help", "menu"), help=N_("show this list"), help_order=99),
    Flow.create("whoami", whoami, {}, commands=("whoami",), help=N_("who am I linked as"), help_order=91),
    Flow.create(
        "language",
        ask_language,
        {"choose": choose_language},
        commands=("language", "lang"),
        prefixes=("lang",),
        help=N_("change language / 切换语言"),
        help_order=92,
    ),
    Flow.create(
        "forget",
        ask_forget,
        {"confirm": confirm_forget},
        commands=("forget",),
        prefixes=("fgt",),
        allowed=_bound,
        help=N_("unlink this chat"),
        help_order=95,
    ),
]
ACTIONS: list[Action] = []
