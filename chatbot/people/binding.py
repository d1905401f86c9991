"""/start: link a chat account to a person with the invite code from their school (binding.mmd)."""

from __future__ import annotations

from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, Outcome, State, say
from chatbot.core.messages import Incoming, Reply
from chatbot.core.text import clean_text
from chatbot.i18n import N_, _, format_moment
from chatbot.people.invites import RedeemResult, is_locked, looks_like_code, redeem
from chatbot.people.menu import help_replies


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Greet a bound user, or ask an unbound one for their invite code."""
    if ctx.person is not None:
        return Outcome([Reply(_("Welcome back, {name}.").format(name=ctx.person.name)), *help_replies(ctx)])
    text = clean_text(msg.text)
    # "/start CODE" (deep links, QR scans) or a bare code typed without /start first.
    candidate = text.split(maxsplit=1)[1:] if text.startswith("/") else [text]
    if candidate and looks_like_code(candidate[0]):
        return check_code(ctx, Incoming(msg.channel, msg.external_id, text=candidate[0]))
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
    """An unlinked user who just types a code (without /start first) is binding too."""
    return ctx.person is None and looks_like_code(text)


FLOW = Flow.create(
    "start",
    Entry(start, goes_to=("code", END)),
    {"code": State(text=check_code, goes_to=("code", END))},
    commands=("start",),
    trigger=_code_trigger,
    trigger_priority=10,
    help=N_("link your account"),
    help_order=90,
    allowed=lambda ctx: True,
)
