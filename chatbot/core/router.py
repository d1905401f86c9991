"""The one entry point every channel calls: resolve who is talking, route, persist, reply."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chatbot.config import Settings
from chatbot.core.context import Context
from chatbot.core.domains import default_registry
from chatbot.core.flow import Flow, Outcome, Registry
from chatbot.core.messages import Button, ChannelCaps, Incoming, Reply
from chatbot.core.payloads import BadPayload, prefix_of
from chatbot.core.text import clean_text
from chatbot.i18n import DEFAULT_LOCALE, LOCALES, _, locale_from_hint, use_locale
from db.models import ChannelIdentity, DialogState, Person
from db.session import transaction

log = logging.getLogger(__name__)

DIALOG_IDLE_LIMIT = timedelta(hours=24)
INBOUND_PRECISION = timedelta(minutes=5)
# A button that starts a flow by name ("go:aid"), e.g. from the /help menu.
START_PREFIX = "go"
CANCEL_WORDS = {"/cancel", "取消", "cancel", "退出"}


class Router:
    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, registry: Registry | None = None
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.registry = registry or default_registry()

    def handle(self, incoming: Incoming, now: datetime, caps: ChannelCaps) -> list[Reply]:
        """Handle one update in one transaction; on any error roll back and apologise."""
        try:
            with transaction(self.session_factory) as session:
                identity = resolve_identity(session, incoming, now)
                locale = pick_locale(identity, incoming, self.settings)
                with use_locale(locale):
                    ctx = Context(
                        session=session,
                        now=now,
                        identity=identity,
                        person=identity.person,
                        settings=self.settings,
                        caps=caps,
                        incoming=incoming,
                        locale=locale,
                    )
                    replies = self._route(ctx, incoming)
                    drop_cleared_dialog(ctx)
                    if caps.numbered_buttons:
                        remember_buttons(identity, replies)
                return replies
        except Exception:
            log.exception("update from channel %s failed", incoming.channel)
            with use_locale(self._fallback_locale(incoming)):
                return [Reply(_("Sorry, something went wrong. Nothing was saved. Please try again."))]

    def _fallback_locale(self, incoming: Incoming) -> str:
        return locale_from_hint(incoming.language_hint) or self.settings.default_locale

    def _route(self, ctx: Context, incoming: Incoming) -> list[Reply]:
        text = clean_text(incoming.text)
        payload = incoming.payload
        if payload is None and text and ctx.caps.numbered_buttons:
            payload = numbered_choice(ctx.identity, text)
            if payload is not None:
                text = ""
        dialog = load_dialog(ctx)
        if payload is not None:
            return self._on_payload(ctx, incoming, payload, dialog)
        if text.startswith("/") or text.lower() in CANCEL_WORDS:
            return self._on_command(ctx, incoming, text, dialog)
        if dialog is not None:
            flow = self.registry.flows.get(dialog.flow)
            if flow is not None and dialog.state in flow.states:
                return self._step(ctx, flow, dialog.state, _with_text(incoming, text), dialog)
            clear_dialog(ctx)
        if not text:
            return self._help(ctx)
        for flow in self.registry.triggered():
            assert flow.trigger is not None
            if flow.allowed(ctx) and flow.trigger(ctx, text):
                return self._start(ctx, flow, _with_text(incoming, text))
        return self._help(ctx, unknown=True)

    def _on_command(
        self, ctx: Context, incoming: Incoming, text: str, dialog: DialogState | None
    ) -> list[Reply]:
        head = text.split(maxsplit=1)[0].lower()
        command = head.lstrip("/").split("@", 1)[0]
        if head in CANCEL_WORDS or command == "cancel":
            had_dialog = dialog is not None
            clear_dialog(ctx)
            return [Reply(_("Cancelled.") if had_dialog else _("There is nothing to cancel."))]
        flow = self.registry.flow_for_command(command)
        if flow is None:
            return self._help(ctx, unknown=True)
        if not flow.allowed(ctx):
            return [deny_reply(ctx)]
        clear_dialog(ctx)
        return self._start(ctx, flow, _with_text(incoming, text))

    def _on_payload(
        self, ctx: Context, incoming: Incoming, payload: str, dialog: DialogState | None
    ) -> list[Reply]:
        prefix = prefix_of(payload)
        pressed = Incoming(
            channel=incoming.channel,
            external_id=incoming.external_id,
            payload=payload,
            language_hint=incoming.language_hint,
            is_group=incoming.is_group,
        )
        if prefix == START_PREFIX:
            flow = self.registry.flows.get(payload.split(":", 1)[-1])
            if flow is None:
                return [Reply(_("That button has expired. Send /help to start again."))]
            if not flow.allowed(ctx):
                return [deny_reply(ctx)]
            clear_dialog(ctx)
            return self._start(ctx, flow, _with_text(incoming, ""))
        try:
            if prefix is not None and prefix in self.registry.actions:
                return self.registry.actions[prefix].handler(ctx, pressed)
            flow = self.registry.flow_for_prefix(prefix) if prefix else None
            if (
                flow is not None
                and dialog is not None
                and dialog.flow == flow.name
                and dialog.state in flow.states
            ):
                return self._step(ctx, flow, dialog.state, pressed, dialog)
        except BadPayload:
            log.info("rejected a malformed button payload on %s", incoming.channel)
            return [Reply(_("That button is not valid any more. Send /help to start again."))]
        return [Reply(_("That button has expired. Send /help to start again."))]

    def _start(self, ctx: Context, flow: Flow, incoming: Incoming) -> list[Reply]:
        ctx.data = {}
        outcome = flow.entry(ctx, incoming)
        return self._apply(ctx, flow, outcome)

    def _step(
        self, ctx: Context, flow: Flow, state: str, incoming: Incoming, dialog: DialogState
    ) -> list[Reply]:
        ctx.data = dict(dialog.data or {})
        try:
            outcome = flow.states[state](ctx, incoming)
        except BadPayload:
            return [Reply(_("That button is not valid any more. Send /help to start again."))]
        return self._apply(ctx, flow, outcome)

    def _apply(self, ctx: Context, flow: Flow, outcome: Outcome) -> list[Reply]:
        if outcome.next_state is None:
            clear_dialog(ctx)
        else:
            if outcome.next_state not in flow.states:
                raise ValueError(f"flow {flow.name} moved to undeclared state {outcome.next_state!r}")
            save_dialog(ctx, flow.name, outcome.next_state)
        return outcome.replies

    def _help(self, ctx: Context, unknown: bool = False) -> list[Reply]:
        help_flow = self.registry.flows.get("help")
        if help_flow is None:
            return [Reply(_("Send /help to see what I can do."))]
        replies = help_flow.entry(ctx, Incoming(channel=ctx.caps.code, external_id=ctx.identity.external_id))
        if unknown:
            replies.replies.insert(0, Reply(_("Sorry, I did not understand that.")))
        return self._apply(ctx, help_flow, replies)


def start_button(label: str, flow_name: str) -> Button:
    return Button(label=label, payload=f"{START_PREFIX}:{flow_name}")


def _with_text(incoming: Incoming, text: str) -> Incoming:
    return Incoming(
        channel=incoming.channel,
        external_id=incoming.external_id,
        text=text,
        payload=None,
        language_hint=incoming.language_hint,
        is_group=incoming.is_group,
    )


def deny_reply(ctx: Context) -> Reply:
    """The one 'not allowed' answer: unbound users are pointed at binding."""
    if ctx.person is None:
        return Reply(_("Please link your account first: send /start and enter the code from your school."))
    return Reply(_("Sorry, you do not have permission to do that."))


# FOR UPDATE (PostgreSQL) runs one chat's updates one after another, so double taps cannot race
# on its dialog state; SQLite's BEGIN IMMEDIATE already does. Built once: every update runs it.
IDENTITY_FOR_UPDATE = (
    select(ChannelIdentity)
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
    .with_for_update()
)
DIALOG_OF = select(DialogState).where(DialogState.identity_id == bindparam("identity_id"))


def resolve_identity(session: Session, incoming: Incoming, now: datetime) -> ChannelIdentity:
    key = {"channel": incoming.channel, "external_id": incoming.external_id}
    identity = session.scalars(IDENTITY_FOR_UPDATE, key).one_or_none()
    if identity is None:
        try:
            with session.begin_nested():
                identity = ChannelIdentity(
                    channel=incoming.channel,
                    external_id=incoming.external_id,
                    active=True,
                    failed_codes=0,
                    last_buttons=[],
                    created_at=now,
                )
                session.add(identity)
                session.flush()
        except IntegrityError:
            # Another update from the same new chat created it a moment ago.
            identity = session.scalars(IDENTITY_FOR_UPDATE, key).one()
    # Only WeChat's 48-hour window reads this; minutes of precision spare an UPDATE per message.
    if identity.last_inbound_at is None or now - identity.last_inbound_at > INBOUND_PRECISION:
        identity.last_inbound_at = now
    if not identity.active:
        # Writing again means the user unblocked us (Telegram) or re-subscribed (WeChat).
        identity.active = True
    return identity


def pick_locale(identity: ChannelIdentity, incoming: Incoming, settings: Settings) -> str:
    """The user's own choice, else the person's, else the platform's hint, else the default."""
    person: Person | None = identity.person
    for candidate in (
        identity.locale,
        person.locale if person else None,
        locale_from_hint(incoming.language_hint),
    ):
        if candidate in LOCALES:
            return candidate
    return settings.default_locale or DEFAULT_LOCALE


def _dialog_row(ctx: Context) -> DialogState | None:
    if not ctx.dialog_loaded:
        ctx.dialog_row = ctx.session.scalars(DIALOG_OF, {"identity_id": ctx.identity.id}).first()
        ctx.dialog = ctx.dialog_row
        ctx.dialog_loaded = True
    return ctx.dialog_row


def load_dialog(ctx: Context) -> DialogState | None:
    _dialog_row(ctx)
    dialog = ctx.dialog
    if dialog is not None and ctx.now - dialog.updated_at > DIALOG_IDLE_LIMIT:
        clear_dialog(ctx)
        return None
    return dialog


def save_dialog(ctx: Context, flow: str, state: str) -> None:
    dialog = load_dialog(ctx)
    if dialog is None:
        dialog = ctx.dialog_row
        if dialog is None:
            dialog = DialogState(identity_id=ctx.identity.id)
            ctx.session.add(dialog)
            ctx.dialog_row = dialog
        ctx.dialog = dialog
    dialog.flow = flow
    dialog.state = state
    dialog.data = dict(ctx.data)
    dialog.updated_at = ctx.now


def clear_dialog(ctx: Context) -> None:
    """End the dialog; its row goes when the update ends, unless a new dialog reuses it."""
    _dialog_row(ctx)
    ctx.dialog = None


def drop_cleared_dialog(ctx: Context) -> None:
    row = ctx.dialog_row
    if ctx.dialog is None and row is not None and row in ctx.session:
        if inspect(row).pending:
            ctx.session.expunge(row)  # saved and cleared within this update: never written
        else:
            ctx.session.delete(row)
        ctx.dialog_row = None


def remember_buttons(identity: ChannelIdentity, replies: list[Reply]) -> None:
    """Keep the buttons of the last reply that had any, for numbered answers ('1', '2', ...)."""
    for reply in reversed(replies):
        if reply.buttons:
            shown = [b.to_json() for b in reply.flat_buttons()]
            if shown != identity.last_buttons:
                identity.last_buttons = shown
            return


def numbered_choice(identity: ChannelIdentity, text: str) -> str | None:
    """Map '2' (or a button's exact label) to the payload of the button shown as option 2."""
    options = identity.last_buttons or []
    if not options:
        return None
    stripped = text.strip()
    if stripped.isdecimal():
        index = int(stripped)
        if 1 <= index <= len(options):
            return str(options[index - 1]["payload"])
        return None
    for option in options:
        if stripped == option["label"]:
            return str(option["payload"])
    return None
