"""The attendance subcommands of `bot.py` (close-day, escalate-cases, report attendance), run in-process
through `chatbot.cli.main` on the test database with a fixed process clock: their Chinese help, argparse's
checks of their arguments, their exact one-line outputs and errors, and the audit row of an export."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.texts import trigger_text
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import main
from chatbot.i18n import use_locale
from db.models import SchoolClass
from db.models.attendance import CaseTrigger, DropoutCase
from tests.attendance.helpers import MONDAY, at, audit_rows, cli_environment, teacher_class

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
NOON = at(WEDNESDAY, 12)  # the default process clock of `cli`

Run = Callable[..., int]


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """`bot.py ARGS` on the test database, with the process clock `now` (never the wall clock)."""
    cli_environment(app, monkeypatch, tmp_path)
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps help at the terminal's width

    def run(*argv: str, now: datetime = NOON) -> int:
        with use_locale("zh_Hans"):  # main sets the locale itself; this only keeps tests apart
            return main(list(argv), clock=lambda: now)

    return run


def _help(cli: Run, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli(*argv, "--help")
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def _refused(cli: Run, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's own refusal: exit code 2, nothing on stdout, the usage and one error on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        cli(*argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err


def _absent_three_days(console: ConsoleChannel, teacher: int) -> None:
    for day in (MONDAY, TUESDAY, WEDNESDAY):
        console.send(teacher, "缺 3", now=at(day, 8))


def _school_of(app: App, teacher: int) -> int:
    class_id, _pupils = teacher_class(app, teacher)
    with app.session_factory() as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        return klass.school_id


# --- help --------------------------------------------------------------------------------------


def test_close_day_help_in_chinese(cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(cli, capsys, "close-day") == (
        "用法：bot.py close-day [-h] [--date DATE] [--school SCHOOL]\n"
        "\n"
        "结束一个上学日：发送缺勤提醒并建立辍学风险个案。\n"
        "\n"
        "选项:\n"
        "  -h, --help       显示本帮助信息并退出\n"
        "  --date DATE      要结束的当地日期，格式 YYYY-MM-DD（默认：今天）\n"
        "  --school SCHOOL  只处理这个学校编号（可重复）\n"
    )


def test_escalate_cases_help_in_chinese(cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(cli, capsys, "escalate-cases") == (
        "用法：bot.py escalate-cases [-h] [--date DATE]\n"
        "\n"
        "上报无人处理的辍学风险个案。\n"
        "\n"
        "选项:\n"
        "  -h, --help   显示本帮助信息并退出\n"
        "  --date DATE  当地日期，格式 YYYY-MM-DD（默认：今天）\n"
    )


def test_report_help_in_chinese(cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(cli, capsys, "report") == (
        "用法：bot.py report [-h] --scope SCOPE --from FIRST --to LAST --out OUT {attendance}\n"
        "\n"
        "把报表导出为 Excel 工作簿。\n"
        "\n"
        "位置参数:\n"
        "  {attendance}\n"
        "\n"
        "选项:\n"
        "  -h, --help     显示本帮助信息并退出\n"
        "  --scope SCOPE  class:ID（班级）、school:ID（学校）或 region:ID（地区）\n"
        "  --from FIRST   起始日期，格式 YYYY-MM-DD\n"
        "  --to LAST      结束日期，格式 YYYY-MM-DD\n"
        "  --out OUT      要写入的 .xlsx 文件\n"
    )


def test_the_top_level_help_lists_the_attendance_commands(
    cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("--help")
    assert exit_info.value.code == 0
    words = capsys.readouterr().out.split()  # a long command name pushes its text to the next line
    for command, text in (
        ("close-day", "结束一个上学日：发送缺勤提醒并建立辍学风险个案。"),
        ("escalate-cases", "上报无人处理的辍学风险个案。"),
        ("report", "把报表导出为 Excel 工作簿。"),
    ):
        start = words.index(command) + 1
        assert words[start : start + len(text.split())] == text.split()


# --- close-day ---------------------------------------------------------------------------------


@pytest.fixture
def stopwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """close-day times itself with time.perf_counter: here each run takes exactly 3.5 s."""
    ticks = itertools.cycle([1000.0, 1003.5])
    monkeypatch.setattr("chatbot.attendance.cli.time", SimpleNamespace(perf_counter=lambda: next(ticks)))


def _closed(day: date, schools: int, missing: int, absences: int, cases: int, queued: int) -> str:
    return (
        f"已完成{day.isoformat()}日结：{schools}所学校（跳过0所），{missing}个班未点名，"
        f"提醒缺勤{absences}人次，新建台账{cases}个，排队消息{queued}条。\n用时 3.5 秒。\n"
    )


def test_close_day_for_one_school_prints_its_exact_summary(  # type: ignore[no-untyped-def]
    cli: Run, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str], stopwatch
) -> None:
    _absent_three_days(console, demo.teacher)
    school = _school_of(app, demo.teacher)
    capsys.readouterr()
    for day in (MONDAY, TUESDAY):
        assert cli("close-day", "--date", day.isoformat(), "--school", str(school), now=at(day, 10, 30)) == 0
        assert capsys.readouterr() == (_closed(day, 1, 3, 1, 0, 1), "")
    # The third day in a row opens a case; only the one school is closed (the demo county has two).
    assert (
        cli("close-day", "--date", WEDNESDAY.isoformat(), "--school", str(school), now=at(WEDNESDAY, 10, 30))
        == 0
    )
    assert capsys.readouterr() == (_closed(WEDNESDAY, 1, 3, 1, 1, 2), "")
    with app.session_factory() as s:
        assert [(c.school_id, c.trigger, c.detail) for c in s.scalars(select(DropoutCase))] == [
            (school, CaseTrigger.CONSECUTIVE, {"days": 3})
        ]
    # Without --school every school is closed: the other one now, the first one again (nothing new).
    assert cli("close-day", "--date", WEDNESDAY.isoformat(), now=at(WEDNESDAY, 10, 30)) == 0
    assert capsys.readouterr() == (_closed(WEDNESDAY, 2, 6, 0, 0, 0), "")


def test_close_day_without_a_date_closes_the_clocks_local_day(  # type: ignore[no-untyped-def]
    cli: Run, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str], stopwatch
) -> None:
    console.send(demo.teacher, "缺 3", now=at(MONDAY, 8))
    school = _school_of(app, demo.teacher)
    capsys.readouterr()
    assert cli("close-day", "--school", str(school), now=at(MONDAY, 10, 30)) == 0
    assert capsys.readouterr() == (_closed(MONDAY, 1, 3, 1, 0, 1), "")


def test_close_day_school_ids_are_integers(  # type: ignore[no-untyped-def]
    cli: Run, app: App, demo, capsys: pytest.CaptureFixture[str], stopwatch
) -> None:
    school = _school_of(app, demo.teacher)
    assert _refused(cli, capsys, "close-day", "--school", "first") == (
        "用法：bot.py close-day [-h] [--date DATE] [--school SCHOOL]\n"
        "bot.py close-day：错误：参数 --school：无效的值（int）：'first'\n"
    )
    # A padded number is the same school (argparse's int()), closed once.
    assert (
        cli("close-day", "--date", MONDAY.isoformat(), "--school", f"0{school}", now=at(MONDAY, 10, 30)) == 0
    )
    assert capsys.readouterr() == (_closed(MONDAY, 1, 4, 0, 0, 0), "")


@pytest.mark.parametrize("value", ["2026-11-31", "23/11/2026"])
def test_close_day_refuses_a_bad_date(  # type: ignore[no-untyped-def]
    cli: Run, app: App, demo, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert cli("close-day", "--date", value) == 2
    assert capsys.readouterr() == ("", f"不是日期：{value}。请用 YYYY-MM-DD 格式。\n")


# --- report attendance -------------------------------------------------------------------------


def _report(cli: Run, scope: str, first: date, last: date, out: str) -> int:
    return cli(
        "report",
        "attendance",
        "--scope",
        scope,
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        "--out",
        out,
    )


def test_report_writes_the_workbook_prints_its_counts_and_audits_the_export(  # type: ignore[no-untyped-def]
    cli: Run, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _absent_three_days(console, demo.teacher)
    school = _school_of(app, demo.teacher)
    for day in (MONDAY, TUESDAY, WEDNESDAY):
        assert cli("close-day", "--date", day.isoformat(), now=at(day, 10, 30)) == 0
    capsys.readouterr()
    assert _report(cli, f"school:{school}", MONDAY, WEDNESDAY, "week.xlsx") == 0
    assert capsys.readouterr() == ("已写入 week.xlsx：4个班，缺勤3条，台账1个。\n", "")
    assert (tmp_path / "week.xlsx").read_bytes().startswith(b"PK")
    # A single day is a valid period (--to equal to --from).
    assert _report(cli, f"school:{school}", MONDAY, MONDAY, "monday.xlsx") == 0
    assert capsys.readouterr() == ("已写入 monday.xlsx：4个班，缺勤1条，台账0个。\n", "")
    assert audit_rows(app, "attendance.") == [
        (
            NOON,
            None,
            "attendance.report.export",
            f"school:{school}",
            {"first": "2026-11-23", "last": "2026-11-25", "via": "cli", "file": "week.xlsx"},
        ),
        (
            NOON,
            None,
            "attendance.report.export",
            f"school:{school}",
            {"first": "2026-11-23", "last": "2026-11-23", "via": "cli", "file": "monday.xlsx"},
        ),
    ]


@pytest.mark.parametrize(
    ("scope", "first", "last", "out", "error"),
    [
        (
            "school:x",
            "2026-11-23",
            "2026-11-25",
            "r.xlsx",
            "范围无效：school:x。请用 class:ID、school:ID 或 region:ID。",
        ),
        ("school:1", "2026-13-01", "2026-11-25", "r.xlsx", "日期格式应为 YYYY-MM-DD。"),
        ("school:1", "2026-11-24", "2026-11-23", "r.xlsx", "--to 早于 --from。"),
        ("school:1", "2026-11-23", "2026-11-25", "r.csv", "输出文件名必须以 .xlsx 结尾。"),
        ("school:999", "2026-11-23", "2026-11-25", "r.xlsx", "找不到 school:999。"),
        ("class:998", "2026-11-23", "2026-11-25", "r.xlsx", "找不到 class:998。"),
        (
            "school:1",
            "2026-11-23",
            "2026-11-25",
            "nowhere/r.xlsx",
            "无法写入 nowhere/r.xlsx：No such file or directory",
        ),
    ],
    ids=["scope", "date", "order", "suffix", "no-school", "no-class", "unwritable"],
)
def test_report_refuses_bad_input_with_one_line(  # type: ignore[no-untyped-def]
    cli: Run,
    app: App,
    demo,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    scope,
    first,
    last,
    out,
    error,
) -> None:
    argv = ["report", "attendance", "--scope", scope, "--from", first, "--to", last, "--out", out]
    assert cli(*argv) == 2
    assert capsys.readouterr() == ("", error + "\n")
    assert audit_rows(app, "attendance.") == []
    assert list(tmp_path.iterdir()) == []


def test_report_names_a_write_error_without_an_errno(  # type: ignore[no-untyped-def]
    cli: Run, app: App, demo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, data: bytes) -> int:
        raise OSError("quota exceeded")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    assert _report(cli, "school:1", MONDAY, WEDNESDAY, "r.xlsx") == 2
    assert capsys.readouterr() == ("", "无法写入 r.xlsx：quota exceeded\n")
    assert audit_rows(app, "attendance.") == []


REPORT_USAGE = "用法：bot.py report [-h] --scope SCOPE --from FIRST --to LAST --out OUT {attendance}\n"


def test_report_requires_the_kind_and_every_option(cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert _refused(cli, capsys, "report", "attendance") == (
        REPORT_USAGE + "bot.py report：错误：缺少必需的参数：--scope, --from, --to, --out\n"
    )
    argv = ["--scope", "school:1", "--from", "2026-11-23", "--to", "2026-11-25", "--out", "r.xlsx"]
    assert _refused(cli, capsys, "report", "absences", *argv) == (
        REPORT_USAGE + "bot.py report：错误：参数 kind：无效的选择：'absences'（可选：'attendance'）\n"
    )


# --- labels ------------------------------------------------------------------------------------


def test_trigger_text_fills_in_days_and_percent_and_marks_what_is_missing() -> None:
    with use_locale("zh_Hans"):
        assert trigger_text(CaseTrigger.CONSECUTIVE, {"days": 3}) == "连续3个上课日缺勤"
        assert trigger_text(CaseTrigger.RATE, {"days": 20, "percent": 25}) == "最近20个上课日缺勤率25%"
        assert trigger_text(CaseTrigger.RATE, {}) == "最近?个上课日缺勤率?%"
        assert trigger_text(CaseTrigger.CONSECUTIVE, {}) == "连续?个上课日缺勤"
    with use_locale("en"):
        assert (
            trigger_text(CaseTrigger.RATE, {"days": 20, "percent": 25})
            == "absent 25% of the last 20 school days"
        )
        assert trigger_text(CaseTrigger.RATE, {"percent": 40}) == "absent 40% of the last ? school days"
