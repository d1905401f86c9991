"""Redeeming invite codes at the edges: what looks like a code (eight letters of the alphabet, typed with
at most four separators), the count of wrong codes within the hour (the fifth locks, even at the
window's last moment), the lock's end (the very moment it ends, the right code works), and the chat
account exactly as a successful code leaves it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.people.invites import (
    FAILURE_WINDOW,
    LOCKOUT,
    Redeemed,
    RedeemResult,
    issue_code,
    looks_like_code,
    redeem,
)
from db.models import ChannelIdentity, Person
from db.session import transaction
from tests.conftest import DemoPeople

WRONG = "KKKKKKKK"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K7MX4QPA", True),
        ("  k7mx4qpa  ", True),  # case and surrounding spaces do not matter
        ("K7-MX-4Q-PA", True),  # 11 characters
        ("K-7-M-X-4QPA", True),  # 12 characters: the most a code may be typed with
        ("K-7-M-X-4-QPA", False),  # 13 characters: a sentence that happens to hold a code
        ("K7MX4QP0", False),  # 0 is not in the alphabet, though the length is right
        ("K7MX4QPAA", False),  # nine letters
        ("K7MX4QP", False),  # seven letters
        ("hello", False),  # short text is not a code
        ("你好", False),
    ],
)
def test_what_looks_like_a_code(text: str, expected: bool) -> None:
    assert looks_like_code(text) is expected


@pytest.fixture
def session(app: App, demo: DemoPeople) -> Iterator[Session]:
    """One session for the test (the demo people were looked up before it opened)."""
    with app.session_factory() as s:
        yield s


@pytest.fixture
def parent(session: Session, demo: DemoPeople) -> Person:
    found = session.get(Person, demo.parent)
    assert found is not None
    return found


@pytest.fixture
def identity(session: Session, now: datetime) -> ChannelIdentity:
    account = ChannelIdentity(channel="console", external_id="new-phone", created_at=now)
    session.add(account)
    session.flush()
    return account


def _code(session: Session, parent: Person, now: datetime) -> str:
    return issue_code(
        session,
        parent,
        role="guardian",
        scope_type="school",
        scope_id=1,
        now=now,
        valid_for=timedelta(days=30),
    )


def _state(identity: ChannelIdentity) -> tuple[int, datetime | None, datetime | None]:
    return identity.failed_codes, identity.failed_window_start, identity.locked_until


def test_the_fifth_wrong_code_within_the_hour_locks_even_at_its_last_moment(
    session: Session, identity: ChannelIdentity, now: datetime
) -> None:
    # The window and the lock are an hour each (FAILURE_WINDOW, LOCKOUT).
    assert redeem(session, identity, WRONG, now) == Redeemed(RedeemResult.WRONG)
    assert _state(identity) == (1, now, None)
    for minutes, count in ((10, 2), (20, 3), (59, 4)):
        assert redeem(session, identity, WRONG, now + timedelta(minutes=minutes)) == Redeemed(
            RedeemResult.WRONG
        )
        assert _state(identity) == (count, now, None)
    # Exactly one hour after the first failure the window is still open: the fifth failure locks.
    last = now + FAILURE_WINDOW
    assert redeem(session, identity, WRONG, last) == Redeemed(
        RedeemResult.LOCKED, locked_until=last + LOCKOUT
    )
    assert _state(identity) == (0, None, last + LOCKOUT)


def test_a_failure_after_the_window_starts_a_new_count(
    session: Session, identity: ChannelIdentity, now: datetime
) -> None:
    for minutes in (0, 10, 20, 30):
        redeem(session, identity, WRONG, now + timedelta(minutes=minutes))
    later = now + FAILURE_WINDOW + timedelta(seconds=1)
    assert redeem(session, identity, WRONG, later) == Redeemed(RedeemResult.WRONG)
    assert _state(identity) == (1, later, None)


def test_locked_until_the_moment_it_ends_then_the_right_code_binds(
    session: Session, identity: ChannelIdentity, parent: Person, now: datetime
) -> None:
    code = _code(session, parent, now)
    for _ in range(5):
        result = redeem(session, identity, WRONG, now)
    until = now + LOCKOUT
    assert result == Redeemed(RedeemResult.LOCKED, locked_until=until)
    # While locked even the right code is refused, and the answer says until when.
    assert redeem(session, identity, code, now + timedelta(minutes=30)) == Redeemed(
        RedeemResult.LOCKED, locked_until=until
    )
    assert redeem(session, identity, code, until - timedelta(seconds=1)) == Redeemed(
        RedeemResult.LOCKED, locked_until=until
    )
    assert _state(identity) == (0, None, until)
    # At the moment the lock ends, the code works.
    assert redeem(session, identity, code, until) == Redeemed(RedeemResult.OK, person=parent)


def test_a_good_code_binds_the_account_and_clears_the_failures(
    session: Session, identity: ChannelIdentity, parent: Person, now: datetime
) -> None:
    code = _code(session, parent, now)
    assert redeem(session, identity, WRONG, now) == Redeemed(RedeemResult.WRONG)
    assert redeem(session, identity, WRONG, now) == Redeemed(RedeemResult.WRONG)
    assert _state(identity) == (2, now, None)
    moment = now + timedelta(minutes=5)
    assert redeem(session, identity, code, moment) == Redeemed(RedeemResult.OK, person=parent)
    # The account in memory, before anything is flushed, is the parent's and carries no failures.
    assert (identity.person_id, identity.person) == (parent.id, parent)
    assert _state(identity) == (0, None, None)
    session.flush()
    session.expire_all()
    assert (identity.person_id, identity.person) == (parent.id, parent)
    assert _state(identity) == (0, None, None)


def test_through_the_console_the_lock_lifts_at_the_printed_moment(
    console: ConsoleChannel, app: App, demo: DemoPeople, now: datetime
) -> None:
    with transaction(app.session_factory) as s:
        found = s.get(Person, demo.parent)
        assert found is not None
        code = _code(s, found, now)
    for _ in range(5):
        console.send("guesser", WRONG, now=now)
    assert [r.text for r in console.send("guesser", code, now=now + LOCKOUT - timedelta(seconds=1))] == [
        "输错次数过多。请在 11月23日 09:00 之后再试。"
    ]
    replies = console.send("guesser", code, now=now + LOCKOUT)
    assert replies[0].text == "绑定成功！您的身份是：王建国。"
