"""Every attendance figure says how many classes it covers, and the classes without a roll-call are listed.

A product review found "总出勤率:97.4%" when 6 of 8 classes had taken no roll-call that week. Here one
school of 8 classes (5 pupils each, in a county without a school calendar: official working days) is
reported over a day, a week, a week with a day off and a month, through the real report builder, its
summary, its workbook and its chart; and once through /report in the console chat.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from openpyxl import load_workbook
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.report import (
    AttendanceReport,
    Scope,
    build_report,
    chart_png,
    summary_text,
    write_xlsx,
)
from chatbot.channels.console import ConsoleChannel
from chatbot.i18n import use_locale
from db.models import Region, Role, School, SchoolClass, ScopeType, Student
from db.models.attendance import RollCall
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction
from tests.attendance.helpers import add_marks, add_rollcalls, at, new_person, new_region

MON, TUE, WED, THU, FRI = (date(2026, 11, 30) + timedelta(days=n) for n in range(5))
WEEK = (MON, TUE, WED, THU, FRI)
MONTH_FIRST = date(2026, 11, 5)  # a Thursday: 22 working days to FRI, no public holiday
MONTH = tuple(
    MONTH_FIRST + timedelta(days=n)
    for n in range((FRI - MONTH_FIRST).days + 1)
    if (MONTH_FIRST + timedelta(days=n)).weekday() < 5
)
ALL_WEEK = "11月30日 周一、12月1日 周二、12月2日 周三、12月3日 周四和12月4日 周五"


@dataclass
class School8:
    region: int
    school: int
    classes: list[int]  # 3年级1班 … 3年级8班
    pupils: dict[int, list[int]]  # class → pupils


def make_school(app: App, region_id: int | None = None) -> School8:
    """青山小学 with 8 classes of 5 pupils, in its own county (a new one unless given)."""
    with transaction(app.session_factory) as s:
        if region_id is None:
            region = Region(code="qingshan", name="青山县", timezone="Asia/Shanghai", settings={})
            s.add(region)
            s.flush()
            region_id = region.id
        school = School(region_id=region_id, name="青山小学")
        s.add(school)
        s.flush()
        classes = [SchoolClass(school_id=school.id, grade=3, name=f"{n}班") for n in range(1, 9)]
        s.add_all(classes)
        s.flush()
        pupils: dict[int, list[int]] = {}
        for klass in classes:
            rows = [
                Student(
                    school_id=school.id, class_id=klass.id, student_no=f"{klass.id:03d}{n}", name=f"学生{n}"
                )
                for n in range(5)
            ]
            s.add_all(rows)
            s.flush()
            pupils[klass.id] = [row.id for row in rows]
        return School8(region_id, school.id, [k.id for k in classes], pupils)


def day_off(app: App, region_id: int, day: date) -> None:
    with transaction(app.session_factory) as s:
        s.add(
            CalendarEntry(
                region_id=region_id,
                kind=CalendarKind.DAY_OFF,
                name="停课",
                first_day=day,
                last_day=day,
                created_at=at(MON, 7),
            )
        )


def missing_in_db(app: App, school_id: int, school_days: tuple[date, ...]) -> dict[str, int]:
    """From the database: each class of the school with a school day without a roll-call → how many."""
    with app.session_factory() as s:
        classes = s.execute(
            select(SchoolClass.id, SchoolClass.name)
            .where(SchoolClass.school_id == school_id)
            .order_by(SchoolClass.name)
        ).all()
        taken = set(
            s.execute(select(RollCall.class_id, RollCall.day).where(RollCall.day.in_(school_days))).all()
        )
    counts = {f"3年级{name}": sum((cid, d) not in taken for d in school_days) for cid, name in classes}
    return {label: n for label, n in counts.items() if n}


def draw(report: AttendanceReport, monkeypatch: pytest.MonkeyPatch) -> Figure:
    """The figure chart_png draws, caught as it is saved."""
    captured: list[Figure] = []
    save = Figure.savefig

    def spy(self: Figure, *args: Any, **kwargs: Any) -> None:
        captured.append(self)
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    chart_png(report)
    [figure] = captured
    return figure


@dataclass(frozen=True)
class Case:
    first: date
    last: date
    rolled: dict[int, tuple[date, ...]]  # class index → roll-call days
    off: tuple[date, ...]  # region days off
    school_days: tuple[date, ...]
    rate_line: str
    missed: dict[int, str]  # class index → what the summary says it missed
    title: str


CASES = {
    "one day, 2 of 8 classes": Case(
        TUE,
        TUE,
        {0: (TUE,), 1: (TUE,)},
        (),
        (TUE,),
        # 1 absence over the 10 pupils of the two classes that took it (97.5% if the 6 others counted).
        "总出勤率：90.0%（2/8 个班已点名）",
        {n: "12月1日 周二" for n in range(2, 8)},
        "出勤率 青山县 12月1日–12月1日 · 2/8 个班已点名",
    ),
    "a week, 2 of 8 classes every day": Case(
        MON,
        FRI,
        {0: WEEK, 1: WEEK},
        (),
        WEEK,
        "总出勤率：98.0%（2/8 个班已点名，30/40 个班日未点名）",
        {n: ALL_WEEK for n in range(2, 8)},
        "出勤率 青山县 11月30日–12月4日 · 2/8 个班已点名，30/40 个班日未点名",
    ),
    "a week with a day off, one class partly": Case(
        MON,
        FRI,
        {0: (MON, TUE, THU, FRI), 1: (MON,)},
        (WED,),
        (MON, TUE, THU, FRI),
        "总出勤率：96.0%（2/8 个班已点名，27/32 个班日未点名）",
        {1: "12月1日 周二、12月3日 周四和12月4日 周五"}
        | {n: "11月30日 周一、12月1日 周二、12月3日 周四和12月4日 周五" for n in range(2, 8)},
        "出勤率 青山县 11月30日–12月4日 · 2/8 个班已点名，27/32 个班日未点名",
    ),
    "a week without any roll-call": Case(
        MON,
        FRI,
        {},
        (),
        WEEK,
        "本时段没有任何班级点名（0/8 个班已点名，40/40 个班日未点名），因此没有出勤率。",
        {n: ALL_WEEK for n in range(8)},
        "出勤率 青山县 11月30日–12月4日 · 没有班级点名",
    ),
    "a month, 1 of 8 classes: days counted, not listed": Case(
        MONTH_FIRST,
        FRI,
        {0: MONTH},
        (),
        MONTH,
        "总出勤率：99.1%（1/8 个班已点名，154/176 个班日未点名）",
        {n: "缺 22/22 个上课日" for n in range(1, 8)},
        "出勤率 青山县 11月5日–12月4日 · 1/8 个班已点名，154/176 个班日未点名",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_coverage_and_missing_classes_of_the_report(
    empty_app: App, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    w = make_school(empty_app)
    for day in case.off:
        day_off(empty_app, w.region, day)
    for index, days in case.rolled.items():
        add_rollcalls(empty_app, w.classes[index], days)
    if case.rolled:
        add_marks(empty_app, w.pupils[w.classes[0]][0], [case.rolled[0][0]])
    with empty_app.session_factory() as s:
        report = build_report(s, Scope("region", w.region), case.first, case.last)

    missed = {f"3年级{n + 1}班": text for n, text in case.missed.items()}
    db_missing = missing_in_db(empty_app, w.school, case.school_days)
    assert [m.klass for m in report.missing] == list(missed) == list(db_missing)
    assert [len(m.days) for m in report.missing] == list(db_missing.values())
    with use_locale("zh_Hans"):
        lines = summary_text(report).split("\n")
        book = load_workbook(io.BytesIO(write_xlsx(report)))
        figure = draw(report, monkeypatch)
    assert lines[1] == case.rate_line
    listed = lines.index(f"未点名的班级（{len(missed)} 个）：")
    assert lines[listed + 1 : listed + 1 + len(missed)] == [f"• 青山小学 {k}: {v}" for k, v in missed.items()]

    rows = list(book["未点名"].iter_rows(values_only=True))
    assert rows[0] == ("学校", "班级", "上课日", "未点名天数", "缺点名")
    assert [row[1:4] for row in rows[1 : 1 + len(missed)]] == [
        (k, len(case.school_days), n) for k, n in db_missing.items()
    ]
    coverage = case.title.split(" · ")[1]
    assert rows[-1][:2] == ("点名情况", coverage if case.rolled else "0/8 个班已点名，40/40 个班日未点名")
    rates = figure.axes[0]
    assert rates.get_title() == case.title
    # The school's line is drawn from fewer classes than it has: its legend says so.
    legend = rates.get_legend()
    if case.rolled:
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == [f"青山小学（{coverage}）"]
    else:
        assert legend is None and [t.get_text() for t in rates.texts] == ["本时段没有任何班级点名。"]


def test_a_school_day_line_says_from_how_many_classes_each_point_is(
    empty_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_school(empty_app)
    add_rollcalls(empty_app, w.classes[0], WEEK)
    for klass in w.classes[1:]:
        add_rollcalls(empty_app, klass, [WED])
    with empty_app.session_factory() as s:
        report = build_report(s, Scope("school", w.school), MON, FRI)
    with use_locale("zh_Hans"):
        figure = draw(report, monkeypatch)
    rates = figure.axes[0]
    # Wednesday all 8 classes took it (no note); every other day only one of them did.
    assert [(t.get_text(), cast(Any, t.xy)[0]) for t in rates.texts if isinstance(t, Annotation)] == [
        ("1/8", d) for d in (MON, TUE, THU, FRI)
    ]
    assert rates.get_title() == "出勤率 青山小学 11月30日–12月4日 · 8/8 个班已点名，28/40 个班日未点名"


def test_the_report_in_chat_names_the_classes_without_a_roll_call(
    console: ConsoleChannel, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = new_region(app, "青山县")
    w = make_school(app, region)
    admin = new_person(app, "青局长", (Role.COUNTY_ADMIN, ScopeType.REGION, region), phone="13900000077")
    for klass in w.classes[:2]:
        add_rollcalls(app, klass, WEEK)
    noon = at(FRI, 12)
    console.send(admin, "/report", now=noon)
    figures: list[Figure] = []
    save = Figure.savefig

    def spy(self: Figure, *args: Any, **kwargs: Any) -> None:
        figures.append(self)
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    summary, workbook = console.send(admin, payload="rpp:7", now=noon)  # Saturday 28 Nov – Friday 4 Dec

    missing = missing_in_db(app, w.school, WEEK)
    assert len(missing) == 6
    lines = summary.text.split("\n")
    assert lines[:2] == [
        "出勤报告 青山县，2026-11-28 – 2026-12-04",
        "总出勤率：100.0%（2/8 个班已点名，30/40 个班日未点名）",
    ]
    assert lines[2:10] == [
        "• 3年级1班: 100.0%",
        "• 3年级2班: 100.0%",
        *(f"• {label}: 未点名" for label in missing),
    ]
    assert lines[10:17] == [
        "未点名的班级（6 个）：",
        *(f"• 青山小学 {label}: {ALL_WEEK}" for label in missing),
    ]
    assert workbook.attachment is not None
    rows = list(load_workbook(io.BytesIO(workbook.attachment.content))["未点名"].iter_rows(values_only=True))
    assert [row[:4] for row in rows[1:7]] == [("青山小学", label, 5, 5) for label in missing]
    [figure] = figures
    assert figure.axes[0].get_title() == "出勤率 青山县 11月28日–12月4日 · 2/8 个班已点名，30/40 个班日未点名"
