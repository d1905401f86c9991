"""Queueing messages for delivery, in the caller's transaction.

Domain code renders a message per recipient locale and hands it here; the delivery worker
sends it later through the recipient's channel. Nothing else sends unrequested messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Integer, Select, String, Text, case, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from chatbot.core.messages import Reply, buttons_to_json
from chatbot.delivery.bulk import _copy_rows as _copy_rows
from chatbot.delivery.bulk import _plain as _plain
from chatbot.delivery.bulk import write_rows
from chatbot.delivery.held import HELD_REF as HELD_REF
from chatbot.delivery.held import hold_for_reply as hold_for_reply
from chatbot.delivery.held import take_held_for_reply as take_held_for_reply
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


class Queued(list[OutboxMessage]):
    """The rows `enqueue_for_person` wrote, and how many active chat accounts the person has.

    A list, so callers that only need the rows keep working; `reached` is what a confirmation may
    claim. Rows can be fewer than accounts when a dedupe key had already queued the same event.
    """

    def __init__(self, rows: list[OutboxMessage], accounts: int) -> None:
        super().__init__(rows)
        self.accounts = accounts

    @property
    def reached(self) -> bool:
        """True when the person has a chat account the message went (or had already gone) to."""
        return self.accounts > 0


def reachable_people(session: Session, person_ids: Sequence[int]) -> set[int]:
    """Those of `person_ids` who have at least one active chat account: who a message can reach."""
    found: set[int] = set()
    for chunk in chunks(sorted(set(person_ids))):
        found.update(
            session.scalars(
                select(ChannelIdentity.person_id)
                .where(ChannelIdentity.person_id.in_(chunk), ChannelIdentity.active.is_(True))
                .distinct()
            )
        )
    return found


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
) -> Queued:
    """Queue one message to every active chat account of `person`, each in its own language.

    The result says whether the person could be reached at all: a person without an active
    account gets no row, and the caller must not claim otherwise.

    With a `dedupe_key` the same event queues at most once per account, however often it runs.
    Non-urgent messages due in quiet hours wait until the quiet hours end.
    """
    policy = policy_of(session)
    due = not_before or now
    if priority != Priority.URGENT:
        due = after_quiet_hours(due, tz, quiet_start or policy.quiet_start, quiet_end or policy.quiet_end)
    rows: list[OutboxMessage] = []
    accounts = active_identities(session, person.id)
    for identity in accounts:
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
    return Queued(rows, len(accounts))


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


class Account(NamedTuple):
    """An active chat account of a person in an `enqueue_many` batch, with the language it reads."""

    identity_id: int
    channel: str
    locale: str


# An item, one of its person's accounts and that account's dedupe key: one row to write unless taken.
Wanted = tuple[OutboxItem, Account, str]


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
    accounts = _accounts(session, sorted({item.person_id for item in items}), policy.default_locale)
    wanted: list[Wanted] = [
        (item, account, f"{item.dedupe_key}|{account.identity_id}")
        for item in items
        for account in accounts.get(item.person_id, [])
    ]
    taken = _taken_keys(session, [key for _item, _account, key in wanted])
    rows = _rows_to_write(wanted, taken, now, quiet)
    write_rows(session, rows)
    return len(rows)


def _accounts(session: Session, person_ids: list[int], default_locale: str) -> dict[int, list[Account]]:
    """The active chat accounts of these people, by person, oldest first, each with its language."""
    accounts: dict[int, list[Account]] = {}
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
                Account(identity_id, channel, recipient_locale(locale, person_locale, default=default_locale))
            )
    return accounts


def _taken_keys(session: Session, keys: list[str]) -> set[str]:
    """Those of `keys` some outbox row already has (the event was queued before)."""
    taken: set[str] = set()
    for chunk in chunks(keys):
        taken.update(
            key
            for key in session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
            if key is not None
        )
    return taken


def _rows_to_write(
    wanted: list[Wanted], taken: set[str], now: datetime, quiet: tuple[time, time]
) -> list[dict[str, Any]]:
    """The outbox rows (column values) for the wanted keys not yet taken, each rendered in its language."""
    rows: list[dict[str, Any]] = []
    for item, account, key in wanted:
        if key in taken:
            continue
        # A key repeated within the batch is written once.
        taken.add(key)
        with use_locale(account.locale):
            reply = item.render()
        due = item.not_before or now
        if item.priority != Priority.URGENT:
            due = after_quiet_hours(due, item.tz, *quiet)
        rows.append(
            {
                "identity_id": account.identity_id,
                "person_id": item.person_id,
                "channel": account.channel,
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
    return rows


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
