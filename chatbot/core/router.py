"""The one entry point every channel calls: resolve who is talking, route, persist, reply."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chatbot.config import Settings
from chatbot.core.context import Context, Dialog
from chatbot.core.domains import default_registry
from chatbot.core.flow import Flow, Outcome, Registry
from chatbot.core.messages import Button, ChannelCaps, Incoming, Reply
from chatbot.core.payloads import BadPayload, Payload, prefix_of
from chatbot.core.text import clean_text
from chatbot.i18n import _, locale_from_hint, recipient_locale, use_locale
from db.models import ChannelIdentity, DialogState, Person
from db.session import is_lock_timeout, transaction

log = logging.getLogger(__name__)

DIALOG_IDLE_LIMIT = timedelta(hours=24)
INBOUND_PRECISION = timedelta(minutes=5)
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
        return self._apply(ctx, flow, outcome, None if flow.entry.legacy else flow.entry.goes_to)

    def _step(self, ctx: Context, flow: Flow, name: str, incoming: Incoming, dialog: Dialog) -> list[Reply]:
        """Run the state's step for this input: the handler of the pressed button's class, or its text step."""
        ctx.data = dict(dialog.data or {})
        state = flow.states[name]
        try:
            if state.legacy is not None:
                return self._apply(ctx, flow, state.legacy(ctx, incoming), None)
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
        return self._apply(
            ctx, help_flow, outcome, None if help_flow.entry.legacy else help_flow.entry.goes_to
        )


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


DIALOG = cast(Table, DialogState.__table__)
# Who is talking and where their dialog stands, in one statement; built once, as every update
# runs it. FOR UPDATE (PostgreSQL) runs one chat's updates one after another, so double taps
# cannot race on its dialog state; SQLite's BEGIN IMMEDIATE already does.
IDENTITY_AND_DIALOG = (
    select(ChannelIdentity, DIALOG.c.flow, DIALOG.c.state, DIALOG.c.data, DIALOG.c.updated_at)
    .outerjoin(DIALOG, DIALOG.c.identity_id == ChannelIdentity.id)
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
    .with_for_update(of=ChannelIdentity)
)
# PostgreSQL, after the lock: a statement that waited for FOR UPDATE still sees the joined dialog
# as it was when the statement began, so the dialog is read by a statement of its own.
DIALOG_OF = select(DIALOG.c.flow, DIALOG.c.state, DIALOG.c.data, DIALOG.c.updated_at).where(
    DIALOG.c.identity_id == bindparam("identity_id")
)
# Dialog writes go straight to the table: the ORM's unit of work would cost more than the
# update itself, on every message.
INSERT_DIALOG = insert(DIALOG)
UPDATE_DIALOG = (
    update(DIALOG)
    .where(DIALOG.c.identity_id == bindparam("dialog_of"))
    .values(
        flow=bindparam("flow"),
        state=bindparam("state"),
        data=bindparam("data"),
        updated_at=bindparam("updated_at"),
    )
)
DELETE_DIALOG = delete(DIALOG).where(DIALOG.c.identity_id == bindparam("dialog_of"))


def resolve_identity(
    session: Session, incoming: Incoming, now: datetime
) -> tuple[ChannelIdentity, Dialog | None]:
    """The chat account (created on first contact) and its stored dialog, if any."""
    key = {"channel": incoming.channel, "external_id": incoming.external_id}
    row = session.execute(IDENTITY_AND_DIALOG, key).first()
    identity = row[0] if row is not None else None
    if identity is not None and session.get_bind().dialect.name != "sqlite":
        row = session.execute(DIALOG_OF, {"identity_id": identity.id}).first()
    dialog = _dialog_of(row)
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
            # Another update from the same new chat created it a moment ago and has committed, maybe
            # with a dialog: read that after the lock too, or this update would write a second one.
            identity = session.execute(IDENTITY_AND_DIALOG, key).one()[0]
            row = session.execute(DIALOG_OF, {"identity_id": identity.id}).first()
            dialog = _dialog_of(row)
    # Only WeChat's 48-hour window reads this; minutes of precision spare an UPDATE per message.
    if identity.last_inbound_at is None or now - identity.last_inbound_at > INBOUND_PRECISION:
        identity.last_inbound_at = now
    if not identity.active:
        # Writing again means the user unblocked us (Telegram) or re-subscribed (WeChat).
        identity.active = True
    return identity, dialog


def _dialog_of(row: Row[Any] | None) -> Dialog | None:
    """The stored dialog in a row of IDENTITY_AND_DIALOG or DIALOG_OF, if the chat has one."""
    return Dialog(row.flow, row.state, row.data or {}, row.updated_at) if row and row.flow else None


def pick_locale(identity: ChannelIdentity, incoming: Incoming, settings: Settings) -> str:
    """The user's own choice, else the person's, else the platform's hint, else the default."""
    person: Person | None = identity.person
    return recipient_locale(
        identity.locale,
        person.locale if person else None,
        locale_from_hint(incoming.language_hint),
        default=settings.default_locale,
    )


def load_dialog(ctx: Context) -> Dialog | None:
    dialog = ctx.dialog
    if dialog is not None and ctx.now - dialog.updated_at > DIALOG_IDLE_LIMIT:
        clear_dialog(ctx)
        return None
    return dialog


def save_dialog(ctx: Context, flow: str, state: str) -> None:
    ctx.dialog = Dialog(flow=flow, state=state, data=dict(ctx.data), updated_at=ctx.now)
    ctx.dialog_changed = True


def clear_dialog(ctx: Context) -> None:
    if ctx.dialog is not None:
        ctx.dialog = None
        ctx.dialog_changed = True


def store_dialog(ctx: Context) -> None:
    """Write the dialog back (insert, update or delete its row) if this update changed it."""
    if not ctx.dialog_changed:
        return
    connection = ctx.session.connection()
    dialog = ctx.dialog
    if dialog is None:
        if ctx.dialog_stored:
            connection.execute(DELETE_DIALOG, {"dialog_of": ctx.identity.id})
    elif ctx.dialog_stored:
        connection.execute(
            UPDATE_DIALOG,
            {
                "dialog_of": ctx.identity.id,
                "flow": dialog.flow,
                "state": dialog.state,
                "data": dialog.data,
                "updated_at": dialog.updated_at,
            },
        )
    else:
        connection.execute(
            INSERT_DIALOG,
            {
                "identity_id": ctx.identity.id,
                "flow": dialog.flow,
                "state": dialog.state,
                "data": dialog.data,
                "updated_at": dialog.updated_at,
            },
        )
    ctx.dialog_stored = dialog is not None
    ctx.dialog_changed = False


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
