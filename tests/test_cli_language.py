"""The operator command line speaks the configured language: help texts, argparse's own words
("usage", "options", "error: ...") and its errors, with no English inside Chinese output."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chatbot.cli import main
from chatbot.i18n import get_locale, use_locale
from tests.test_cli_foundation import run_bot

# These tests start real processes (bot.py); the mutation bench leaves them out (see bench/mutation.py).
pytestmark = pytest.mark.subprocess

# Each case: argv, the stream to read, expected exit code. None of them touches a database.
CASES: dict[str, tuple[tuple[str, ...], str, int]] = {
    "top-level help": (("--help",), "stdout", 0),
    "calendar show help": (("calendar", "show", "--help"), "stdout", 0),
    "import-roster help": (("import-roster", "--help"), "stdout", 0),
    "close-day help": (("close-day", "--help"), "stdout", 0),
    "missing required argument": (("import-roster",), "stderr", 2),
    "invalid choice": (("invites", "--school", "x", "--out", "x.csv", "--role", "nobody"), "stderr", 2),
    "bad --from date": (("calendar", "show", "--from", "2027-13-01"), "stderr", 2),
}

# ASCII words allowed inside Chinese output: what the operator types or reads as a name, never prose.
COMMANDS = {
    "bot", "py", "migrate", "demo", "console", "import", "roster", "template", "invites", "aid", "packs",
    "close", "day", "escalate", "cases", "report", "broadcast", "notices", "outbox", "deliver",
    "calendar", "show", "remind", "telegram", "wechat", "menu", "attendance",
}  # fmt: skip
# Option names (--from, --dry-run) are left out by OPTION below; these are values one types.
VALUES = {"nobody", "all", "guardians", "teachers"}
PLACEHOLDERS = {
    "COMMAND", "ACTION", "FILE", "ID", "TARGET", "REGION", "SCHOOL", "START", "DAYS", "DATE", "ROLE", "OUT",
    "YYYY", "MM", "DD", "WEBHOOK_URL", "DEFAULT_LOCALE",
}  # fmt: skip
PRODUCTS = {
    "Jiaxiao", "Telegram", "WeChat", "SQLite", "PostgreSQL", "Excel", "JSON", "CSV", "YAML", "xlsx",
    "csv", "yaml", "Alembic", "UTF", "GB18030", "docs", "md",
}  # fmt: skip
ALLOWED = COMMANDS | VALUES | PLACEHOLDERS | PRODUCTS
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
URL_OR_PATH = re.compile(r"https?://\S+|\b[\w.-]+/[\w./-]+")
OPTION = re.compile(r"(?<![\w-])--?[a-z][a-z-]*")


def english_words(text: str) -> set[str]:
    """Runs of 3+ ASCII letters that are not in the allowed set (URLs and paths left out)."""
    text = OPTION.sub(" ", URL_OR_PATH.sub(" ", text))
    return {w for w in WORD.findall(text) if sum(c.isalpha() for c in w) >= 3 and w not in ALLOWED}


def _output(case: str, tmp_path: Path, locale: str) -> str:
    argv, stream, code = CASES[case]
    result = run_bot(*argv, cwd=tmp_path, DEFAULT_LOCALE=locale)
    assert result.returncode == code, result.stdout + result.stderr
    text: str = getattr(result, stream)
    assert text.strip(), f"{case}: nothing on {stream}"
    return text


@pytest.mark.parametrize("case", list(CASES))
def test_simplified_chinese_output_has_no_english(case: str, tmp_path: Path) -> None:
    text = _output(case, tmp_path, "zh_Hans")
    assert english_words(text) == set(), text
    assert "用法：" in text
    if CASES[case][1] == "stderr":
        assert "错误：" in text


# One process per language for the other two; Simplified above covers every case.
def test_english_output_is_english(tmp_path: Path) -> None:
    help_text = _output("calendar show help", tmp_path, "en")
    assert help_text.startswith("usage: bot.py calendar show")
    assert "options:" in help_text and "show this help message and exit" in help_text
    assert not re.search(r"[\u4e00-\u9fff]", help_text), help_text
    error = _output("missing required argument", tmp_path, "en")
    assert "error: the following arguments are required: FILE" in error


def test_traditional_chinese_output_is_traditional(tmp_path: Path) -> None:
    text = _output("invalid choice", tmp_path, "zh_Hant")
    assert "用法：" in text
    assert "錯誤：" in text and "無效的選擇：'nobody'（可選：" in text
    assert "错误" not in text and "无效" not in text
    assert english_words(text) == set(), text


def test_lang_option_picks_the_language_of_help(capsys: pytest.CaptureFixture[str]) -> None:
    """In process: `--lang en` on a subcommand that has it wins over DEFAULT_LOCALE (zh_Hans by default)."""
    with use_locale(get_locale()), pytest.raises(SystemExit) as exit_info:
        main(["aid-packs", "--lang", "en", "--help"], clock=lambda: datetime(2027, 3, 1, tzinfo=UTC))
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bot.py aid-packs")
    assert "Validate the aid policy packs" in out
