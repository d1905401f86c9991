"""The small parts under the official calendar and the import: holiday names, the `official:` section's
problems line by line, how its years are written, and how an entry names its school."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.importer import CalendarImportError, import_calendar
from chatbot.calendar.official import _key_of
from chatbot.calendar.official_import import OfficialYear, parse_official, validation_problems, write_official
from chatbot.i18n import use_locale
from db.models import Region, School, Stage
from db.models.calendar import CalendarEntry, OfficialDayEntry
from db.session import transaction

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)

# --- _key_of: python-holidays' raw names → holiday keys ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Labor Day (observed)", "Labour Day"),  # the observed suffix goes, then the alias applies
        ("Labor Day(observed)", "Labour Day"),  # with or without the space
        ("Chinese New Year (Spring Festival) (observed)", "Spring Festival"),
        ("Chinese New Year's Eve", "Spring Festival"),
        ("Tomb-Sweeping Day", "Tomb-sweeping Day"),
        ("Mid-Autumn Festival", "Mid-autumn Festival"),
        ("  Dragon Boat Festival  ", "Dragon Boat Festival"),  # surrounding spaces are ignored
        # Two festivals on one day: Spring Festival, then National Day, win wherever they stand.
        ("Mid-Autumn Festival; National Day", "National Day"),
        ("National Day; Mid-Autumn Festival", "National Day"),
        ("National Day; Spring Festival", "Spring Festival"),
        ("Mid-Autumn Festival; National Day (observed)", "National Day"),
        # Otherwise the first known part names the day; unknown parts are skipped.
        ("Labour Day; Dragon Boat Festival", "Labour Day"),
        ("Dragon Boat Festival; Something", "Dragon Boat Festival"),
        ("Something; Dragon Boat Festival", "Dragon Boat Festival"),
        # Nothing known: the raw name as it came, spaces and all.
        ("Arbor Day", "Arbor Day"),
        ("  Arbor Day ", "  Arbor Day "),
        ("Arbor Day; Something", "Arbor Day; Something"),
        ("Something (observed)", "Something (observed)"),
    ],
)
def test_key_of(raw: str, key: str) -> None:
    assert _key_of(raw) == key


# --- parse_official and validation_problems: exact lines --------------------------------------------

SPRING_2027: dict[str, Any] = {"holiday": "春节", "start": date(2027, 2, 5), "end": date(2027, 2, 11)}


def year_2027(**changes: Any) -> dict[str, Any]:
    return {"year": 2027, "days_off": [dict(SPRING_2027)], "workdays": [date(2027, 2, 20)]} | changes


def parse_en(raw: Any) -> tuple[list[OfficialYear], list[str]]:
    with use_locale("en"):
        return parse_official(raw)


def test_one_mapping_is_one_year() -> None:
    years, problems = parse_en(year_2027())
    assert problems == []
    assert [(y.year, len(y.days_off), y.workdays) for y in years] == [(2027, 1, [date(2027, 2, 20)])]
    assert years[0].days_off[0].holiday == "Spring Festival"


def test_a_list_of_two_valid_years() -> None:
    second = {"year": 2028, "days_off": [{"holiday": "元旦", "start": date(2028, 1, 1)}]}
    years, problems = parse_en([year_2027(), second])
    assert problems == []
    assert [y.year for y in years] == [2027, 2028]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([5], ["official 1: expected a mapping"]),
        ("2027", ["official 1: expected a mapping"]),
        ([year_2027(), ["not", "a", "mapping"]], ["official 2: expected a mapping"]),
        (
            {"year": 1999, "days_off": [{"holiday": "春节", "start": date(1999, 2, 16)}]},
            ["official 1: year: a year from 2000 to 2100"],
        ),
        (year_2027(year=2101), ["official 1: year: a year from 2000 to 2100"]),
        (year_2027(days_off=[]), ["official 1: row: list the year's holiday blocks under days_off"]),
        # 11 days, 1 to 11 October: one more than a block may hold.
        (
            year_2027(
                days_off=[{"holiday": "国庆节", "start": date(2027, 10, 1), "end": date(2027, 10, 11)}]
            ),
            ["official 1: days_off.0: a holiday block is at most 10 days"],
        ),
        (
            year_2027(
                days_off=[
                    SPRING_2027,
                    {"holiday": "国庆节", "start": date(2027, 10, 7), "end": date(2027, 10, 1)},
                ]
            ),
            ["official 1: days_off.1: end is before start"],
        ),
        (year_2027(note="from the notice"), ["official 1: note: Extra inputs are not permitted"]),
        (
            year_2027(workdays=[date(2027, 2, 18)]),
            ["official 1: row: 2027-02-18 is a weekday: a make-up working day is a Saturday or Sunday"],
        ),
        ([year_2027(), year_2027(workdays=[])], ["official: 2027 is given twice"]),
    ],
)
def test_parse_official_problems(raw: Any, expected: list[str]) -> None:
    assert parse_en(raw)[1] == expected


def test_a_block_of_ten_days_is_allowed() -> None:
    block = {"holiday": "国庆节", "start": date(2027, 10, 1), "end": date(2027, 10, 10)}
    years, problems = parse_en(year_2027(days_off=[block]))
    assert problems == []
    days = years[0].days_off[0].days()
    assert (len(days), days[0], days[-1]) == (10, date(2027, 10, 1), date(2027, 10, 10))


def test_every_bad_item_is_named_and_twice_given_years_come_sorted() -> None:
    y2028 = {"year": 2028, "days_off": [{"holiday": "元旦", "start": date(2028, 1, 1)}]}
    raw = [y2028, year_2027(), "x", y2028, year_2027(), {"year": 2029, "days_off": []}]
    years, problems = parse_en(raw)
    assert [y.year for y in years] == [2028, 2027, 2028, 2027]
    assert problems == [
        "official 3: expected a mapping",
        "official 6: row: list the year's holiday blocks under days_off",
        "official: 2027 is given twice",
        "official: 2028 is given twice",
    ]


def test_problems_in_chinese() -> None:
    with use_locale("zh_Hans"):
        _, problems = parse_official(["x", year_2027(days_off=[]), year_2027(), year_2027()])
    assert problems == [
        "放假安排第1项：应为键值映射",
        "放假安排第2项：行：请在 days_off 下列出这一年的各段假期",
        "放假安排：2027年出现了两次",
    ]


def test_validation_problems_joins_the_location_and_drops_the_value_error_prefix() -> None:
    with use_locale("en"):  # the messages are rendered when validating, the lines when listing
        with pytest.raises(ValidationError) as error:
            OfficialYear.model_validate(
                {"year": "soon", "days_off": [{"holiday": "圣诞节", "start": date(2027, 12, 25)}], "extra": 1}
            )
        lines = validation_problems("file.yaml", error.value)
    assert lines == [
        "file.yaml: year: Input should be a valid integer, unable to parse string as an integer",
        "file.yaml: days_off.0.holiday: unknown holiday '圣诞节': use 元旦, 春节, 清明节, 劳动节, 端午节, "
        "中秋节 or 国庆节",
        "file.yaml: extra: Extra inputs are not permitted",
    ]


# --- write_official ----------------------------------------------------------------------------------


def official_rows(app: App) -> list[tuple[date, int, bool, str | None, datetime]]:
    with app.session_factory() as s:
        return [
            (r.day, r.year, r.workday, r.holiday, r.created_at)
            for r in s.scalars(select(OfficialDayEntry).order_by(OfficialDayEntry.day))
        ]


def write(app: App, raw: Any, now: datetime) -> int:
    years, problems = parse_en(raw)
    assert problems == []
    with transaction(app.session_factory) as s:
        return write_official(s, years, now)


def test_write_official_counts_the_rows_and_replaces_only_the_years_given(empty_app: App) -> None:
    y2027 = year_2027(
        days_off=[
            {"holiday": "元旦", "start": date(2027, 1, 1), "end": date(2027, 1, 3)},
            {"holiday": "劳动节", "start": date(2027, 5, 1), "end": date(2027, 5, 2)},
        ],
        workdays=[date(2027, 5, 8)],
    )
    y2028 = {
        "year": 2028,
        "days_off": [{"holiday": "端午节", "start": date(2028, 5, 28), "end": date(2028, 5, 29)}],
        "workdays": [date(2028, 5, 27)],
    }
    assert write(empty_app, [y2027, y2028], NOW) == 3 + 2 + 1 + 2 + 1
    first = [
        (date(2027, 1, 1), 2027, False, "New Year's Day", NOW),
        (date(2027, 1, 2), 2027, False, "New Year's Day", NOW),
        (date(2027, 1, 3), 2027, False, "New Year's Day", NOW),
        (date(2027, 5, 1), 2027, False, "Labour Day", NOW),
        (date(2027, 5, 2), 2027, False, "Labour Day", NOW),
        (date(2027, 5, 8), 2027, True, None, NOW),
        (date(2028, 5, 27), 2028, True, None, NOW),
        (date(2028, 5, 28), 2028, False, "Dragon Boat Festival", NOW),
        (date(2028, 5, 29), 2028, False, "Dragon Boat Festival", NOW),
    ]
    assert official_rows(empty_app) == first
    later = datetime(2027, 11, 1, 8, 0, tzinfo=UTC)
    # 2027 again, with fewer days: its rows are replaced, 2028's keep their day and their time.
    assert (
        write(
            empty_app,
            year_2027(days_off=[{"holiday": "国庆节", "start": date(2027, 10, 1)}], workdays=[]),
            later,
        )
        == 1
    )
    assert official_rows(empty_app) == [(date(2027, 10, 1), 2027, False, "National Day", later), *first[6:]]


def test_write_official_of_nothing_writes_nothing(empty_app: App) -> None:
    with transaction(empty_app.session_factory) as s:
        assert write_official(s, [], NOW) == 0
    assert official_rows(empty_app) == []


# --- _find_school: how an entry names its school ------------------------------------------------------


def add_school(app: App, region_code: str, name: str) -> int:
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region).where(Region.code == region_code)).first()
        if region is None:
            region = Region(
                code=region_code, name="空白县", timezone="Asia/Shanghai", aid_pack=None, settings={}
            )
            s.add(region)
            s.flush()
        school = School(region_id=region.id, name=name, stage=Stage.PRIMARY)
        s.add(school)
        s.flush()
        return school.id


def import_rows(app: App, tmp_path: Path, *schools: str) -> list[int | None]:
    """Import one day off per school reference (CSV, region linxia-demo); the school ids written."""
    path = tmp_path / "cal.csv"
    path.write_text(
        "region,school,kind,name,start\n"
        + "".join(f"linxia-demo,{ref},day_off,,2027-10-{12 + n}\n" for n, ref in enumerate(schools)),
        encoding="utf-8",
    )
    with use_locale("en"), transaction(app.session_factory) as s:
        import_calendar(s, path, NOW)
    with app.session_factory() as s:
        entries = s.scalars(
            select(CalendarEntry)
            .where(CalendarEntry.first_day >= date(2027, 10, 12))
            .order_by(CalendarEntry.first_day)
        )
        return [e.school_id for e in entries]


def test_an_entry_names_its_school_by_id_or_by_name(app: App, tmp_path: Path) -> None:
    year_school = add_school(app, "linxia-demo", "2024")  # a name made of digits, not an id
    assert year_school != 2024
    assert import_rows(app, tmp_path, "1", "东乡第一初级中学", "2024", "2") == [1, 2, year_school, 2]


def test_an_id_wins_over_a_name_made_of_the_same_digits(app: App, tmp_path: Path) -> None:
    add_school(app, "linxia-demo", "1")
    assert import_rows(app, tmp_path, "1") == [1]


def test_an_entry_cannot_name_a_school_of_another_region(app: App, tmp_path: Path) -> None:
    other = add_school(app, "gansu-empty", "山村小学")
    path = tmp_path / "cal.yaml"
    path.write_text(
        "region: linxia-demo\n"
        "entries:\n"
        f"  - {{kind: day_off, school: '{other}', start: 2027-10-12}}\n"
        "  - {kind: day_off, school: 山村小学, start: 2027-10-13}\n"
        "  - {kind: day_off, school: '99', start: 2027-10-14}\n",
        encoding="utf-8",
    )
    with use_locale("en"), pytest.raises(CalendarImportError) as error, transaction(app.session_factory) as s:
        import_calendar(s, path, NOW)
    assert error.value.problems == [
        f"entry 1: no school '{other}' in region linxia-demo",
        "entry 2: no school '山村小学' in region linxia-demo",
        "entry 3: no school '99' in region linxia-demo",
    ]
