"""`bot.py broadcast` and `bot.py notices` run in-process through chatbot.cli.main with the test's clock:
their exact help, output, errors and exit codes, and the notices they write (or do not write)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.broadcast.targets import NoticeTarget
from db.models import OutboxMessage, School
from db.models.broadcast import Audience, Broadcast, BroadcastScope
from db.session import transaction
from tests.broadcast.bc_chat_helpers import BotCli, CliResult, make_notice
from tests.broadcast.helpers import link, parents_of_school
from tests.conftest import DemoPeople

BROADCAST_HELP = """\
usage: bot.py broadcast [-h] --as AS_WHO --to TARGET --text TEXT [--text-zh_Hans TEXT_ZH_HANS]
                        [--text-zh_Hant TEXT_ZH_HANT] [--text-en TEXT_EN] [--base BASE] [--at AT] [--ack] [--dry-run]

Send a notice as a person to a TARGET.

options:
  -h, --help            show this help message and exit
  --as AS_WHO           person id, or a demo role: teacher, principal, admin
  --to TARGET           region:ID, school:ID, school:ID/grade:N or class:ID, then /parents (default), /teachers or
                        /both
  --text TEXT           the notice in the base language
  --text-zh_Hans TEXT_ZH_HANS
                        the version in Simplified Chinese
  --text-zh_Hant TEXT_ZH_HANT
                        the version in Traditional Chinese
  --text-en TEXT_EN     the version in English
  --base BASE           language of --text (default: DEFAULT_LOCALE)
  --at AT               send later: 'YYYY-MM-DD HH:MM' in the school's time zone
  --ack                 ask recipients to press “Got it”
  --dry-run             show the recipient count, send nothing
"""

NOTICES_HELP = """\
usage: bot.py notices [-h] --as AS_WHO [--show ID | --remind ID | --cancel ID] [--json]

List a person's notices; show, remind or cancel one.

options:
  -h, --help   show this help message and exit
  --as AS_WHO  person id, or a demo role
  --show ID    counts and who has not confirmed
  --remind ID  send the one reminder to those who have not confirmed
  --cancel ID  cancel every message not sent yet
  --json       machine-readable counts (with --show)
"""


@pytest.fixture
def bot_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    app: App,
    now: datetime,
) -> BotCli:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps help at the terminal's width
    for name in ("TIMEZONE", "DEFAULT_LOCALE", "LOG_FILE", "TELEGRAM_TOKEN", "WECHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return BotCli(monkeypatch, capsys, app, now)


def notices_in_db(app: App) -> list[tuple[str, dict[str, str], str, bool, datetime, int, int]]:
    with app.session_factory() as s:
        return [
            (
                b.target,
                b.texts,
                b.base_locale,
                b.ack_required,
                b.scheduled_at,
                b.recipient_count,
                b.message_count,
            )
            for b in s.scalars(select(Broadcast).order_by(Broadcast.id))
        ]


def test_the_help_of_both_commands(bot_cli: BotCli) -> None:
    assert bot_cli.help("broadcast") == BROADCAST_HELP
    assert bot_cli.help("notices") == NOTICES_HELP
    top = bot_cli.help()
    assert "    broadcast      Send a notice as a person to a TARGET.\n" in top
    assert "    notices        List a person's notices; show, remind or cancel one.\n" in top
    assert "  --text-zh_Hant TEXT_ZH_HANT\n                        繁体中文版本\n" in bot_cli.help(
        "broadcast", locale="zh_Hans"
    )


def test_the_arguments_are_checked_by_the_parser(bot_cli: BotCli) -> None:
    usage = "usage: bot.py broadcast [-h] --as AS_WHO --to TARGET --text TEXT"
    assert bot_cli.usage_error("broadcast", "--to", "school:1", "--text", "x").startswith(usage)
    assert "the following arguments are required: --as" in bot_cli.usage_error(
        "broadcast", "--to", "school:1", "--text", "x"
    )
    assert "the following arguments are required: --to" in bot_cli.usage_error(
        "broadcast", "--as", "admin", "--text", "x"
    )
    assert "the following arguments are required: --text" in bot_cli.usage_error(
        "broadcast", "--as", "admin", "--to", "school:1"
    )
    assert "the following arguments are required: --as" in bot_cli.usage_error("notices")
    assert "argument --remind: not allowed with argument --show" in bot_cli.usage_error(
        "notices", "--as", "admin", "--show", "1", "--remind", "1"
    )
    assert "argument --cancel: not allowed with argument --show" in bot_cli.usage_error(
        "notices", "--as", "admin", "--show", "1", "--cancel", "1"
    )
    assert "argument --show: invalid int value: 'x'" in bot_cli.usage_error(
        "notices", "--as", "admin", "--show", "x"
    )
    assert "argument --remind: invalid int value: 'x'" in bot_cli.usage_error(
        "notices", "--as", "admin", "--remind", "x"
    )
    assert "argument --cancel: invalid int value: 'x'" in bot_cli.usage_error(
        "notices", "--as", "admin", "--cancel", "x"
    )


def test_a_dry_run_counts_and_writes_nothing(
    app: App, bot_cli: BotCli, demo: DemoPeople, now: datetime
) -> None:
    link(app, parents_of_school(app, 1)[:3], now)
    staff = ("--to", "school:1/teachers", "--text", "Staff meeting")
    # The principal is one of the school's teachers but not their own recipient; the admin is neither.
    assert bot_cli("broadcast", "--as", "principal", *staff, "--dry-run") == CliResult(
        0,
        "Would send to 红星小学 · teachers: 4 people (0 parents, 4 teachers), 0 of them on a chat account.\n",
        "",
    )
    assert bot_cli(
        "broadcast", "--as", "1", "--to", "school:1/both", "--text", "Hi", "--dry-run"
    ) == CliResult(
        0,
        "Would send to 红星小学 · parents and teachers: 147 people (142 parents, 5 teachers), "
        "3 of them on a chat account.\n",
        "",
    )
    # A dry run still checks the draft.
    assert bot_cli(
        "broadcast", "--as", "principal", *staff, "--at", "2020-01-01 08:00", "--dry-run"
    ) == CliResult(2, "", "Jan 1, 08:00 is in the past. Please choose a later time, or send now.\n")
    assert bot_cli("broadcast", "--as", "teacher", *staff, "--dry-run") == CliResult(
        2, "", "You may not send notices to 红星小学 · teachers.\n"
    )
    assert bot_cli(
        "broadcast", "--as", "principal", "--to", "school:1", "--text", "x" * 1001, "--dry-run"
    ) == (CliResult(2, "", "The English text has 1,001 characters; the limit is 1,000. Please shorten it.\n"))
    assert notices_in_db(app) == []


def test_broadcast_refuses_bad_input(app: App, bot_cli: BotCli, demo: DemoPeople, now: datetime) -> None:
    def refused(*argv: str) -> str:
        result = bot_cli("broadcast", *argv)
        assert (result.code, result.out) == (2, "")
        return result.err

    assert (
        refused("--as", "admin", "--to", "school:1", "--text", "x", "--base", "fr")
        == "Unknown language fr.\n"
    )
    assert refused("--as", "nobody", "--to", "school:1", "--text", "x") == "Unknown person nobody.\n"
    assert refused("--as", "999", "--to", "school:1", "--text", "x") == "Unknown person 999.\n"
    assert refused("--as", "admin", "--to", "town:1", "--text", "x") == (
        "Unknown target town:1. Use for example school:3/parents, school:3/grade:7/both, class:5/parents or "
        "region:1/teachers.\n"
    )
    # An unknown school with a time: the time is read in the default zone, then the school is refused.
    assert refused("--as", "admin", "--to", "school:99", "--text", "x", "--at", "2026-11-24 08:00") == (
        "There is no such school, grade, class or region: school:99/parents.\n"
    )
    assert refused("--as", "admin", "--to", "school:1", "--text", "x", "--at", "soon") == (
        "I could not read that time. Write it like 2026-11-25 08:00, 11-25 08:00 or 08:00.\n"
    )
    assert refused("--as", "admin", "--to", "school:1", "--text", " ") == (
        "The notice text is empty. Please write what you want to say.\n"
    )
    assert notices_in_db(app) == []


def test_broadcast_queues_the_notice_in_each_language(
    app: App, bot_cli: BotCli, demo: DemoPeople, now: datetime
) -> None:
    parents = parents_of_school(app, 1)
    link(app, parents[:3], now)
    assert bot_cli(
        "broadcast",
        "--as",
        "3",
        "--to",
        "school:1",
        "--text",
        "No water tomorrow",
        "--text-en",
        "ignored: the base text is --text",
        "--text-zh_Hans",
        "明天停水",
        "--ack",
    ) == CliResult(
        0,
        "Notice #1: 3 chat messages queued for 3 of 142 people, from Nov 23, 08:00.\n"
        "139 people have no chat account linked and will not receive it.\n",
        "",
    )
    # Chinese as the base language of an English command line; scheduled in the school's own time zone.
    with transaction(app.session_factory) as s:
        school = s.get(School, 1)
        assert school is not None
        school.timezone = "Asia/Tokyo"
    assert bot_cli(
        "broadcast",
        "--as",
        "principal",
        "--to",
        "school:1/teachers",
        "--text",
        "明天开会",
        "--base",
        "zh_Hans",
        "--text-zh_Hant",
        "明天開會",
        "--at",
        "2026-11-24 10:00",
    ) == CliResult(
        0,
        "Notice #2: 0 chat messages queued for 0 of 4 people, from Nov 24, 10:00.\n"
        "4 people have no chat account linked and will not receive it.\n",
        "",
    )
    assert notices_in_db(app) == [
        ("school:1/parents", {"en": "No water tomorrow", "zh_Hans": "明天停水"}, "en", True, now, 142, 3),
        (
            "school:1/teachers",
            {"zh_Hans": "明天开会", "zh_Hant": "明天開會"},
            "zh_Hans",
            False,
            datetime(2026, 11, 24, 1, 0, tzinfo=now.tzinfo),
            4,
            0,
        ),
    ]
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_broadcast_in_quiet_hours_says_when_delivery_starts(
    app: App, bot_cli: BotCli, demo: DemoPeople, now: datetime
) -> None:
    late = ("broadcast", "--as", "principal", "--to", "school:1/teachers", "--text", "x", "--at", "22:30")
    assert bot_cli(*late) == CliResult(
        0,
        "Notice #1: 0 chat messages queued for 0 of 4 people, from Nov 24, 07:00.\n"
        "4 people have no chat account linked and will not receive it.\n",
        "",
    )
    assert bot_cli(*late, QUIET_HOURS_END="06:30") == CliResult(
        0,
        "Notice #2: 0 chat messages queued for 0 of 4 people, from Nov 24, 06:30.\n"
        "4 people have no chat account linked and will not receive it.\n",
        "",
    )
    assert bot_cli(*late, QUIET_HOURS_START="23:00") == CliResult(
        0,
        "Notice #3: 0 chat messages queued for 0 of 4 people, from Nov 23, 22:30.\n"
        "4 people have no chat account linked and will not receive it.\n",
        "",
    )


def test_notices_lists_shows_reminds_and_cancels(
    app: App, bot_cli: BotCli, demo: DemoPeople, now: datetime
) -> None:
    assert bot_cli("notices", "--as", "principal") == CliResult(
        0, "You have not sent any notices yet. Send /notice to write one.\n", ""
    )
    assert bot_cli("notices", "--as", "nobody") == CliResult(2, "", "Unknown person nobody.\n")
    link(app, parents_of_school(app, 1)[:2], now)
    notice = make_notice(
        app,
        demo.principal,
        NoticeTarget(BroadcastScope.SCHOOL, 1),
        {"en": "Water off"},
        now,
        base="en",
        ack=True,
    )
    assert bot_cli("notices", "--as", "3") == CliResult(
        0, f"#{notice} 红星小学 · parents: sending — “Water off”\n", ""
    )
    shown = bot_cli("notices", "--as", "principal", "--show", str(notice))
    assert (shown.code, shown.err) == (0, "")
    assert shown.out.splitlines()[:5] == [
        f"Notice #{notice} to 红星小学 · parents",
        "Status: sending",
        "Recipients: 142; delivered 0, waiting 2, failed 0.",
        "140 recipients have not linked a chat account yet and cannot receive it.",
        "Confirmed: 0 of 142.",
    ]
    as_json = bot_cli("notices", "--as", "principal", "--show", str(notice), "--json")
    assert (as_json.code, as_json.err) == (0, "")
    assert json.loads(as_json.out) == {
        "id": notice,
        "target": "school:1/parents",
        "recipients": 142,
        "messages": 2,
        "delivered": 0,
        "pending": 2,
        "failed": 0,
        "unreachable": 140,
        "acknowledged": 0,
        "cancelled": False,
        "stopped": 0,
    }
    assert bot_cli("notices", "--as", "principal", "--remind", str(notice)) == CliResult(
        0,
        f"Reminder for notice #{notice} queued: 2 chat messages to 2 people who have not confirmed.\n"
        "140 people who have not confirmed have no chat account linked and could not be reminded.\n",
        "",
    )
    assert bot_cli("notices", "--as", "principal", "--remind", str(notice)) == CliResult(
        2, "", f"A reminder for notice #{notice} was already sent on Nov 23, 08:00; only one is allowed.\n"
    )
    assert bot_cli("notices", "--as", "principal", "--cancel", str(notice)) == CliResult(
        0, f"Notice #{notice} cancelled: 4 messages will not be sent.\n", ""
    )
    assert bot_cli("notices", "--as", "admin", "--cancel", str(notice)) == CliResult(
        2, "", f"Notice #{notice} was already cancelled.\n"
    )
    assert bot_cli("notices", "--as", "teacher", "--show", str(notice)) == CliResult(
        2, "", f"There is no notice #{notice}.\n"
    )
    # The list shows the latest twenty.
    staff = NoticeTarget(BroadcastScope.SCHOOL, 1, Audience.TEACHERS)
    for number in range(21):
        make_notice(app, demo.principal, staff, {"en": f"Note {number}"}, now, base="en")
    listed = bot_cli("notices", "--as", "principal")
    assert (listed.code, listed.err) == (0, "")
    assert listed.out.splitlines() == [
        f"#{notice + 21 - n} 红星小学 · teachers: nobody could be reached on a chat account — “Note {20 - n}”"
        for n in range(20)
    ]
