"""`issue_code`: one fresh code for one person, handed back in clear and stored only as its hash, with
exactly the grant and expiry asked for; a code that collides with a stored one is drawn again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.people import invites
from chatbot.people.invites import ALPHABET, CODE_LENGTH, hash_code, issue_code, looks_like_code
from db.models import AuditLog, ChannelIdentity, InviteCode, Person, School
from db.session import transaction
from tests.conftest import DemoPeople

Row = tuple[str, int, str, str | None, int | None, datetime, datetime, datetime | None, int | None]


def _rows(app: App) -> list[Row]:
    with app.session_factory() as s:
        return [
            (
                i.code_hash,
                i.person_id,
                i.role,
                i.scope_type,
                i.scope_id,
                i.expires_at,
                i.created_at,
                i.used_at,
                i.used_by_identity_id,
            )
            for i in s.scalars(select(InviteCode).order_by(InviteCode.id))
        ]


def _audit_count(app: App) -> int:
    with app.session_factory() as s:
        return s.scalar(select(func.count()).select_from(AuditLog)) or 0


def _school_id(session: Session, name: str = "红星小学") -> int:
    return session.scalars(select(School.id).where(School.name == name)).one()


def test_issue_code_stores_only_the_hash_with_the_grant_and_expiry(
    app: App, demo: DemoPeople, now: datetime, console: ConsoleChannel
) -> None:
    audits = _audit_count(app)
    with transaction(app.session_factory) as session:
        parent = session.get(Person, demo.parent)
        assert parent is not None
        school_id = _school_id(session)
        code = issue_code(
            session,
            parent,
            role="guardian",
            scope_type="school",
            scope_id=school_id,
            now=now,
            valid_for=timedelta(days=3, hours=2),
        )
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) and looks_like_code(code)
    assert _rows(app) == [
        (hash_code(code), demo.parent, "guardian", "school", school_id, now + timedelta(days=3, hours=2), now,
         None, None),
    ]  # fmt: skip
    assert code not in repr(_rows(app))  # never stored in clear
    assert _audit_count(app) == audits  # issuing one code audits nothing; the export does

    # The code works: a new chat that sends it is bound to the person.
    console.send("new-chat", "/start")
    console.send("new-chat", code)
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == "new-chat")).one()
        assert identity.person_id == demo.parent
        used = s.scalars(select(InviteCode)).one()
        assert (used.used_at, used.used_by_identity_id) == (now, identity.id)


def test_issue_code_without_a_scope_and_a_short_validity(app: App, demo: DemoPeople, now: datetime) -> None:
    with transaction(app.session_factory) as session:
        teacher = session.get(Person, demo.teacher)
        assert teacher is not None
        code = issue_code(
            session,
            teacher,
            role="class_teacher",
            scope_type=None,
            scope_id=None,
            now=now,
            valid_for=timedelta(minutes=1),
        )
    assert _rows(app) == [
        (
            hash_code(code),
            demo.teacher,
            "class_teacher",
            None,
            None,
            now + timedelta(minutes=1),
            now,
            None,
            None,
        )
    ]


@pytest.fixture
def scripted_codes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """`new_code` draws from this list, in order, and fails the test once it is used up."""
    script: list[str] = []

    def new_code() -> str:
        assert script, "new_code called more often than expected"
        return script.pop(0)

    monkeypatch.setattr(invites, "new_code", new_code)
    yield script
    assert script == [], "new_code called less often than expected"


def test_a_colliding_code_is_drawn_again(
    app: App, demo: DemoPeople, now: datetime, scripted_codes: list[str]
) -> None:
    scripted_codes.extend(["K7MX4QPA", "K7MX4QPA", "k7mx-4qpa", "HBRT3Y9W"])
    with transaction(app.session_factory) as session:
        parent = session.get(Person, demo.parent)
        teacher = session.get(Person, demo.teacher)
        assert parent is not None and teacher is not None
        week = timedelta(days=7)
        first = issue_code(
            session, parent, role="guardian", scope_type="school", scope_id=1, now=now, valid_for=week
        )
        session.flush()
        later = now + timedelta(hours=1)
        second = issue_code(
            session, teacher, role="teacher", scope_type="class", scope_id=2, now=later, valid_for=week
        )
    # The same code again, and the same code typed another way (same hash), are both skipped.
    assert (first, second) == ("K7MX4QPA", "HBRT3Y9W")
    assert _rows(app) == [
        (hash_code("K7MX4QPA"), demo.parent, "guardian", "school", 1, now + week, now, None, None),
        (hash_code("HBRT3Y9W"), demo.teacher, "teacher", "class", 2, later + week, later, None, None),
    ]


def test_the_first_free_code_is_taken_at_once(
    app: App, demo: DemoPeople, now: datetime, scripted_codes: list[str]
) -> None:
    """With codes already stored, a code that matches none of them is used without another draw."""
    scripted_codes.extend(["AAAAAAAA", "BBBBBBBB", "CCCCCCCC"])
    with transaction(app.session_factory) as session:
        parent = session.get(Person, demo.parent)
        assert parent is not None
        got = [
            issue_code(session, parent, role="guardian", scope_type=None, scope_id=None, now=now,
                       valid_for=timedelta(days=1))
            for _ in range(3)
        ]  # fmt: skip
    assert got == ["AAAAAAAA", "BBBBBBBB", "CCCCCCCC"]
    assert [row[0] for row in _rows(app)] == [hash_code(c) for c in got]
