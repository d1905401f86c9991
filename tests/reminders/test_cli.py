"""`bot.py remind`: the listing (local times, recipients, states, count), region and school filters,
the rules listing, queueing through quiet hours, and the lines for rules that cannot run."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.cli import main
from chatbot.reminders import recipients
from db.models import Region, School, Student
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction
from tests.reminders.conftest import local, outbox

VACATION = "2027-01-13 16:00 vacation 2027-01-16/3"
WINTER = "winter from 2027-01-16: safety notice, back on 2027-02-22"


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return app


def counted(out: str, day: str) -> int:
    found = re.search(rf"^{day} 共 (\d+) 条提醒。$", out, re.MULTILINE)
    assert found, out[-500:]
    return int(found.group(1))


def test_remind_lists_one_school_then_queues_every_school_through_quiet_hours(  # type: ignore[no-untyped-def]
    cli: App, bound, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["remind", "--date", "2027-01-13", "--dry-run"]
    assert main([*args, "--region", "linxia-demo", "--school", "红星小学"], clock=cli.clock) == 0
    lines = capsys.readouterr().out.splitlines()
    # Each school's local time (16:00 in Shanghai, not 08:00 UTC), one line per recipient, then the count.
    assert f"{VACATION} school:1  person:{bound.parent} (parent)  {WINTER}  [将排队]" in lines
    assert f"{VACATION} school:1  person:{bound.teacher} (class_teacher)  " in "\n".join(lines)
    recipients = lines[:-1]
    assert recipients and all(line.startswith(f"{VACATION} school:1  person:") for line in recipients)
    assert lines[-1] == f"2027-01-13 共 {len(recipients)} 条提醒。"

    assert main(args, clock=cli.clock) == 0
    everyone = counted(capsys.readouterr().out, "2027-01-13")
    assert everyone > len(recipients)  # both schools

    # Queued by hand half an hour after the due time, with quiet hours from 15:00 to 08:00: nothing is
    # missed, and the rows wait for the end of the quiet hours.
    monkeypatch.setenv("QUIET_HOURS_START", "15:00")
    monkeypatch.setenv("QUIET_HOURS_END", "08:00")
    assert main(["remind", "--date", "2027-01-13"], clock=lambda: local(2027, 1, 13, 16, 30)) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"已排队 {everyone} 条提醒（其余的之前已排队）。"
    parent_rows = outbox(cli, bound.parent)
    assert len(parent_rows) == 2  # one per child's school
    assert {r.not_before for r in parent_rows} == {local(2027, 1, 14, 8, 0)}

    assert main([*args, "--school", "1"], clock=cli.clock) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{VACATION} school:1  已处理"
    assert f"{VACATION} school:1  person:{bound.parent} (parent)  {WINTER}  [已排队]" in lines
    assert not any("将排队" in line for line in lines)


def test_remind_rules_and_filters_by_region(cli: App, capsys: pytest.CaptureFixture[str]) -> None:
    # A second region, sorting before the demo one, with its own Spring Festival time; 东乡 moves there.
    with transaction(cli.session_factory) as s:
        other = Region(
            code="aaa-test",
            name="test county",
            timezone="Asia/Shanghai",
            aid_pack="linxia-2019",
            settings={"reminders": {"spring_festival": {"days_before": [3], "at": "19:00:00"}}},
        )
        s.add(other)
        s.flush()
        s.execute(update(School).where(School.name == "东乡第一初级中学").values(region_id=other.id))
        moved = s.scalars(select(School.id).where(School.name == "东乡第一初级中学")).one()
    spring = (
        '  spring_festival: {"enabled":true,"days_before":[3],"at":"%s","school_days_after":3,'
        '"minutes_before_cutoff":30}'
    )
    assert main(["remind", "--date", "2026-11-23", "--dry-run", "--rules"], clock=cli.clock) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("[")] == ["[aaa-test]", "[linxia-demo]"]
    assert lines[0] == "[aaa-test]" and lines[6] == "[linxia-demo]"
    assert lines[3] == spring % "19:00:00" and lines[9] == spring % "18:30:00"
    assert len(lines) == 13 and lines[-1] == "2026-11-23 共 0 条提醒。"

    args = ["remind", "--date", "2027-02-02", "--dry-run", "--region", "linxia-demo"]
    assert main([*args, "--rules"], clock=cli.clock) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[linxia-demo]" and "[aaa-test]" not in lines
    listed = lines[6:-1]
    assert listed and all(line.startswith("2027-02-02 18:30 spring_festival ") for line in listed)
    assert not any(f"school:{moved}" in line for line in listed)


def test_remind_refuses_an_unknown_region_and_a_bad_date(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remind", "--date", "2027-01-13", "--region", "nowhere"], clock=cli.clock) == 2
    assert capsys.readouterr().err.strip() == "未知地区 'nowhere'。"
    assert main(["remind", "--date", "13.1.2027"], clock=cli.clock) == 2
    assert capsys.readouterr().err.strip() == "--date 必须是日期，例如 2027-02-15，而不是 '13.1.2027'。"
    with pytest.raises(SystemExit) as exited:
        main(["remind", "--dry-run"], clock=cli.clock)
    assert exited.value.code == 2
    assert "缺少必需的参数：--date" in capsys.readouterr().err


def test_remind_help_describes_every_option(cli: App, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["remind", "--help"], clock=cli.clock)
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert "--date DATE [--dry-run]" in lines[0]
    assert "列出（--dry-run）或排队某一天到期的提醒。" in lines
    for line in (
        "  --date DATE      日期，YYYY-MM-DD（各校当地日期）",
        "  --dry-run        只列出，不排队",
        "  --region REGION  只看这个地区代码",
        "  --school SCHOOL  只看这所学校（名称或编号）",
        "  --rules          同时列出生效的提醒规则",
    ):
        assert line in lines


def test_remind_says_when_nobody_is_to_be_reminded(  # type: ignore[no-untyped-def]
    cli: App, bound, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every pupil has attendance since the term started (roll-call data is tested in attendance).
    monkeypatch.setattr(recipients, "never_returned", lambda session, class_id, since, today: [])
    assert main(["remind", "--date", "2027-02-25", "--dry-run"], clock=cli.clock) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2027-02-25 12:00 never_returned 2027-02-22/3 school:1  无需提醒任何人（never_returned：每个学生都有出勤记录）",
        "2027-02-25 12:00 never_returned 2027-02-22/3 school:2  无需提醒任何人（never_returned：每个学生都有出勤记录）",
        "2027-02-25 共 0 条提醒。",
    ]


def test_each_school_is_listed_by_its_own_region_calendar(  # type: ignore[no-untyped-def]
    cli: App, bound, capsys: pytest.CaptureFixture[str]
) -> None:
    # 东乡 moves to a region whose spring term starts on 4 March: its 7-days-before reminder falls on
    # 25 February, the day of 红星's never_returned check (nobody to remind: no roll-calls yet).
    with transaction(cli.session_factory) as s:
        other = Region(code="late-term", name="late term", timezone="Asia/Shanghai", settings={})
        s.add(other)
        s.flush()
        s.add(
            CalendarEntry(
                region_id=other.id,
                kind=CalendarKind.TERM,
                name="spring",
                first_day=date(2027, 3, 4),
                last_day=date(2027, 7, 9),
                created_at=local(2027, 1, 1),
            )
        )
        s.execute(update(School).where(School.name == "东乡第一初级中学").values(region_id=other.id))
    assert main(["remind", "--date", "2027-02-25", "--dry-run"], clock=cli.clock) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "2027-02-25 12:00 never_returned 2027-02-22/3 school:1  无需提醒任何人（never_returned：每个学生都有出勤记录）"
    )
    due = counted("\n".join(lines), "2027-02-25")
    assert due > 0 and all(" term_start 2027-03-04/7 school:2  " in line for line in lines[1:-1])
    assert main(["remind", "--date", "2027-02-25"], clock=cli.clock) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"已排队 {due} 条提醒（其余的之前已排队）。"


def test_remind_dry_run_names_each_recipients_role_and_why(  # type: ignore[no-untyped-def]
    cli: App, bound, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with transaction(cli.session_factory) as s:
        red = s.scalars(select(School).where(School.name == "红星小学")).one()
        first, second = sorted(red.classes, key=lambda c: c.id)[:2]
        # The demo class teacher also takes the second class: one line for both, reasons joined.
        second.class_teacher_id = bound.teacher
        pupil = sorted(first.students, key=lambda p: p.student_no)[1]
        school, one, two, pupil_id = red.id, first.id, second.id, pupil.id

    def lines_of(day: str, person: int) -> list[str]:
        assert main(["remind", "--date", day, "--dry-run", "--school", "红星小学"], clock=cli.clock) == 0
        return [line for line in capsys.readouterr().out.splitlines() if f"person:{person} " in line]

    term = f"2027-02-15 18:30 term_start 2027-02-22/7 school:{school}  person:"
    check = "spring term starts 2027-02-22: check who has not returned"
    assert lines_of("2027-02-15", bound.teacher) == [
        f"{term}{bound.teacher} (class_teacher)  {check} (class {one}); {check} (class {two})  [将排队]"
    ]
    assert lines_of("2027-02-15", bound.parent) == [
        f"{term}{bound.parent} (parent)  spring term starts 2027-02-22 (in 7 days)  [将排队]"
    ]

    # Home-visit lists: one per class, joined.
    vacation = (
        f"2027-01-13 16:00 vacation 2027-01-16/3 school:{school}  person:{bound.teacher} (class_teacher)  "
    )
    (line,) = lines_of("2027-01-13", bound.teacher)
    assert re.fullmatch(
        rf"{re.escape(vacation)}home-visit list before winter: \d+ pupils \(class {one}\); "
        rf"home-visit list before winter: \d+ pupils \(class {two}\)  \[将排队\]",
        line,
    ), line

    # Pupils with no attendance since the term started: the class teacher and the principal.
    def one_pupil(session, class_id, since, today):  # type: ignore[no-untyped-def]
        return [
            p
            for p in session.scalars(select(Student).where(Student.class_id == class_id))
            if p.id == pupil_id
        ]

    monkeypatch.setattr(recipients, "never_returned", one_pupil)
    since = f"2027-02-25 12:00 never_returned 2027-02-22/3 school:{school}  person:"
    assert lines_of("2027-02-25", bound.teacher) == [
        f"{since}{bound.teacher} (class_teacher)  1 pupils with no attendance since 2027-02-22 (class {one})"
        "  [将排队]"
    ]
    assert lines_of("2027-02-25", bound.principal) == [
        f"{since}{bound.principal} (principal)  1 pupils with no attendance since 2027-02-22 (school {school})"
        "  [将排队]"
    ]


def test_remind_lists_the_schools_in_the_order_they_were_added(  # type: ignore[no-untyped-def]
    cli: App, bound, capsys: pytest.CaptureFixture[str]
) -> None:
    with transaction(cli.session_factory) as s:
        ids = list(s.scalars(select(School.id).order_by(School.id)))
        # Rewriting the first school moves its row to the end of PostgreSQL's table: only the ORDER BY
        # keeps the listing in the order the schools were added.
        s.execute(update(School).where(School.id == ids[0]).values(name=School.name))
    assert main(["remind", "--date", "2027-01-13", "--dry-run"], clock=cli.clock) == 0
    listed = re.findall(r" school:(\d+) ", capsys.readouterr().out)
    assert [int(n) for n in dict.fromkeys(listed)] == ids
