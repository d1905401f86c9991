"""summary_text and percent: the chat summary of a report, whole, in Chinese and in English."""

from __future__ import annotations

from datetime import date

from chatbot.app import App
from chatbot.attendance.report import AttendanceReport, ClassRow, Scope, percent, summary_text
from chatbot.i18n import use_locale
from tests.attendance.test_report_build import FIRST, LAST, make_world, region_report, report_of


def _summary(report: AttendanceReport, locale: str = "zh_Hans") -> list[str]:
    """The report's chat summary in `locale`, line by line."""
    with use_locale(locale):
        return summary_text(report).split("\n")


def test_percent_has_one_decimal_and_a_dash_for_no_rate() -> None:
    assert percent(None) == "—"
    assert percent(1.0) == "100.0%"
    assert percent(0.0) == "0.0%"
    assert percent(1 - 1 / 3) == "66.7%"


def test_summary_of_a_region_counts_schools_not_classes(empty_app: App) -> None:
    w = make_world(empty_app)
    report = region_report(empty_app, w)
    # 9 absences of 23 expected pupil-days; two schools; 3 open cases and 2 closed in the period.
    assert _summary(report) == [
        "出勤报告 东山县，2026-11-24 – 2026-11-26",
        "总出勤率：60.9%（5/5 个班已点名，6/15 个班日未点名）",
        "学校数：2",
        # Every class of 东山一小 missed Tuesday; grades 4 and 5 took the roll-call on Wednesday only.
        "未点名的班级（4 个）：",
        "• 东山一小 3年级1班: 11月24日 周二",
        "• 东山一小 3年级2班: 11月24日 周二",
        "• 东山一小 4年级1班: 11月24日 周二和11月26日 周四",
        "• 东山一小 5年级1班: 11月24日 周二和11月26日 周四",
        "辍学风险台账：未结3个，本期结案2个。",
        "本期缺勤人次：9",
    ]
    assert _summary(report, "en") == [
        "Attendance 东山县, 2026-11-24 – 2026-11-26",
        "Overall attendance rate: 60.9% (5/5 classes took a roll-call, 6/15 class-days without a roll-call)",
        "Schools: 2",
        "Classes without a roll-call (4):",
        "• 东山一小 3年级1班: Tue, Nov 24",
        "• 东山一小 3年级2班: Tue, Nov 24",
        "• 东山一小 4年级1班: Tue, Nov 24 and Thu, Nov 26",
        "• 东山一小 5年级1班: Tue, Nov 24 and Thu, Nov 26",
        "Dropout-risk cases: 3 open, 2 closed in the period.",
        "Absences in the period: 9",
    ]


def test_summary_of_one_school_lists_its_classes(empty_app: App) -> None:
    w = make_world(empty_app)
    report = report_of(empty_app, Scope("school", w.schools["s1"]))
    assert _summary(report) == [
        "出勤报告 东山一小，2026-11-24 – 2026-11-26",
        "总出勤率：58.8%（4/4 个班已点名，6/12 个班日未点名）",  # 1 - 7/17
        "• 3年级1班: 50.0%",
        "• 3年级2班: 66.7%",
        "• 4年级1班: —",  # no active pupil: no rate
        "• 5年级1班: 66.7%",
        "未点名的班级（4 个）：",
        "• 东山一小 3年级1班: 11月24日 周二",
        "• 东山一小 3年级2班: 11月24日 周二",
        "• 东山一小 4年级1班: 11月24日 周二和11月26日 周四",
        "• 东山一小 5年级1班: 11月24日 周二和11月26日 周四",
        "辍学风险台账：未结2个，本期结案1个。",
        "本期缺勤人次：7",
    ]


def test_summary_without_any_roll_call_has_no_rate(empty_app: App) -> None:
    w = make_world(empty_app)
    saturday = date(2026, 11, 28)
    report = report_of(empty_app, Scope("school", w.schools["s2"]), saturday, saturday)
    assert report.overall_rate() is None
    assert _summary(report) == [
        "出勤报告 东山二中，2026-11-28 – 2026-11-28",
        # A Saturday: no school day, no roll-call, and no rate (neither 0% nor 100%).
        "本时段没有任何班级点名（本时段没有上课日），因此没有出勤率。",
        "• 1年级1班: 未点名",
        "辍学风险台账：未结1个，本期结案0个。",
        "本期缺勤人次：0",
    ]


def test_summary_lists_at_most_40_classes() -> None:
    classes = [ClassRow("大校", f"{n}班", 10, 1, 1, 0) for n in range(1, 42)]
    report = AttendanceReport(
        scope=Scope("school", 1),
        title="大校",
        first=FIRST,
        last=LAST,
        classes=classes,
        schools=[ClassRow("大校", "", 410, 1, 41, 0)],
    )
    assert _summary(report)[2:] == [f"• {n}班: 90.0%" for n in range(1, 41)] + [
        "辍学风险台账：未结0个，本期结案0个。",
        "本期缺勤人次：0",
    ]
