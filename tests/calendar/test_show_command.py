"""`bot.py calendar show` and `calendar import`, line by line: every line of the output is pinned.

The demo county's calendar is school year 2026 (seeded at the conftest's `now`): autumn term
2026-09-01 – 2027-01-15, winter vacation 2027-01-16 – 02-21, spring term 2027-02-22 – 07-09, summer
vacation 2027-07-10 – 08-31. 2026 is confirmed by chinesecalendar; 2027 and 2028 come from
python-holidays and are provisional (their 调休 are not known). In 2027 python-holidays gives New Year's
Day on Friday 1 January and Labour Day from Saturday 1 to Tuesday 4 May (the observed Monday and Tuesday).
School-day counts are worked out by hand in the comments.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.cli import _parse_day, provisional_note
from chatbot.calendar.official import LIBRARIES, ImportedYear, OfficialCalendar
from chatbot.cli import main
from chatbot.i18n import use_locale
from db.models import Region, School, Stage
from db.models.calendar import CalendarEntry, CalendarKind, OfficialDayEntry
from db.session import transaction

# Monday 5 July 2027, 10:00 in Shanghai (the clock only matters where no --from is given).
JUL_5_2027 = datetime(2027, 7, 5, 2, 0, tzinfo=UTC)

HONGXING = "== linxia-demo / 红星小学 (school 1)"
DONGXIANG = "== linxia-demo / 东乡第一初级中学 (school 2)"


def note(years: str) -> str:
    return (
        f"尚未确认：{years}年的调休（补班）安排。这些年份的法定节假日由节假日库推算；国务院通常在11月公布"
        "下一年的放假安排，届时请导入：python bot.py calendar import 文件（见 docs/calendar.md）。"
    )


NOTE_2027 = note("2027")


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    def run(*argv: str, now: datetime = JUL_5_2027) -> int:
        with use_locale("zh_Hans"):  # main sets the locale itself; this only keeps tests apart
            return main(list(argv), clock=lambda: now)

    return run


def lines(text: str) -> list[str]:
    return text.splitlines()


def add_school(app: App, region_code: str, school_name: str, timezone: str = "Asia/Shanghai") -> int:
    """A school in `region_code` (the region is created when missing, without any calendar entry)."""
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region).where(Region.code == region_code)).first()
        if region is None:
            region = Region(code=region_code, name="空白县", timezone=timezone, aid_pack=None, settings={})
            s.add(region)
            s.flush()
        school = School(region_id=region.id, name=school_name, stage=Stage.PRIMARY)
        s.add(school)
        s.flush()
        return school.id


# --- calendar show ---------------------------------------------------------------------------------

# 25 April – 15 May 2027 (Sunday to Saturday) in the spring term: 15 weekdays (26–30 April, 3–7 and
# 10–14 May) less the observed Labour Day Monday 3 and Tuesday 4 May = 13 school days.
HONGXING_MAY = [
    HONGXING,
    "   2月22日 周一 – 7月9日 周五：春季学期",
    "   5月1日 周六 – 5月4日 周二：劳动节（放假）",
    "   2027-04-25 至 2027-05-15 上课日：13 天",
]


def test_show_one_school_by_name(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-04-25", "--days", "20") == 0
    out = capsys.readouterr()
    assert lines(out.out) == [*HONGXING_MAY, NOTE_2027]
    assert out.err == ""


def test_show_one_school_by_id(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "2", "--from", "2027-04-25", "--days", "20") == 0
    assert lines(capsys.readouterr().out) == [DONGXIANG, *HONGXING_MAY[1:], NOTE_2027]


def test_a_number_matches_the_school_with_that_id_and_the_school_with_that_name(
    app: App, cli, capsys
) -> None:  # type: ignore[no-untyped-def]
    named_1 = add_school(app, "gansu-empty", "1")
    assert named_1 != 1
    assert cli("calendar", "show", "--school", "1", "--from", "2027-04-25", "--days", "20") == 0
    assert lines(capsys.readouterr().out) == [
        f"== gansu-empty / 1 (school {named_1})",  # region codes sort gansu-empty before linxia-demo
        "   没有校历：按国家法定工作日计算。",
        "   5月1日 周六 – 5月4日 周二：劳动节（放假）",
        "   2027-04-25 至 2027-05-15 上课日：13 天",  # the official working days, as in the term
        *HONGXING_MAY,
        NOTE_2027,
    ]


# 5–15 July 2027 (Monday to Thursday): no public holiday. Without a calendar every weekday counts
# (5–9 and 12–15 July: 9); the demo schools' spring term ends on Friday 9 July (5–9 July: 5).
DEMO_JULY = [
    "   2月22日 周一 – 7月9日 周五：春季学期",
    "   7月10日 周六 – 8月31日 周二：暑假",
    "   2027-07-05 至 2027-07-15 上课日：5 天",
]


def test_show_every_school_in_region_code_order_with_the_note_once_at_the_end(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    school = add_school(app, "gansu-empty", "山村小学")
    assert cli("calendar", "show", "--from", "2027-07-05", "--days", "10") == 0
    assert lines(capsys.readouterr().out) == [
        f"== gansu-empty / 山村小学 (school {school})",
        "   没有校历：按国家法定工作日计算。",
        "   2027-07-05 至 2027-07-15 上课日：9 天",
        HONGXING,
        *DEMO_JULY,
        DONGXIANG,
        *DEMO_JULY,
        NOTE_2027,
    ]


def test_show_filters_by_region(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    school = add_school(app, "gansu-empty", "山村小学")
    assert cli("calendar", "show", "--region", "gansu-empty", "--from", "2027-07-05", "--days", "10") == 0
    assert lines(capsys.readouterr().out) == [
        f"== gansu-empty / 山村小学 (school {school})",
        "   没有校历：按国家法定工作日计算。",
        "   2027-07-05 至 2027-07-15 上课日：9 天",
        NOTE_2027,
    ]
    assert cli("calendar", "show", "--region", "linxia-demo", "--from", "2027-07-05", "--days", "10") == 0
    assert lines(capsys.readouterr().out) == [HONGXING, *DEMO_JULY, DONGXIANG, *DEMO_JULY, NOTE_2027]


def test_show_refuses_an_unknown_region_and_a_school_that_matches_nothing(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--region", "nope") == 2
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "未知地区 'nope'。\n")
    assert cli("calendar", "show", "--school", "无此学校") == 2
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "没有匹配的学校。\n")
    assert cli("calendar", "show", "--school", "99") == 2  # a number that is neither an id nor a name
    assert capsys.readouterr().err == "没有匹配的学校。\n"


@pytest.mark.parametrize("days", ["0", "801", "-5"])
def test_show_refuses_days_outside_1_to_800(cli, capsys, days: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--days", days) == 2
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "--days 必须在 1 到 800 之间。\n")


def test_show_accepts_1_and_800_days(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-07-09", "--days", "1") == 0
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2月22日 周一 – 7月9日 周五：春季学期",
        "   7月10日 周六 – 8月31日 周二：暑假",
        "   2027-07-09 至 2027-07-10 上课日：1 天",  # Friday 9 July, the last day of term
        NOTE_2027,
    ]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-07-09", "--days", "800") == 0
    out = lines(capsys.readouterr().out)
    # 800 days on: 366 to 9 July 2028 (29 February), 365 more to 9 July 2029, then 69 (22 to 31 July,
    # 31 of August, 16 of September) to 16 September 2029. After Friday 9 July 2027, the last day of
    # the spring term, the demo calendar has no term left: 1 school day.
    assert out[0] == HONGXING and "   2027-07-09 至 2029-09-16 上课日：1 天" in out
    assert out[-1] == note("2027、2028和2029")


def test_show_refuses_a_bad_from_date(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        cli("calendar", "show", "--from", "2027-02-30")
    assert exit_info.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    # argparse's own words are translated too (chatbot/cli_i18n.py), not only our message.
    assert lines(out.err)[-1] == "bot.py calendar show：错误：参数 --from：不是日期（YYYY-MM-DD）：2027-02-30"


def test_parse_day() -> None:
    assert _parse_day("2027-01-05") == date(2027, 1, 5)
    with use_locale("en"), pytest.raises(argparse.ArgumentTypeError) as error:
        _parse_day("5/1/2027")
    assert str(error.value) == "not a date (YYYY-MM-DD): 5/1/2027"
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_show_starts_on_the_clocks_local_date(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    # 16:30 UTC on 31 December 2026 is 00:30 on 1 January 2027 in Shanghai.
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert cli("calendar", "show", "--school", "红星小学", "--days", "10", now=new_year) == 0
    # 1–11 January 2027: New Year's Day (Friday 1) is off; 4–8 and 11 January are school days: 6.
    # The autumn term reaches back into 2026, so the dates carry their years.
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2026年9月1日 周二 – 2027年1月15日 周五：秋季学期",
        "   2027年1月1日 周五：元旦（放假）",
        "   2027-01-01 至 2027-01-11 上课日：6 天",
        NOTE_2027,
    ]


def test_show_notes_the_provisional_year_the_listing_reaches_into(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2026-12-20", "--days", "20") == 0
    # 20 December 2026 (Sunday) – 9 January 2027 (Saturday): 21–25 and 28–31 December, 4–8 January = 14.
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2026年9月1日 周二 – 2027年1月15日 周五：秋季学期",
        "   2027年1月1日 周五：元旦（放假）",
        "   2026-12-20 至 2027-01-09 上课日：14 天",
        NOTE_2027,  # 2026 is confirmed; 2027, where the listing ends, is not
    ]


def test_show_without_a_provisional_year_prints_no_note(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2026-12-01", "--days", "20") == 0
    # 1–21 December 2026 (Tuesday to Monday): 1–4, 7–11, 14–18 and 21 December = 15.
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2026年9月1日 周二 – 2027年1月15日 周五：秋季学期",  # the term ends in 2027: years shown
        "   2026-12-01 至 2026-12-21 上课日：15 天",
    ]


def test_dates_carry_years_when_the_listing_ends_in_the_next_year(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    # The only event, a day off on Tuesday 28 December 2027, lies in 2027; but the listing runs to
    # 6 January 2028, and 2028 is imported without a holiday early in January (so no 2028 event).
    with transaction(app.session_factory) as s:
        region_id = s.scalars(select(Region.id).where(Region.code == "linxia-demo")).one()
        s.add(
            CalendarEntry(
                region_id=region_id,
                school_id=None,
                kind=CalendarKind.DAY_OFF,
                name="",
                first_day=date(2027, 12, 28),
                last_day=date(2027, 12, 28),
                note="sports day",
                created_at=JUL_5_2027,
            )
        )
        for day in (date(2028, 1, 26), date(2028, 1, 27)):
            s.add(
                OfficialDayEntry(
                    day=day, year=2028, workday=False, holiday="Spring Festival", created_at=JUL_5_2027
                )
            )
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-12-27", "--days", "10") == 0
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2027年12月28日 周二：不上课 (sports day)",
        "   2027-12-27 至 2028-01-06 上课日：0 天",  # no term of the demo calendar covers these days
        NOTE_2027,  # 2028 is imported, so confirmed
    ]


def test_the_note_covers_the_earliest_start_of_all_schools(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        school = s.get(School, 2)
        assert school is not None
        school.timezone = "America/Los_Angeles"
    # 16:30 UTC on 31 December 2027: already 1 January 2028 in Shanghai, still 31 December in LA.
    assert cli("calendar", "show", "--days", "5", now=datetime(2027, 12, 31, 16, 30, tzinfo=UTC)) == 0
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        # Within 2028 from 1 January: no years. Monday 3 January is python-holidays' observed day for
        # the Saturday; Sunday 2 January is an ordinary weekend day, so the two are separate events.
        "   1月1日 周六：元旦（放假）",
        "   1月3日 周一：元旦（放假）",
        "   2028-01-01 至 2028-01-06 上课日：0 天",
        DONGXIANG,  # from 31 December 2027 the same days reach into another year: with years
        "   2028年1月1日 周六：元旦（放假）",
        "   2028年1月3日 周一：元旦（放假）",
        "   2027-12-31 至 2028-01-05 上课日：0 天",
        note("2027和2028"),  # 2027 only through the LA school's first day
    ]


def test_the_note_covers_the_latest_end_of_all_schools(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        school = s.get(School, 2)
        assert school is not None
        school.timezone = "America/Los_Angeles"
    # 17:00 UTC on 21 December 2027: 22 December in Shanghai (ten days on: 1 January 2028), 21 December
    # in LA (ten days on: 31 December 2027).
    assert cli("calendar", "show", "--days", "10", now=datetime(2027, 12, 21, 17, 0, tzinfo=UTC)) == 0
    assert lines(capsys.readouterr().out) == [
        HONGXING,
        "   2028年1月1日 周六：元旦（放假）",
        "   2027-12-22 至 2028-01-01 上课日：0 天",
        DONGXIANG,
        "   2027-12-21 至 2027-12-31 上课日：0 天",
        note("2027和2028"),  # 2028 only through the Shanghai school's last day
    ]


def test_provisional_note() -> None:
    assert provisional_note(LIBRARIES, date(2026, 1, 1), date(2026, 12, 31)) is None  # chinesecalendar
    with use_locale("en"):
        text = provisional_note(LIBRARIES, date(2026, 12, 1), date(2028, 1, 1))
        assert text == (
            "Not yet confirmed: the make-up working days (调休) of 2027 and 2028. Their public holidays are "
            "computed by the holiday library; the State Council publishes each year's arrangement in "
            "November. Then import it: python bot.py calendar import FILE (see docs/calendar.md)."
        )
        # The end year counts; an imported year is confirmed.
        imported = OfficialCalendar({2028: ImportedYear(2028)})
        assert provisional_note(imported, date(2027, 12, 1), date(2029, 1, 1)) == text.replace(
            "2027 and 2028", "2027 and 2029"
        )
        assert provisional_note(imported, date(2028, 3, 1), date(2028, 4, 1)) is None


# --- calendar import: the summary lines ------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_entries_only(app: App, cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_school(app, "gansu-empty", "山村小学")
    path = write(
        tmp_path,
        "cal.csv",
        "region,school,kind,name,start,end,note\n"
        "linxia-demo,,day_off,,2027-10-12,,sports day\n"
        "gansu-empty,,term,autumn,2027-09-01,2028-01-14,\n",
    )
    assert cli("calendar", "import", str(path)) == 0
    out = capsys.readouterr()
    assert (lines(out.out), out.err) == (["已为 gansu-empty, linxia-demo 导入 2 条校历（替换 0 条）。"], "")


def test_import_entries_counts_the_replaced_ones(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Spans 2026-09-01 – 2027-02-21 of linxia-demo: the demo autumn term and winter vacation start inside.
    path = write(
        tmp_path,
        "cal.yaml",
        "region: linxia-demo\n"
        "entries:\n"
        "  - {kind: term, name: autumn, start: 2026-09-01, end: 2027-01-15}\n"
        "  - {kind: day_off, start: 2026-10-12}\n"
        "  - {kind: vacation, name: winter, start: 2027-01-16, end: 2027-02-21}\n",
    )
    assert cli("calendar", "import", str(path)) == 0
    assert lines(capsys.readouterr().out) == ["已为 linxia-demo 导入 3 条校历（替换 2 条）。"]


OFFICIAL_2027 = (
    "{year: 2027, days_off: [{holiday: 春节, start: 2027-02-05, end: 2027-02-11}], workdays: [2027-02-20]}"
)
OFFICIAL_2028 = "{year: 2028, days_off: [{holiday: 元旦, start: 2028-01-01, end: 2028-01-03}]}"


def test_import_official_only(app: App, cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "official.yaml", f"official:\n  - {OFFICIAL_2028}\n  - {OFFICIAL_2027}\n")
    assert cli("calendar", "import", str(path)) == 0
    out = capsys.readouterr()
    assert (lines(out.out), out.err) == (
        ["已导入2027和2028年的官方放假安排，这些年份不再使用节假日库的推算。"],
        "",
    )
    with app.session_factory() as s:
        assert len(s.scalars(select(OfficialDayEntry)).all()) == 7 + 1 + 3


def test_import_entries_rules_and_official_together(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path,
        "all.yaml",
        "region: linxia-demo\n"
        "entries:\n"
        "  - {kind: day_off, start: 2027-10-12}\n"
        "reminders:\n"
        "  term_start: {days_before: [10, 2]}\n"
        "  spring_festival: {enabled: false}\n"
        f"official: {OFFICIAL_2027}\n",
    )
    assert cli("calendar", "import", str(path)) == 0
    assert lines(capsys.readouterr().out) == [
        "已为 linxia-demo 导入 1 条校历（替换 0 条）。",
        "已导入2027年的官方放假安排，这些年份不再使用节假日库的推算。",
        "已设置提醒规则：2 条。",
    ]


def test_import_problems_go_to_stderr_before_the_verdict(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path,
        "bad.yaml",
        "official: {year: 1999, days_off: [{holiday: 春节, start: 1999-02-16}]}\n",
    )
    assert cli("calendar", "import", str(path)) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert lines(out.err) == [
        "放假安排第1项：year：年份须在2000至2100之间",
        "没有导入任何内容：请修正上面的问题后重试。",
    ]
