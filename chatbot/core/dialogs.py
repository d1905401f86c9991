"""Where a chat stands: its account (created on first contact), its stored dialog, and the numbered
options it was last shown. The router reads these at the start of an update and writes them back
at the end, in the update's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatbot.core.context import Context, Dialog
from chatbot.core.messages import Incoming, Reply
from db.models import ChannelIdentity, DialogState

# A dialog left this long is forgotten: the next message starts afresh.
DIALOG_IDLE_LIMIT = timedelta(hours=24)
INBOUND_PRECISION = timedelta(minutes=5)

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
