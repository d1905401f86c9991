"""`python bot.py ...` as a user runs it: a real subprocess, stdin piped, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from db.models import AuditLog, InviteCode, Student
from tests.conftest import PG_URL
from tests.people.rostergen import roster_rows, write_csv

# These tests start real processes (bot.py); the mutation bench leaves them out (see bench/mutation.py).
pytestmark = pytest.mark.subprocess

BOT = Path(__file__).resolve().parent.parent / "bot.py"
OWN_SETTINGS = ("DATABASE_URL", "TELEGRAM_TOKEN", "WECHAT_TOKEN", "TIMEZONE", "DEFAULT_LOCALE", "LOG_LEVEL")


def run_bot(*args: str, cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in OWN_SETTINGS}
    environment.update({"LOG_LEVEL": "WARNING", **env})
    return subprocess.run(
        [sys.executable, str(BOT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
    )


def test_scripted_console_transcript(app: App, tmp_path: Path) -> None:
    script = "/start\n/help\n/language\n3\n/whoami\n"
    result = run_bot(
        "console", "--as", "parent", cwd=tmp_path, stdin=script, DATABASE_URL=app.settings.database_url
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Every line typed is echoed, followed by its replies, in order.
    steps = [
        "> /start",
        "欢迎回来，王建国",
        "> /help\n我可以帮您",
        "/whoami — ",
        "> /language",
        "1. 简体中文",
        "3. English",
    ]
    steps += ["> 3", "Language set to English.", "> /whoami", "You are linked as 王建国.", "guardian of"]
    position = 0
    for step in steps:
        found = out.find(step, position)
        assert found >= 0, f"{step!r} missing after offset {position}:\n{out}"
        position = found + len(step)


def test_bare_bot_py_is_the_demo_parent_on_a_new_database(tmp_path: Path) -> None:
    """No token and no settings at all: the default SQLite file is created, migrated and seeded."""
    if PG_URL:
        pytest.skip("the zero-configuration default is SQLite")
    result = run_bot(cwd=tmp_path, stdin="/whoami\n")
    assert result.returncode == 0, result.stderr
    assert "王建国" in result.stdout
    assert (tmp_path / "data" / "jiaxiao.db").exists()
    again = run_bot(cwd=tmp_path, stdin="/whoami\n")
    assert again.returncode == 0 and "王建国" in again.stdout


def test_bare_bot_py_seeds_an_empty_migrated_database(empty_app: App, tmp_path: Path) -> None:
    result = run_bot(cwd=tmp_path, stdin="/whoami\n", DATABASE_URL=empty_app.settings.database_url)
    assert result.returncode == 0, result.stderr
    assert "王建国" in result.stdout
    with empty_app.session_factory() as s:
        assert (s.scalar(select(func.count()).select_from(Student)) or 0) > 150


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("TIMEZONE", "Mars/Base"),
        ("DATABASE_URL", "ftp://x"),
        ("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"),  # nothing listens there
    ],
)
def test_bad_config_is_one_line_and_exit_code_2(setting: str, value: str, tmp_path: Path) -> None:
    result = run_bot("console", cwd=tmp_path, **{setting: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and setting in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_import_roster_command(empty_app: App, tmp_path: Path) -> None:
    url = empty_app.settings.database_url
    rows = roster_rows(200)
    good = write_csv(tmp_path / "good.csv", rows, "gb18030")
    first = run_bot(
        "import-roster", str(good), "--region", "county", cwd=tmp_path, DATABASE_URL=url, DEFAULT_LOCALE="en"
    )
    assert first.returncode == 0, first.stderr
    assert "200 pupils added" in first.stdout
    second = run_bot("import-roster", str(good), cwd=tmp_path, DATABASE_URL=url, DEFAULT_LOCALE="en")
    assert second.returncode == 0 and "0 pupils added, 0 updated, 200 unchanged" in second.stdout

    rows[4][5] = "?"
    rows[50][1] = ""
    rows[199][9] = "110"
    bad = run_bot(
        "import-roster",
        str(write_csv(tmp_path / "bad.csv", rows)),
        cwd=tmp_path,
        DATABASE_URL=url,
        DEFAULT_LOCALE="en",
    )
    assert bad.returncode == 2
    errors = bad.stderr.strip().splitlines()
    assert errors[:3] == [
        "row 6: gender '?' is not 男 or 女",
        "row 52: grade is empty",
        "row 201: guardian_phone '110' is not a phone number",
    ]
    assert errors[3] == "3 rows have errors, 3 errors in all: nothing was imported."
    with empty_app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 200
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roster.import"))
            == 2
        )


def test_import_roster_refuses_identity_cards_in_one_line(empty_app: App, tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("学校,年级,班级,学号,姓名,身份证号\n红旗小学,1,1,1,马一,620000201501011234\n", "utf-8")
    result = run_bot(
        "import-roster",
        str(path),
        "--region",
        "x",
        cwd=tmp_path,
        DATABASE_URL=empty_app.settings.database_url,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "身份证号" in result.stderr


def test_invites_command_writes_the_sheet(app: App, tmp_path: Path) -> None:
    out = tmp_path / "codes.csv"
    result = run_bot(
        "invites",
        "--school",
        "东乡第一初级中学",
        "--out",
        str(out),
        "--role",
        "teachers",
        cwd=tmp_path,
        DATABASE_URL=app.settings.database_url,
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text("utf-8-sig").splitlines()
    assert lines[0].split(",") == ["姓名", "身份", "班级", "孩子", "邀请码", "有效期至"]
    assert len(lines) == 1 + 3 + 1  # three class teachers and the principal
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(InviteCode)) == 4


def test_console_chat_keeps_log_lines_out_of_the_conversation(app: App, tmp_path: Path) -> None:
    """The console is the chat: an INFO line about provisional holidays goes to data/console.log only."""
    result = run_bot(
        "console",
        "--as",
        "admin",
        cwd=tmp_path,
        stdin="/calendar\n",
        DATABASE_URL=app.settings.database_url,
        LOG_LEVEL="INFO",
    )
    assert result.returncode == 0, result.stderr
    assert "📅 红星小学" in result.stdout
    assert "INFO" not in result.stdout + result.stderr
    assert (tmp_path / "data" / "console.log").is_file()  # where the lines went instead
