"""Queueing messages for delivery, in the caller's transaction.

Domain code renders a message per recipient locale and hands it here; the delivery worker
sends it later through the recipient's channel. Nothing else sends unrequested messages.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Integer, Select, String, Table, Text, case, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from chatbot.core.messages import Reply, buttons_to_json
from chatbot.i18n import DEFAULT_LOCALE, LOCALES, recipient_locale, use_locale
from db.base import UTCDateTime
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person, Priority
from db.sql import chunks

Render = Callable[[], Reply]

QUIET_START = time(21, 0)
QUIET_END = time(7, 0)
POLICY_KEY = "outbox_policy"


@dataclass(frozen=True)
class OutboxPolicy:
    """The settings every queued message follows, carried by the session (`App` puts it there), so
    no caller can forget them: the default language and the quiet hours."""

    default_locale: str = DEFAULT_LOCALE
    quiet_start: time = QUIET_START
    quiet_end: time = QUIET_END


def policy_of(session: Session) -> OutboxPolicy:
    policy = session.info.get(POLICY_KEY)
    return policy if isinstance(policy, OutboxPolicy) else OutboxPolicy()


def after_quiet_hours(
    moment: datetime, tz: str, start: time = QUIET_START, end: time = QUIET_END
) -> datetime:
    """The earliest time at or after `moment` outside quiet hours in the zone `tz`."""
    local = moment.astimezone(ZoneInfo(tz))
    clock = local.timetz().replace(tzinfo=None)
    in_quiet = (clock >= start or clock < end) if start > end else (start <= clock < end)
    if not in_quiet:
        return moment
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=ZoneInfo(tz)).astimezone(moment.tzinfo)


def account_locale(session: Session, identity: ChannelIdentity, person: Person | None) -> str:
    """The language a chat account reads: its own choice, then its person's, then the settings' default."""
    return recipient_locale(
        identity.locale, person.locale if person else None, default=policy_of(session).default_locale
    )


def account_locale_sql(session: Session) -> ColumnElement[str]:
    """`account_locale` as a column of a query joining ChannelIdentity and Person, for bulk writes."""
    return case(
        (ChannelIdentity.locale.in_(LOCALES), ChannelIdentity.locale),
        (Person.locale.in_(LOCALES), Person.locale),
        else_=literal(recipient_locale(default=policy_of(session).default_locale)),
    )


def active_identities(session: Session, person_id: int) -> list[ChannelIdentity]:
    return list(
        session.scalars(
            select(ChannelIdentity).where(
                ChannelIdentity.person_id == person_id, ChannelIdentity.active.is_(True)
            )
        )
    )


def enqueue_for_person(
    session: Session,
    person: Person,
    render: Render,
    *,
    kind: str,
    now: datetime,
    priority: Priority = Priority.NORMAL,
    not_before: datetime | None = None,
    dedupe_key: str | None = None,
    ref: tuple[str, int] | None = None,
    tz: str = "Asia/Shanghai",
    quiet_start: time | None = None,
    quiet_end: time | None = None,
) -> list[OutboxMessage]:
    """Queue one message to every active chat account of `person`, each in its own language.

    With a `dedupe_key` the same event queues at most once per account, however often it runs.
    Non-urgent messages due in quiet hours wait until the quiet hours end.
    """
    policy = policy_of(session)
    due = not_before or now
    if priority != Priority.URGENT:
        due = after_quiet_hours(due, tz, quiet_start or policy.quiet_start, quiet_end or policy.quiet_end)
    rows: list[OutboxMessage] = []
    for identity in active_identities(session, person.id):
        key = f"{dedupe_key}|{identity.id}" if dedupe_key else None
        if key and session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
            continue
        with use_locale(account_locale(session, identity, person)):
            reply = render()
        row = OutboxMessage(
            identity_id=identity.id,
            person_id=person.id,
            channel=identity.channel,
            kind=kind,
            text=reply.text,
            buttons=buttons_to_json(reply.buttons),
            priority=int(priority),
            not_before=due,
            status=OutboxStatus.QUEUED,
            attempts=0,
            dedupe_key=key,
            ref_type=ref[0] if ref else None,
            ref_id=ref[1] if ref else None,
            tz=tz,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


@dataclass(frozen=True)
class OutboxItem:
    """One message for one person, for `enqueue_many`."""

    person_id: int
    render: Render
    kind: str
    dedupe_key: str
    tz: str = "Asia/Shanghai"
    priority: Priority = Priority.NORMAL
    ref: tuple[str, int] | None = None
    not_before: datetime | None = None


def enqueue_many(
    session: Session,
    items: Sequence[OutboxItem],
    now: datetime,
    *,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
) -> int:
    """`enqueue_for_person` for many people at once, for batch jobs (daily close, reminders).

    Same contract — one row per active chat account, rendered in that account's language,
    `dedupe_key|identity` unique, non-urgent rows held through quiet hours — with one query for
    the accounts, one for existing keys and one bulk write (COPY on PostgreSQL). Returns rows written.
    """
    if not items:
        return 0
    policy = policy_of(session)
    quiet = (quiet_start or policy.quiet_start, quiet_end or policy.quiet_end)
    person_ids = sorted({item.person_id for item in items})
    accounts: dict[int, list[tuple[int, str, str]]] = {}
    for chunk in chunks(person_ids):
        for identity_id, person_id, channel, locale, person_locale in session.execute(
            select(
                ChannelIdentity.id,
                ChannelIdentity.person_id,
                ChannelIdentity.channel,
                ChannelIdentity.locale,
                Person.locale,
            )
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.person_id.in_(chunk), ChannelIdentity.active.is_(True))
            .order_by(ChannelIdentity.id)
        ):
            assert person_id is not None
            accounts.setdefault(person_id, []).append(
                (identity_id, channel, recipient_locale(locale, person_locale, default=policy.default_locale))
            )
    wanted = [
        (item, identity_id, channel, locale, f"{item.dedupe_key}|{identity_id}")
        for item in items
        for identity_id, channel, locale in accounts.get(item.person_id, [])
    ]
    taken: set[str] = set()
    for keys in chunks([key for *_rest, key in wanted]):
        taken.update(
            key
            for key in session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
            )
            if key is not None
        )
    rows: list[dict[str, Any]] = []
    for item, identity_id, channel, locale, key in wanted:
        if key in taken:
            continue
        taken.add(key)
        with use_locale(locale):
            reply = item.render()
        due = item.not_before or now
        if item.priority != Priority.URGENT:
            due = after_quiet_hours(due, item.tz, *quiet)
        rows.append(
            {
                "identity_id": identity_id,
                "person_id": item.person_id,
                "channel": channel,
                "kind": item.kind,
                "text": reply.text,
                "buttons": buttons_to_json(reply.buttons),
                "priority": int(item.priority),
                "not_before": due,
                "status": OutboxStatus.QUEUED,
                "attempts": 0,
                "dedupe_key": key,
                "ref_type": item.ref[0] if item.ref else None,
                "ref_id": item.ref[1] if item.ref else None,
                "tz": item.tz,
                "created_at": now,
            }
        )
    if rows and session.get_bind().dialect.name == "postgresql" and _copy_rows(session, rows):
        return len(rows)
    # A Core insert of the table (not the ORM bulk path): plain executemany, a third of the cost.
    table = cast(Table, OutboxMessage.__table__)
    for start in range(0, len(rows), 2000):
        session.execute(insert(table), rows[start : start + 2000])
    return len(rows)


def _copy_rows(session: Session, rows: list[dict[str, Any]]) -> bool:
    """COPY the rows into the outbox inside the session's transaction (PostgreSQL); False if the
    table has a required column this module does not know how to fill (then the caller inserts)."""
    table = OutboxMessage.__table__
    columns = [c for c in table.columns if c.name != "id"]
    defaults: dict[str, Any] = {}
    for column in columns:
        if column.name in rows[0] or column.nullable:
            continue
        if column.default is None or not column.default.is_scalar:
            return False
        defaults[column.name] = getattr(column.default, "arg", None)
    # Only the columns that are present (or required) are copied; the rest stay NULL.
    names = [c.name for c in columns if c.name in rows[0] or c.name in defaults]
    driver = session.connection().connection.driver_connection
    statement = f"COPY {OutboxMessage.__tablename__} ({', '.join(names)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([_plain(row[name] if name in row else defaults[name]) for name in names])
    return True


def _plain(value: Any) -> Any:
    """What the column types would bind: naive UTC datetimes, JSON text, enum values."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, enum.Enum):
        return value.value
    return value


# The columns `enqueue_selected` fills, in the order of its SELECT.
SELECTED_COLUMNS = (
    "identity_id",
    "person_id",
    "channel",
    "kind",
    "text",
    "buttons",
    "priority",
    "not_before",
    "status",
    "attempts",
    "ref_type",
    "ref_id",
    "tz",
    "created_at",
)


def enqueue_selected(
    session: Session,
    person_ids: Select[Any],
    render: Render,
    *,
    kind: str,
    ref: tuple[str, int],
    tz: str,
    not_before: datetime,
    now: datetime,
    priority: Priority = Priority.BULK,
) -> int:
    """One row per active chat account of the people `person_ids` selects, each in its language, in SQL.

    One INSERT … SELECT per language: rows never pass through Python, so 50,000 recipients take
    about as long as a few queries. `render` runs once per language. The caller holds `not_before`
    past quiet hours. Returns how many rows of this kind the reference now has.
    """
    locale = account_locale_sql(session)
    for language in LOCALES:
        with use_locale(language):
            reply = render()
        rows = (
            select(
                ChannelIdentity.id,
                ChannelIdentity.person_id,
                ChannelIdentity.channel,
                literal(kind, String),
                literal(reply.text, Text),
                literal(buttons_to_json(reply.buttons), JSON),
                literal(int(priority), Integer),
                literal(not_before, UTCDateTime()),
                literal(OutboxStatus.QUEUED.value, String),
                literal(0, Integer),
                literal(ref[0], String),
                literal(ref[1], Integer),
                literal(tz, String),
                literal(now, UTCDateTime()),
            )
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(
                ChannelIdentity.person_id.in_(person_ids),
                ChannelIdentity.active.is_(True),
                locale == language,
            )
            .order_by(ChannelIdentity.id)
        )
        session.execute(insert(OutboxMessage).from_select(list(SELECTED_COLUMNS), rows))
    # rowcount of INSERT … SELECT is not reliable on every driver: count what is there.
    queued = session.scalar(
        select(func.count()).where(
            OutboxMessage.ref_type == ref[0], OutboxMessage.ref_id == ref[1], OutboxMessage.kind == kind
        )
    )
    return int(queued or 0)


def enqueue_or_edit(
    session: Session,
    account: ChannelIdentity,
    text: str,
    *,
    kind: str,
    ref: tuple[str, int],
    tz: str,
    now: datetime,
) -> OutboxMessage:
    """A message that keeps one place in the chat (a notice's progress): replace the text of the row
    still queued for `ref`, or queue an edit of the one last sent (channels that cannot edit send anew)."""
    last = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.ref_type == ref[0],
            OutboxMessage.ref_id == ref[1],
            OutboxMessage.identity_id == account.id,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if last is not None and last.status == OutboxStatus.QUEUED:
        last.text = text
        return last
    edit_of = last.external_message_id if last is not None and last.status == OutboxStatus.SENT else None
    row = OutboxMessage(
        identity_id=account.id,
        person_id=account.person_id,
        channel=account.channel,
        kind=kind,
        text=text,
        buttons=[],
        priority=int(Priority.NORMAL),
        not_before=now,
        status=OutboxStatus.QUEUED,
        attempts=0,
        edit_external_message_id=edit_of,
        ref_type=ref[0],
        ref_id=ref[1],
        tz=tz,
        created_at=now,
    )
    session.add(row)
    return row


HELD_REF = "held_for_reply"


def hold_for_reply(
    session: Session,
    account: ChannelIdentity,
    *,
    kind: str,
    text: str,
    buttons: list[Any],
    sent_row: int,
    now: datetime,
) -> None:
    """Outbox row `sent_row` reached `account` only as a summary: keep its full text in the outbox,
    awaiting the recipient's next message (whose reply carries it). The worker never claims it."""
    session.add(
        OutboxMessage(
            identity_id=account.id,
            person_id=account.person_id,
            channel=account.channel,
            kind=kind,
            text=text,
            buttons=buttons,
            priority=int(Priority.NORMAL),
            not_before=now,
            status=OutboxStatus.AWAITING_REPLY,
            attempts=0,
            ref_type=HELD_REF,
            ref_id=sent_row,
            created_at=now,
        )
    )


def take_held_for_reply(
    session: Session, identity_id: int, now: datetime, *, keep: timedelta, most: int
) -> tuple[list[OutboxMessage], int]:
    """The messages awaiting this account's reply: the newest `most` of those younger than `keep`
    (marked sent: the caller's reply carries them), and how many others were dropped (cancelled)."""
    rows = list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.identity_id == identity_id, OutboxMessage.status == OutboxStatus.AWAITING_REPLY
            )
            .order_by(OutboxMessage.id)
        )
    )
    fresh = [row for row in rows if row.created_at >= now - keep]
    shown = fresh[-most:] if most > 0 else []
    for row in rows:
        row.status = OutboxStatus.SENT if row in shown else OutboxStatus.CANCELLED
        row.sent_at = now if row in shown else None
    return shown, len(rows) - len(shown)
