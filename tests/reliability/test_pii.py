"""Personal data hygiene: invite codes never in clear (database or logs), /forget really unlinks, and a
whole school day through every domain logs no pupil name, guardian name or phone number.
"""

from __future__ import annotations

import argparse
import csv
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import build_parser
from chatbot.delivery.outbox import active_identities
from chatbot.people.cli import cmd_invites
from chatbot.scheduler import run_jobs
from db.base import Base
from db.models import ChannelIdentity, Guardian, Person, Student
from tests.attendance.helpers import MONDAY, at

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class Everything(logging.Handler):
    """Every record of every logger at DEBUG, formatted as an operator would see it (with tracebacks)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    chatbot = logging.getLogger("chatbot")
    old_root, old_chatbot = root.level, chatbot.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    chatbot.setLevel(logging.DEBUG)
    # SQL echo is an operator's explicit debugging switch, not application logging.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_root)
    chatbot.setLevel(old_chatbot)


def _everything_stored(app: App) -> str:
    """Every row of every table as text."""
    parts: list[str] = []
    with app.session_factory() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(text(f'SELECT * FROM "{table.name}"')):
                parts.append(" ".join(map(str, row)))
    return "\n".join(parts)


def test_invite_codes_are_stored_and_logged_only_as_hashes(
    app: App, console: ConsoleChannel, tmp_path: Path, all_logs: Everything
) -> None:
    out = tmp_path / "invites.csv"
    assert cmd_invites(argparse.Namespace(school="红星小学", out=out, role="all", unlinked=False), app) == 0
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    codes = [row[4] for row in rows]
    assert len(codes) > 100
    # Two people bind (one with spaces and lower case, as typed on a phone), one guesses wrong.
    console.send("pii-chat-1", "/start")
    console.send("pii-chat-1", codes[0])
    console.send("pii-chat-2", "/start " + codes[1].lower()[:4] + " " + codes[1].lower()[4:])
    console.send("pii-chat-3", "/start")
    console.send("pii-chat-3", codes[2][:-1] + ("X" if codes[2][-1] != "X" else "Y"))
    stored = _everything_stored(app)
    in_db = [c for c in codes if c in stored]
    logged = [c for c in codes if any(c in line or c.lower() in line for line in all_logs.lines)]
    assert in_db == [] and logged == []
    with app.session_factory() as s:
        bound = s.scalars(
            select(ChannelIdentity.person_id).where(ChannelIdentity.external_id.like("pii-chat-%"))
        )
        assert len([p for p in bound if p is not None]) == 2  # the codes did work


def test_forget_unlinks_the_guardian_and_no_message_reaches_that_chat_any_more(
    app: App, console: ConsoleChannel, demo: Any, now: datetime
) -> None:
    console.send(demo.parent, "/whoami")
    console.send(demo.parent, "/forget")
    console.send(demo.parent, payload="fgt:1")
    with app.session_factory() as s:
        identity = s.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id == f"person-{demo.parent}")
        ).one()
        assert identity.person_id is None
        parent = s.get(Person, demo.parent)
        assert parent is not None
        assert active_identities(s, demo.parent) == []  # nothing the bot sends can reach this chat
    # The chat is now a stranger: no child, no leave, no aid record, no way back with old buttons.
    for attempt in ("/whoami", "/leave", "/aid"):
        reply = "\n".join(r.text for r in console.send(f"person-{demo.parent}", attempt))
        assert parent.name not in reply
    with app.session_factory() as s:
        children = s.scalars(
            select(Student.name).join(Guardian).where(Guardian.person_id == demo.parent)
        ).all()
    for step in ("/leave", "lvk:1", "aidk:1"):
        replies = (
            console.send(f"person-{demo.parent}", step)
            if step.startswith("/")
            else console.send(f"person-{demo.parent}", payload=step)
        )
        assert not any(child in r.text for r in replies for child in children)


def test_a_whole_school_day_logs_no_names_or_phones(
    app: App, console: ConsoleChannel, demo: Any, all_logs: Everything, capsys: pytest.CaptureFixture[str]
) -> None:
    with app.session_factory() as s:
        pupils = set(s.scalars(select(Student.name)))
        people = {(p.name, p.phone) for p in s.scalars(select(Person))}
        guardians = set(s.scalars(select(Guardian.person_id)))
        teacher_class_guardians = list(
            s.scalars(select(Guardian.person_id).join(Student).order_by(Student.id).limit(40))
        )
    for person_id in teacher_class_guardians:
        console.external_id(person_id)
    morning = at(MONDAY, 7, 30)
    # A parent asks for leave; the teacher takes roll-call and decides; the day closes; messages go out.
    console.send(demo.parent, "孩子今天生病了", now=morning)
    for answer in ("1", "1", "发烧"):
        console.send(demo.parent, answer, now=morning)
    for reply in console.pushed(demo.teacher, now=morning):
        if reply.buttons:
            console.send(demo.teacher, payload=reply.flat_buttons()[0].payload, now=morning)
    console.send(demo.teacher, "缺 2 3 4", now=at(MONDAY, 8))
    console.send(demo.teacher, "病假 5", now=at(MONDAY, 8))
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8, 5))
    run_jobs(app, at(MONDAY, 10, 31))
    for person_id in [demo.teacher, demo.principal, *teacher_class_guardians]:
        for reply in console.pushed(person_id, now=at(MONDAY, 10, 35)):
            if reply.buttons and person_id in guardians:
                console.send(person_id, payload=reply.flat_buttons()[0].payload, now=at(MONDAY, 10, 40))
    console.send(demo.parent, "我家孩子上初中住校，是建档立卡户，能领什么补助？", now=at(MONDAY, 12))
    console.send(demo.parent, "/aid", now=at(MONDAY, 12))
    console.send(demo.parent, "1", now=at(MONDAY, 12))
    console.send(demo.principal, "/report", now=at(MONDAY, 17))
    console.send(demo.principal, "1", now=at(MONDAY, 17))
    console.send(demo.admin, "/cases", now=at(MONDAY, 17))
    parser = build_parser()
    args = parser.parse_args(
        ["broadcast", "--as", "admin", "--to", "school:1/both", "--text", "明天开家长会"]
    )
    assert args.handler(args, app) == 0
    for person_id in teacher_class_guardians[:5]:
        console.pushed(person_id, now=at(MONDAY, 17, 5))
    # A failing update logs its traceback: that must not carry names either.
    console.send(demo.parent, payload="lva:999999:1", now=at(MONDAY, 18))
    capsys.readouterr()
    leaks = []
    for line in all_logs.lines:
        if (
            PHONE.search(line)
            or any(n in line for n in pupils)
            or any((name and name in line) or (phone and phone in line) for name, phone in people)
        ):
            leaks.append(line[:200])
    assert len(all_logs.lines) > 10  # the day did log: ids, counts, kinds
    assert leaks == []
