"""Invite expiry at its edges, through the console: a code works up to the moment printed on the sheet
(the day before is fine), is refused from that moment on with the 过期 message, and a refused code binds
nothing and stays unused."""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.people.cli import cmd_invites
from chatbot.people.invites import hash_code
from db.models import AuditLog, ChannelIdentity, InviteCode, School

PRIMARY = "红星小学"
PARENT = "王建国"
EXPIRED = "这个邀请码已过期。请向学校索取新的邀请码。"
ASK_FOR_CODE = "邀请码"


def issue_sheet(app: App, out: Path) -> dict[str, tuple[str, datetime]]:
    """The sheet an operator prints: each name's code and the expiry moment written on it."""
    assert cmd_invites(argparse.Namespace(school=PRIMARY, out=out, role="all", unlinked=False), app) == 0
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    with app.session_factory() as s:
        tz = ZoneInfo(s.scalars(select(School).where(School.name == PRIMARY)).one().tz)
    return {row[0]: (row[4], datetime.strptime(row[5], "%Y-%m-%d %H:%M").replace(tzinfo=tz)) for row in rows}


@pytest.fixture
def sheet(app: App, tmp_path: Path) -> dict[str, tuple[str, datetime]]:
    return issue_sheet(app, tmp_path / "invites.csv")


def bound_person(app: App, external_id: str) -> int | None:
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == external_id)).one()
        return identity.person_id


def invite_row(app: App, code: str) -> InviteCode:
    with app.session_factory() as s:
        invite = s.scalars(select(InviteCode).where(InviteCode.code_hash == hash_code(code))).one()
        s.expunge(invite)
        return invite


def binds(app: App) -> int:
    with app.session_factory() as s:
        return len(s.scalars(select(AuditLog).where(AuditLog.action == "identity.bind")).all())


def test_the_sheet_states_the_configured_validity(
    app: App, sheet: dict[str, tuple[str, datetime]], now: datetime
) -> None:
    code, expires = sheet[PARENT]
    assert expires == now + timedelta(days=app.settings.invite_valid_days)
    assert invite_row(app, code).expires_at == expires


@pytest.mark.parametrize(
    "before_expiry",
    [timedelta(days=1), timedelta(minutes=1)],
    ids=["the day before", "a minute before"],
)
def test_a_code_used_just_before_it_expires_binds(
    app: App, console: ConsoleChannel, sheet: dict[str, tuple[str, datetime]], before_expiry: timedelta
) -> None:
    code, expires = sheet[PARENT]
    moment = expires - before_expiry
    assert ASK_FOR_CODE in console.send("late-but-ok", "/start", now=moment)[0].text
    replies = console.send("late-but-ok", code, now=moment)
    assert PARENT in replies[0].text and EXPIRED not in replies[0].text
    invite = invite_row(app, code)
    assert bound_person(app, "late-but-ok") == invite.person_id
    assert invite.used_at is not None and invite.used_by_identity_id is not None
    assert binds(app) == 1


@pytest.mark.parametrize(
    "after_expiry",
    [timedelta(0), timedelta(minutes=1), timedelta(days=1)],
    ids=["at the moment on the sheet", "a minute after", "the day after"],
)
def test_an_expired_code_is_refused_and_binds_nothing(
    app: App, console: ConsoleChannel, sheet: dict[str, tuple[str, datetime]], after_expiry: timedelta
) -> None:
    code, expires = sheet[PARENT]
    moment = expires + after_expiry
    console.send("too-late", "/start", now=moment)
    replies = console.send("too-late", code, now=moment)
    assert [r.text for r in replies] == [EXPIRED]
    assert bound_person(app, "too-late") is None
    invite = invite_row(app, code)
    assert invite.used_at is None and invite.used_by_identity_id is None
    assert binds(app) == 0
    # Still unlinked: the bot keeps asking for a code instead of greeting them.
    assert "/start" in console.send("too-late", "/help", now=moment)[0].text


def test_an_expired_code_typed_without_start_is_refused_too(
    app: App, console: ConsoleChannel, sheet: dict[str, tuple[str, datetime]]
) -> None:
    code, expires = sheet[PARENT]
    replies = console.send("straight-in", code.lower(), now=expires + timedelta(hours=1))
    assert [r.text for r in replies] == [EXPIRED]
    assert bound_person(app, "straight-in") is None


def test_a_new_sheet_replaces_an_expired_code(
    app: App, console: ConsoleChannel, sheet: dict[str, tuple[str, datetime]], tmp_path: Path
) -> None:
    old_code, expires = sheet[PARENT]
    later = expires + timedelta(days=2)
    reissuing = App(app.settings, clock=lambda: later)
    try:
        new_code, new_expires = issue_sheet(reissuing, tmp_path / "again.csv")[PARENT]
    finally:
        reissuing.engine.dispose()
    assert new_code != old_code and new_expires == later + timedelta(days=app.settings.invite_valid_days)
    console.send("second-try", "/start", now=later)
    assert [r.text for r in console.send("second-try", old_code, now=later)] == [EXPIRED]
    assert PARENT in console.send("second-try", new_code, now=later)[0].text
    assert bound_person(app, "second-try") == invite_row(app, new_code).person_id
