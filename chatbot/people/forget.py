"""/forget: unlink this chat account after a confirmation, cancelling what was queued for it (forget.mmd)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import Payload
from chatbot.i18n import N_, _
from db.models import OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class ForgetAnswer(Payload, prefix="fgt"):
    confirm: bool


def _bound(ctx: Context) -> bool:
    return ctx.person is not None


def ask_forget(ctx: Context, msg: Incoming) -> Outcome:
    """Confirm before unlinking this chat account."""
    if ctx.person is None:
        return say(_("This chat is not linked to anyone."))
    return say(
        _("Unlink this chat from {name}? You will stop receiving school messages here.").format(
            name=ctx.person.name
        ),
        [Button(_("Yes, unlink"), ForgetAnswer(True).pack()), Button(_("No"), ForgetAnswer(False).pack())],
        then="confirm",
    )


def typed_answer(ctx: Context, msg: Incoming) -> Outcome:
    """A typed answer is not a yes: nothing changes."""
    return say(_("Nothing changed."))


def confirm_forget(ctx: Context, msg: Incoming, answer: ForgetAnswer) -> Outcome:
    """Remove the link, this chat's language choice and its queued messages; the person stays."""
    if not answer.confirm or ctx.person is None:
        return say(_("Nothing changed."))
    ctx.audit("identity.forget", f"person:{ctx.person.id}", channel=ctx.identity.channel)
    ctx.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.identity_id == ctx.identity.id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED)
    )
    ctx.identity.person_id = None
    ctx.identity.person = None
    ctx.identity.locale = None
    ctx.person = None
    return say(_("Done. This chat is no longer linked. Send /start to link again."))


FLOW = Flow.create(
    "forget",
    Entry(ask_forget, goes_to=("confirm", END)),
    {"confirm": State(buttons=[On(ForgetAnswer, confirm_forget)], text=typed_answer, goes_to=(END,))},
    commands=("forget",),
    allowed=_bound,
    help=N_("unlink this chat"),
    help_order=95,
)
