"""`bot.py calendar ...` as argparse defines it: the help of `bot.py`, of `calendar` and of each action,
word for word (in Chinese, the default); `calendar` without an ACTION is refused with exit code 2; and
`calendar show` looks 365 days ahead when no --days is given.

The help is laid out at a fixed width of 80 columns (COLUMNS), so that a wide terminal does not rewrap it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chatbot.app import App
from tests.calendar.test_show_command import HONGXING, cli, lines, note  # noqa: F401


def help_of(
    run: Callable[..., int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> list[str]:
    """The lines `bot.py ARGV --help` prints; argparse exits with code 0 after printing them."""
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exited:
        run(*argv, "--help")
    assert exited.value.code == 0
    out = capsys.readouterr()
    assert out.err == ""
    return lines(out.out)


def test_bot_help_lists_calendar_with_its_help(cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    listed = [line for line in help_of(cli, monkeypatch, capsys) if line.split()[:1] == ["calendar"]]
    assert listed == ["    calendar       校历：导入和查看。"]


def test_calendar_help_lists_both_actions_under_the_action_metavar(cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    assert help_of(cli, monkeypatch, capsys, "calendar") == [
        "用法：bot.py calendar [-h] ACTION ...",
        "",
        "位置参数:",
        "  ACTION",
        "    import    导入校历文件（.yaml 或 .csv）。",
        "    show      查看学期、假期、节假日和上课日。",
        "",
        "选项:",
        "  -h, --help  显示本帮助信息并退出",
    ]


def test_calendar_import_help(cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    assert help_of(cli, monkeypatch, capsys, "calendar", "import") == [
        "用法：bot.py calendar import [-h] file",
        "",
        "导入校历文件（.yaml 或 .csv）。",
        "",
        "位置参数:",
        "  file",
        "",
        "选项:",
        "  -h, --help  显示本帮助信息并退出",
    ]


def test_calendar_show_help_describes_every_option(cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    assert help_of(cli, monkeypatch, capsys, "calendar", "show") == [
        "用法：bot.py calendar show [-h] [--region REGION] [--school SCHOOL]",
        "                        [--from START] [--days DAYS]",
        "",
        "查看学期、假期、节假日和上课日。",
        "",
        "选项:",
        "  -h, --help       显示本帮助信息并退出",
        "  --region REGION  地区代码（默认：所有地区）",
        "  --school SCHOOL  学校名称或编号",
        "  --from START     起始日期，YYYY-MM-DD（默认：今天）",
        "  --days DAYS      向后查看的天数（默认 365）",
    ]


def test_calendar_without_an_action_is_refused_with_exit_code_2(cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exited:
        cli("calendar")
    assert exited.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert lines(out.err) == [
        "用法：bot.py calendar [-h] ACTION ...",
        "bot.py calendar：错误：缺少必需的参数：ACTION",
    ]


def test_show_without_days_looks_365_days_ahead(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # 5 July 2027 + 365 days = 4 July 2028 (29 February 2028 lies between).
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-07-05") == 0
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2027年2月22日 周一 – 7月9日 周五：春季学期",
        "   2027年7月10日 周六 – 8月31日 周二：暑假",
        "   2027年9月15日 周三：中秋节（放假）",
        "   2027年10月1日 周五 – 10月5日 周二：国庆节（放假）",
        "   2028年1月1日 周六：元旦（放假）",
        "   2028年1月3日 周一：元旦（放假）",
        "   2028年1月25日 周二 – 1月28日 周五：春节（放假）",
        "   2028年4月4日 周二：清明节（放假）",
        "   2028年5月1日 周一 – 5月2日 周二：劳动节（放假）",
        "   2028年5月28日 周日 – 5月29日 周一：端午节（放假）",
        "   2027-07-05 至 2028-07-04 上课日：5 天",  # 5–9 July 2027, the last week of the spring term
        note("2027和2028"),
    ]
