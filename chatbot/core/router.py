"""The one entry point every channel calls: resolve who is talking, route, persist, reply."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chatbot.config import Settings
from chatbot.core.context import Context, Dialog
from chatbot.core.dialogs import (
    clear_dialog,
    load_dialog,
    numbered_choice,
    remember_buttons,
    resolve_identity,
    save_dialog,
    store_dialog,
)
from chatbot.core.domains import default_registry
from chatbot.core.flow import Flow, Outcome, Registry
from chatbot.core.messages import Button, ChannelCaps, Incoming, Reply
from chatbot.core.payloads import BadPayload, Payload, prefix_of
from chatbot.core.text import clean_text
from chatbot.i18n import _, locale_from_hint, recipient_locale, use_locale
from db.models import ChannelIdentity, Person
from db.session import is_lock_timeout, transaction

log = logging.getLogger(__name__)

# A button that starts a flow by name ("go:aid"), e.g. from the /help menu.
START_PREFIX = "go"
CANCEL_WORDS = {"/cancel", "取消", "cancel", "退出"}


class DatabaseBusy(Exception):
    """`handle(no_wait=True)` met a lock another connection holds: everything was rolled back."""


class Router:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        registry: Registry | None = None,
        *,
        no_wait_factory: sessionmaker[Session] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.no_wait_factory = no_wait_factory
        self.settings = settings
        self.registry = registry or default_registry()

    @property
    def can_try_without_waiting(self) -> bool:
        return self.no_wait_factory is not None

    def handle(
        self, incoming: Incoming, now: datetime, caps: ChannelCaps, *, no_wait: bool = False
    ) -> list[Reply]:
        """Handle one update in one transaction; on any error roll back and apologise.

        With `no_wait`, raise DatabaseBusy (all rolled back) instead of waiting for a lock that
        another connection holds, so the caller can retry where waiting is harmless.
        """
        factory = self.no_wait_factory if no_wait and self.no_wait_factory else self.session_factory
        try:
            with transaction(factory) as session:
                identity, dialog = resolve_identity(session, incoming, now)
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
                        dialog=dialog,
                        dialog_stored=dialog is not None,
                    )
                    replies = self._route(ctx, incoming)
                    store_dialog(ctx)
                    if caps.numbered_buttons:
                        remember_buttons(identity, replies)
                return replies
        except Exception as exc:
            if no_wait and is_lock_timeout(exc):
                raise DatabaseBusy from exc
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

    def _on_command(self, ctx: Context, incoming: Incoming, text: str, dialog: Dialog | None) -> list[Reply]:
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
        self, ctx: Context, incoming: Incoming, payload: str, dialog: Dialog | None
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
                return self._act(ctx, self.registry.actions[prefix].handler(ctx, pressed))
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
        outcome = flow.entry.step(ctx, incoming)
        return self._apply(ctx, flow, outcome, flow.entry.goes_to)

    def _step(self, ctx: Context, flow: Flow, name: str, incoming: Incoming, dialog: Dialog) -> list[Reply]:
        """Run the state's step for this input: the handler of the pressed button's class, or its text step."""
        ctx.data = dict(dialog.data or {})
        state = flow.states[name]
        try:
            if incoming.payload is not None:
                pressed = Payload.registry.get(prefix_of(incoming.payload) or "")
                on = state.step_for(pressed)
                if on is None:
                    if pressed is not None:
                        pressed.unpack(incoming.payload)  # a malformed one is not valid, not expired
                    # A button of this flow from another step: the dialog stays where it is.
                    return [Reply(_("That button has expired. Send /help to start again."))]
                outcome = on.run(ctx, incoming)
            elif state.text is not None:
                outcome = state.text(ctx, incoming)
            else:
                return [Reply(_("Please choose one of the buttons."))]
        except BadPayload:
            return [Reply(_("That button is not valid any more. Send /help to start again."))]
        return self._apply(ctx, flow, outcome, state.goes_to)

    def _apply(
        self, ctx: Context, flow: Flow, outcome: Outcome, allowed: tuple[str | None, ...] | None
    ) -> list[Reply]:
        """Move the dialog where the outcome says, if the flow's table allows that move."""
        if allowed is not None and outcome.next_state not in allowed:
            raise ValueError(f"flow {flow.name}: the table does not allow a move to {outcome.next_state!r}")
        if outcome.next_state is None:
            clear_dialog(ctx)
        else:
            if outcome.next_state not in flow.states:
                raise ValueError(f"flow {flow.name} moved to undeclared state {outcome.next_state!r}")
            save_dialog(ctx, flow.name, outcome.next_state)
        return outcome.replies

    def _act(self, ctx: Context, result: list[Reply] | Outcome) -> list[Reply]:
        """A stateless button's result: its replies, and the dialog it opens when it names one."""
        if isinstance(result, list):
            return result
        if result.flow is None:
            return result.replies
        flow = self.registry.flows[result.flow]
        if result.next_state not in flow.opened_by_actions:
            raise ValueError(f"flow {flow.name} does not let an action open it in {result.next_state!r}")
        return self._apply(ctx, flow, result, None)

    def _help(self, ctx: Context, unknown: bool = False) -> list[Reply]:
        help_flow = self.registry.flows.get("help")
        if help_flow is None:
            return [Reply(_("Send /help to see what I can do."))]
        outcome = help_flow.entry.step(
            ctx, Incoming(channel=ctx.caps.code, external_id=ctx.identity.external_id)
        )
        if unknown:
            outcome.replies.insert(0, Reply(_("Sorry, I did not understand that.")))
        return self._apply(ctx, help_flow, outcome, help_flow.entry.goes_to)


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


def pick_locale(identity: ChannelIdentity, incoming: Incoming, settings: Settings) -> str:
    """The user's own choice, else the person's, else the platform's hint, else the default."""
    person: Person | None = identity.person
    return recipient_locale(
        identity.locale,
        person.locale if person else None,
        locale_from_hint(incoming.language_hint),
        default=settings.default_locale,
    )
