"""build_report, pinned row by row on a small hand-made county: what is in scope, in the period, and in order.

The world (see `make_world`) is built so that every filter, join and ordering of the report shows:
a second region whose rows must never leak in, roll-calls and absences just outside the period, a
class without active pupils, a pupil who moved class after his absence and his case, schools whose
ids run against their grades, and cases opened, closed on the period's first midnight or after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from chatbot.app import App
from chatbot.attendance import report as report_module
from chatbot.attendance.report import ClassRow, Scope, build_report, scope_title
from db.models import Region, School, SchoolClass, Student
from db.models.attendance import (
    AttendanceRecord,
    CaseEventKind,
    CaseStatus,
    CaseTrigger,
    DropoutCase,
    GuardianAnswer,
    Mark,
    MarkSource,
    NotDropoutReason,
    RollCall,
)
from db.session import transaction
from tests.attendance.helpers import MONDAY

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
FRIDAY = MONDAY + timedelta(days=4)
# The report period: Tuesday to Thursday; Monday and Friday hold data that must stay out.
FIRST, LAST = TUESDAY, THURSDAY
STAMP = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@dataclass
class World:
    """Ids of the hand-made county, by short name."""

    region: int = 0
    other_region: int = 0
    schools: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    pupils: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)


def _returned_at(closed_at: datetime) -> dict[str, Any]:
    """The fields of a three-days-in-a-row case opened a week before MONDAY, closed as returned at `closed_at`."""
    return {
        "trigger": CaseTrigger.CONSECUTIVE,
        "detail": {"days": 3},
        "opened_on": MONDAY - timedelta(days=7),
        "status": CaseStatus.CLOSED,
        "closed_at": closed_at,
        "outcome": CaseEventKind.RETURNED,
    }


def make_world(app: App) -> World:
    """东山县 with 东山一小 (grades 5, 3-2, 3-1, 4, in that insertion order) and 东山二中 (grade 1);
    西河县 with 西河小学, whose rows must never show in a report of 东山县."""
    w = World()
    with transaction(app.session_factory) as s:
        east = Region(code="east", name="东山县", timezone="Asia/Shanghai", settings={})
        west = Region(code="west", name="西河县", timezone="Asia/Shanghai", settings={})
        s.add_all([east, west])
        s.flush()
        w.region, w.other_region = east.id, west.id
        for key, region, name in (
            ("s1", east, "东山一小"),
            ("s2", east, "东山二中"),
            ("s3", west, "西河小学"),
        ):
            school = School(region_id=region.id, name=name)
            s.add(school)
            s.flush()
            w.schools[key] = school.id
        for key, school_key, grade, name in (
            ("c51", "s1", 5, "1班"),
            ("c32", "s1", 3, "2班"),
            ("c31", "s1", 3, "1班"),
            ("c41", "s1", 4, "1班"),
            ("d11", "s2", 1, "1班"),
            ("e31", "s3", 3, "1班"),
        ):
            klass = SchoolClass(school_id=w.schools[school_key], grade=grade, name=name)
            s.add(klass)
            s.flush()
            w.classes[key] = klass.id
        school_of = {"c51": "s1", "c32": "s1", "c31": "s1", "c41": "s1", "d11": "s2", "e31": "s3"}
        for key, class_key, number, name, active in (
            ("p0321", "c31", "0321", "赵一", True),
            ("p0322", "c31", "0322", "赵二", True),
            ("p0323", "c31", "0323", "赵三", True),
            ("p0324", "c31", "0324", "赵四", True),
            ("p0311", "c32", "0311", "钱一", True),
            ("p0312", "c32", "0312", "钱二", True),
            ("p0313", "c32", "0313", "钱三", True),
            ("p0501", "c51", "0501", "孙一", True),
            ("p0502", "c51", "0502", "孙二", True),
            # Moved from 3年级1班 to 5年级1班 after his absence on Wednesday and after his case.
            ("moved", "c51", "0503", "周转", True),
            ("p0401", "c41", "0401", "李停", False),  # grade 4's only pupil has left: no active pupil
            ("p0101", "d11", "0101", "吴一", True),
            ("p0102", "d11", "0102", "吴二", True),
            ("p0301", "e31", "0301", "郑一", True),
            ("p0302", "e31", "0302", "郑二", True),
        ):
            pupil = Student(
                school_id=w.schools[school_of[class_key]],
                class_id=w.classes[class_key],
                student_no=number,
                name=name,
                active=active,
            )
            s.add(pupil)
            s.flush()
            w.pupils[key] = pupil.id
        for class_key, days in (  # the later schools first, against the order the report wants
            ("e31", (TUESDAY, WEDNESDAY, THURSDAY)),
            ("d11", (TUESDAY, WEDNESDAY, THURSDAY)),
            ("c41", (WEDNESDAY,)),
            ("c51", (WEDNESDAY,)),
            ("c32", (WEDNESDAY, THURSDAY)),
            ("c31", (MONDAY, WEDNESDAY, THURSDAY, FRIDAY)),
        ):
            for day in days:
                s.add(
                    RollCall(
                        class_id=w.classes[class_key],
                        school_id=w.schools[school_of[class_key]],
                        day=day,
                        submitted_at=STAMP,
                    )
                )
        records: list[tuple[str, str, date, Mark, GuardianAnswer | None]] = [
            # Inserted against the report's order, so that only its ORDER BY puts them right.
            ("p0102", "d11", WEDNESDAY, Mark.SICK, None),
            ("p0501", "c51", WEDNESDAY, Mark.ABSENT, None),
            ("p0311", "c32", WEDNESDAY, Mark.ABSENT, GuardianAnswer.UNKNOWN),
            ("p0312", "c32", WEDNESDAY, Mark.LATE, None),
            ("moved", "c31", WEDNESDAY, Mark.ABSENT, None),
            ("p0322", "c31", WEDNESDAY, Mark.LATE, None),
            ("p0321", "c31", WEDNESDAY, Mark.ABSENT, GuardianAnswer.SICK),
            ("p0321", "c31", THURSDAY, Mark.ABSENT, None),
            ("p0323", "c31", THURSDAY, Mark.SICK, None),
            ("p0313", "c32", THURSDAY, Mark.PERSONAL, GuardianAnswer.ON_THE_WAY),
            ("p0101", "d11", TUESDAY, Mark.ABSENT, GuardianAnswer.PERSONAL),
            ("p0324", "c31", MONDAY, Mark.ABSENT, None),  # before the period
            ("p0324", "c31", FRIDAY, Mark.ABSENT, None),  # after the period
            ("p0301", "e31", TUESDAY, Mark.ABSENT, None),  # other region
            ("p0302", "e31", WEDNESDAY, Mark.LATE, None),  # other region
        ]
        for pupil_key, class_key, day, mark, answer in records:
            s.add(
                AttendanceRecord(
                    student_id=w.pupils[pupil_key],
                    class_id=w.classes[class_key],
                    school_id=w.schools[school_of[class_key]],
                    day=day,
                    status=mark,
                    source=MarkSource.ROLLCALL,
                    at=STAMP,
                    guardian_answer=answer,
                )
            )
        first_midnight = datetime.combine(FIRST, time.min, tzinfo=UTC)
        cases: list[tuple[str, str, str, dict[str, Any]]] = [
            (
                "k_open_s2_tue",
                "p0101",
                "d11",
                {"trigger": CaseTrigger.RATE, "detail": {"days": 20, "percent": 25}, "opened_on": TUESDAY},
            ),
            (
                "k_open_s1_tue",
                "p0313",
                "c32",
                {"trigger": CaseTrigger.CONSECUTIVE, "detail": {"days": 3}, "opened_on": TUESDAY, "level": 1},
            ),
            (
                "k_open_s1_thu",
                "p0324",
                "c31",
                {
                    "trigger": CaseTrigger.CONSECUTIVE,
                    "detail": {"days": 3},
                    "opened_on": THURSDAY,
                    "level": 2,
                },
            ),
            ("k_closed_at_first", "moved", "c31", _returned_at(first_midnight)),
            (
                "k_closed_in_period",
                "p0102",
                "d11",
                {
                    "trigger": CaseTrigger.RATE,
                    "detail": {"days": 20, "percent": 30},
                    "opened_on": MONDAY - timedelta(days=3),
                    "status": CaseStatus.CLOSED,
                    "closed_at": datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
                    "outcome": CaseEventKind.NOT_DROPOUT,
                    "not_dropout_reason": NotDropoutReason.STUDYING_ELSEWHERE,
                    "level": 1,
                },
            ),
            # Left out: opened after the period, closed before it, or in the other region.
            (
                "k_after",
                "p0311",
                "c32",
                {"trigger": CaseTrigger.CONSECUTIVE, "detail": {"days": 3}, "opened_on": FRIDAY},
            ),
            ("k_closed_before", "p0312", "c32", _returned_at(first_midnight - timedelta(microseconds=1))),
            (
                "k_west",
                "p0301",
                "e31",
                {"trigger": CaseTrigger.CONSECUTIVE, "detail": {"days": 3}, "opened_on": TUESDAY},
            ),
        ]
        region_of = {"s1": east.id, "s2": east.id, "s3": west.id}
        for key, pupil_key, class_key, values in cases:
            opened_on = values["opened_on"]
            case = DropoutCase(
                student_id=w.pupils[pupil_key],
                class_id=w.classes[class_key],
                school_id=w.schools[school_of[class_key]],
                region_id=region_of[school_of[class_key]],
                opened_at=datetime.combine(opened_on, time(2, 0), tzinfo=UTC),
                last_activity_on=opened_on,
                **{"status": CaseStatus.OPEN, "level": 0, **values},
            )
            s.add(case)
            s.flush()
            w.cases[key] = case.id
    return w


def report_of(
    app: App, scope: Scope, first: date = FIRST, last: date = LAST
) -> report_module.AttendanceReport:
    """build_report of the scope over the period (FIRST to LAST unless given)."""
    with app.session_factory() as s:
        return build_report(s, scope, first, last)


def region_report(app: App, w: World) -> report_module.AttendanceReport:
    return report_of(app, Scope("region", w.region))


# --- Scope.parse and scope_title ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("class:12", Scope("class", 12)), ("school:3", Scope("school", 3)), ("region:7", Scope("region", 7))],
)
def test_scope_parse_accepts_the_three_kinds(text: str, expected: Scope) -> None:
    assert Scope.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["district:1", "school:x", "school:", "school", ":1", "class:1:2", "Class:1"]
)
def test_scope_parse_refuses_anything_else_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        Scope.parse(text)
    assert raised.value.args == (text,)


def test_scope_titles_of_class_school_and_region(empty_app: App) -> None:
    w = make_world(empty_app)
    with empty_app.session_factory() as s:
        assert scope_title(s, Scope("class", w.classes["c32"])) == "东山一小 3年级2班"
        assert scope_title(s, Scope("school", w.schools["s2"])) == "东山二中"
        assert scope_title(s, Scope("region", w.other_region)) == "西河县"
        assert scope_title(s, Scope("class", 999)) is None
        assert scope_title(s, Scope("school", 999)) is None
        assert scope_title(s, Scope("region", 999)) is None


def test_build_report_of_a_missing_scope_names_it(empty_app: App) -> None:
    make_world(empty_app)
    with empty_app.session_factory() as s, pytest.raises(LookupError) as raised:
        build_report(s, Scope("school", 999), FIRST, LAST)
    assert raised.value.args == (Scope("school", 999),)


# --- the region report, every table ---------------------------------------------------------


def test_region_report_classes_and_schools(empty_app: App) -> None:
    w = make_world(empty_app)
    report = region_report(empty_app, w)
    assert (report.scope, report.title, report.first, report.last) == (
        Scope("region", w.region),
        "东山县",
        FIRST,
        LAST,
    )
    # School by id, then grade, then class name; never the other region's class.
    # 3-1: Wed (赵一 缺, 周转 缺, 赵二 迟到), Thu (赵一 缺, 赵三 病假); Monday and Friday are outside.
    assert report.classes == [
        ClassRow("东山一小", "3年级1班", 4, 2, 4, 1),
        ClassRow("东山一小", "3年级2班", 3, 2, 2, 1),
        ClassRow("东山一小", "4年级1班", 0, 1, 0, 0),  # its only pupil is no longer active
        ClassRow("东山一小", "5年级1班", 3, 1, 1, 0),
        ClassRow("东山二中", "1年级1班", 2, 3, 2, 0),
    ]
    assert [row.rate for row in report.classes] == [1 - 4 / 8, 1 - 2 / 6, None, 1 - 1 / 3, 1 - 2 / 6]
    # Schools: pupils holds the expected pupil-days, days is 1.
    assert report.schools == [
        ClassRow("东山一小", "", 8 + 6 + 0 + 3, 1, 7, 2),
        ClassRow("东山二中", "", 6, 1, 2, 0),
    ]
    assert report.overall_rate() == 1 - 9 / 23
    assert report.overall == ClassRow("东山县", "", 12, 0, 9, 2)


def test_region_report_daily_rates(empty_app: App) -> None:
    w = make_world(empty_app)
    report = region_report(empty_app, w)
    # Schools in the order of their first roll-call day: 二中 called the roll on Tuesday already.
    # Wednesday at 一小: 4 + 3 + 3 + 0 expected (grade 4 has nobody), 4 away (赵一, 周转, 钱一, 孙一).
    # Thursday at 一小: only 3-1 and 3-2 (4 + 3), 赵一 缺, 赵三 病假, 钱三 事假 away; late is present.
    # 二中: Tuesday 吴一 缺 of 2, Wednesday 吴二 病假 of 2, Thursday nobody away.
    assert list(report.daily.items()) == [
        ("东山二中", [(TUESDAY, 1 - 1 / 2), (WEDNESDAY, 1 - 1 / 2), (THURSDAY, 1.0)]),
        ("东山一小", [(WEDNESDAY, 1 - 4 / 10), (THURSDAY, 1 - 3 / 7)]),
    ]


def test_daily_schools_on_the_same_first_day_come_by_school(empty_app: App) -> None:
    w = make_world(empty_app)
    report = report_of(empty_app, Scope("region", w.region), WEDNESDAY, THURSDAY)
    # Both schools called the roll on Wednesday: the school with the smaller id comes first.
    assert list(report.daily.items()) == [
        ("东山一小", [(WEDNESDAY, 1 - 4 / 10), (THURSDAY, 1 - 3 / 7)]),
        ("东山二中", [(WEDNESDAY, 1 - 1 / 2), (THURSDAY, 1.0)]),
    ]


def test_region_report_absences_in_order(empty_app: App) -> None:
    w = make_world(empty_app)
    report = region_report(empty_app, w)
    # By day, school, grade, class name, student number; the moved pupil under the class he was in.
    assert report.absences == [
        (TUESDAY, "东山二中", 1, "1班", "0101", "吴一", Mark.ABSENT, GuardianAnswer.PERSONAL),
        (WEDNESDAY, "东山一小", 3, "1班", "0321", "赵一", Mark.ABSENT, GuardianAnswer.SICK),
        (WEDNESDAY, "东山一小", 3, "1班", "0503", "周转", Mark.ABSENT, None),
        (WEDNESDAY, "东山一小", 3, "2班", "0311", "钱一", Mark.ABSENT, GuardianAnswer.UNKNOWN),
        (WEDNESDAY, "东山一小", 5, "1班", "0501", "孙一", Mark.ABSENT, None),
        (WEDNESDAY, "东山二中", 1, "1班", "0102", "吴二", Mark.SICK, None),
        (THURSDAY, "东山一小", 3, "1班", "0321", "赵一", Mark.ABSENT, None),
        (THURSDAY, "东山一小", 3, "1班", "0323", "赵三", Mark.SICK, None),
        (THURSDAY, "东山一小", 3, "2班", "0313", "钱三", Mark.PERSONAL, GuardianAnswer.ON_THE_WAY),
    ]


def test_region_report_cases_in_order(empty_app: App) -> None:
    w = make_world(empty_app)
    report = region_report(empty_app, w)
    # Open ones, and closed ones closed on or after the first day's midnight (UTC), opened by the last day.
    assert [(c[0].id, c[1], c[2], c[3]) for c in report.cases] == [
        (w.cases["k_closed_at_first"], "东山一小", "3年级1班", "周转"),
        (w.cases["k_closed_in_period"], "东山二中", "1年级1班", "吴二"),
        (w.cases["k_open_s2_tue"], "东山二中", "1年级1班", "吴一"),
        (w.cases["k_open_s1_tue"], "东山一小", "3年级2班", "钱三"),
        (w.cases["k_open_s1_thu"], "东山一小", "3年级1班", "赵四"),
    ]
    assert report.open_cases_by_school == {"东山二中": 1, "东山一小": 2}
    assert list(report.open_cases_by_school) == ["东山二中", "东山一小"]


def test_absences_stop_at_the_row_limit(empty_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    w = make_world(empty_app)
    monkeypatch.setattr(report_module, "MAX_ABSENCE_ROWS", 2)
    report = region_report(empty_app, w)
    assert [row[5] for row in report.absences] == ["吴一", "赵一"]


# --- narrower scopes ------------------------------------------------------------------------


def test_class_report_holds_only_that_class(empty_app: App) -> None:
    w = make_world(empty_app)
    report = report_of(empty_app, Scope("class", w.classes["c31"]))
    assert report.title == "东山一小 3年级1班"
    assert report.classes == [ClassRow("东山一小", "3年级1班", 4, 2, 4, 1)]
    assert report.schools == [ClassRow("东山一小", "", 8, 1, 4, 1)]
    # Only this class's pupils and absences count, though 3-2 and 5-1 were away the same days.
    assert report.daily == {"东山一小": [(WEDNESDAY, 1 - 2 / 4), (THURSDAY, 1 - 2 / 4)]}
    assert [(row[0], row[5]) for row in report.absences] == [
        (WEDNESDAY, "赵一"),
        (WEDNESDAY, "周转"),
        (THURSDAY, "赵一"),
        (THURSDAY, "赵三"),
    ]
    assert [c[0].id for c in report.cases] == [w.cases["k_closed_at_first"], w.cases["k_open_s1_thu"]]
    assert report.open_cases_by_school == {"东山一小": 1}


def test_school_report_holds_only_that_school(empty_app: App) -> None:
    w = make_world(empty_app)
    report = report_of(empty_app, Scope("school", w.schools["s2"]))
    assert report.title == "东山二中"
    assert report.classes == [ClassRow("东山二中", "1年级1班", 2, 3, 2, 0)]
    assert report.schools == [ClassRow("东山二中", "", 6, 1, 2, 0)]
    assert list(report.daily) == ["东山二中"]
    assert [row[5] for row in report.absences] == ["吴一", "吴二"]
    assert [c[0].id for c in report.cases] == [w.cases["k_closed_in_period"], w.cases["k_open_s2_tue"]]
    assert report.open_cases_by_school == {"东山二中": 1}


def test_other_region_report_sees_only_its_own_rows(empty_app: App) -> None:
    w = make_world(empty_app)
    report = report_of(empty_app, Scope("region", w.other_region))
    assert report.title == "西河县"
    assert report.classes == [ClassRow("西河小学", "3年级1班", 2, 3, 1, 1)]
    assert report.daily == {"西河小学": [(TUESDAY, 1 - 1 / 2), (WEDNESDAY, 1.0), (THURSDAY, 1.0)]}
    assert [row[5] for row in report.absences] == ["郑一"]
    assert [c[0].id for c in report.cases] == [w.cases["k_west"]]
    assert report.open_cases_by_school == {"西河小学": 1}
