"""Invite sheets and binding through the console harness: codes work once, expire, and lock out guessers."""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from chatbot.people.cli import cmd_invites
from chatbot.people.invites import ALPHABET, hash_code, looks_like_code
from db.models import AuditLog, ChannelIdentity, Guardian, InviteCode, Person, School, Student

PRIMARY = "红星小学"


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def write_invites(
    app: App, out: Path, role: str = "all", school: str = PRIMARY, unlinked: bool = False
) -> tuple[int, list[dict[str, str]]]:
    code = cmd_invites(argparse.Namespace(school=school, out=out, role=role, unlinked=unlinked), app)
    if code != 0:
        return code, []
    with out.open(encoding="utf-8-sig", newline="") as f:
        return code, list(csv.DictReader(f))


@pytest.fixture
def sheet(app: App, tmp_path: Path) -> list[dict[str, str]]:
    code, rows = write_invites(app, tmp_path / "invites.csv")
    assert code == 0
    return rows


def test_sheet_has_one_code_per_guardian_and_teacher_and_stores_only_hashes(
    app: App, tmp_path: Path, sheet: list[dict[str, str]]
) -> None:
    raw = (tmp_path / "invites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8 Chinese
    headers = list(sheet[0])
    assert len(headers) == 6  # name, role, class, child, code, expires (translated)
    code_column = headers[4]
    with app.session_factory() as s:
        school = s.scalars(select(School).where(School.name == PRIMARY)).one()
        guardians = s.scalar(
            select(func.count(func.distinct(Guardian.person_id)))
            .join(Student)
            .where(Student.school_id == school.id)
        )
        # Four class teachers and the principal.
        assert len(sheet) == guardians + 5
        stored = set(s.scalars(select(InviteCode.code_hash)))
        codes = [row[code_column] for row in sheet]
        assert len(set(codes)) == len(codes)
        assert all(looks_like_code(c) and set(c) <= set(ALPHABET) for c in codes)
        assert {hash_code(c) for c in codes} <= stored
        assert not any(c in stored for c in codes)
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "invites.export")).one()
        assert audit.details == {"role": "all", "count": len(sheet), "unlinked_only": False}
    demo_row = next(row for row in sheet if row[headers[0]] == "王建国")
    assert demo_row[headers[3]]  # the child's name is on the parent's row


def test_roles_filter_the_sheet(app: App, tmp_path: Path) -> None:
    _code, teachers = write_invites(app, tmp_path / "t.csv", role="teachers")
    _code, guardians = write_invites(app, tmp_path / "g.csv", role="guardians")
    assert len(teachers) == 5
    assert len(guardians) > 100
    assert write_invites(app, tmp_path / "x.csv", school="没有这个学校")[0] == 2
    assert not (tmp_path / "x.csv").exists()


def code_for(sheet: list[dict[str, str]], name: str) -> str:
    headers = list(sheet[0])
    return next(row[headers[4]] for row in sheet if row[headers[0]] == name)


def test_binding_works_once(console: ConsoleChannel, app: App, sheet: list[dict[str, str]]) -> None:
    code = code_for(sheet, "王建国")
    assert "邀请码" in texts(console.send("new-phone", "/start"))
    replies = console.send("new-phone", code.lower())
    assert "王建国" in texts(replies)
    assert "/whoami" in texts(replies)  # the help menu follows
    assert "王建国" in texts(console.send("new-phone", "/whoami"))
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == "new-phone")).one()
        assert identity.person is not None and identity.person.name == "王建国"
        invite = s.scalars(select(InviteCode).where(InviteCode.code_hash == hash_code(code))).one()
        assert invite.used_by_identity_id == identity.id
        assert s.scalars(select(AuditLog).where(AuditLog.action == "identity.bind")).one()
    # A second phone cannot reuse it.
    console.send("other-phone", "/start")
    assert "已经用过" in texts(console.send("other-phone", code))
    # A bound user's /start greets them instead of asking for a code.
    assert "欢迎回来" in texts(console.send("new-phone", "/start"))


def test_code_in_the_start_link_binds_directly(console: ConsoleChannel, sheet: list[dict[str, str]]) -> None:
    code = code_for(sheet, "李芳")
    assert "李芳" in texts(console.send("deep-link", f"/start {code}"))


def test_expired_and_wrong_codes_fail_clearly(
    console: ConsoleChannel, sheet: list[dict[str, str]], now: datetime
) -> None:
    code = code_for(sheet, "王建国")
    later = now + timedelta(days=31)
    console.send("late", "/start", now=later)
    assert "过期" in texts(console.send("late", code, now=later))
    console.send("typo", "/start")
    assert "不正确" in texts(console.send("typo", "KKKKKKKK"))
    assert "不正确" in texts(console.send("typo", "KKKKKKKK"))


def test_five_failures_lock_for_an_hour_then_lift(
    console: ConsoleChannel, sheet: list[dict[str, str]], now: datetime
) -> None:
    good = code_for(sheet, "王建国")
    console.send("guesser", "/start", now=now)
    for minute in range(4):
        assert "不正确" in texts(
            console.send("guesser", "KKKKKKK" + ALPHABET[minute], now=now + timedelta(minutes=minute))
        )
    locked = texts(console.send("guesser", "KKKKKKKY", now=now + timedelta(minutes=5)))
    assert "过多" in locked
    # Even the right code is refused while locked.
    assert "过多" in texts(console.send("guesser", good, now=now + timedelta(minutes=30)))
    assert "过多" in texts(console.send("guesser", "/start", now=now + timedelta(minutes=64)))
    after = now + timedelta(minutes=66)
    console.send("guesser", "/start", now=after)
    assert "王建国" in texts(console.send("guesser", good, now=after))


def test_failures_spread_over_more_than_an_hour_do_not_lock(
    console: ConsoleChannel, sheet: list[dict[str, str]], now: datetime
) -> None:
    console.send("slow", "/start", now=now)
    for step in range(8):
        moment = now + timedelta(minutes=20 * step)
        assert "不正确" in texts(console.send("slow", "KKKKKKKK", now=moment)), step


def test_reissuing_revokes_the_previous_sheet(
    app: App, console: ConsoleChannel, tmp_path: Path, sheet: list[dict[str, str]]
) -> None:
    old = code_for(sheet, "王建国")
    _code, fresh = write_invites(app, tmp_path / "again.csv", role="guardians")
    console.send("p", "/start")
    assert "过期" in texts(console.send("p", old))
    assert "王建国" in texts(console.send("p", code_for(fresh, "王建国")))


def test_binding_as_a_teacher_gives_the_teacher_menu(
    console: ConsoleChannel, sheet: list[dict[str, str]]
) -> None:
    console.send("t", "/start")
    menu = texts(console.send("t", code_for(sheet, "李芳")))
    assert "李芳" in menu
    assert "班主任" in texts(console.send("t", "/whoami"))


def test_no_person_row_holds_a_clear_code(app: App, sheet: list[dict[str, str]]) -> None:
    codes = {code_for(sheet, "王建国"), code_for(sheet, "李芳")}
    with app.session_factory() as s:
        for person in s.scalars(select(Person)):
            assert person.name not in codes and (person.phone or "") not in codes


def test_reprint_for_the_unlinked_only(
    app: App, console: ConsoleChannel, tmp_path: Path, sheet: list[dict[str, str]]
) -> None:
    console.send("p", "/start")
    console.send("p", code_for(sheet, "王建国"))
    _code, reprint = write_invites(app, tmp_path / "again.csv", unlinked=True)
    names = [next(iter(row.values())) for row in reprint]
    assert "王建国" not in names
    assert len(reprint) == len(sheet) - 1
    # The linked parent's chat keeps working; the others' old slips were replaced.
    assert "王建国" in texts(console.send("p", "/whoami"))


def test_a_bare_code_without_start_binds(console: ConsoleChannel, sheet: list[dict[str, str]]) -> None:
    code = code_for(sheet, "李芳")
    assert "绑定成功" in texts(console.send("bare-code", code))
    assert "李芳" in texts(console.send("bare-code", "/whoami"))
