"""chart_png: the figure it draws (caught as it is saved) and the PNG it returns.

chart_png builds its matplotlib Figure inside; a spy on Figure.savefig hands the test that figure, so
titles, lines, legend, limits, bars and layout are asserted on the real object, not on pixels.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

import matplotlib
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Annotation
from matplotlib.ticker import PercentFormatter

from chatbot.app import App
from chatbot.attendance.report import AttendanceReport, Scope, chart_png
from chatbot.i18n import use_locale
from tests.attendance.test_report_build import (
    FIRST,
    LAST,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    make_world,
    region_report,
)

RED = to_rgba("#c0504d")
MONDAY_BEFORE = TUESDAY - timedelta(days=1)


def _draw(
    report: AttendanceReport, monkeypatch: pytest.MonkeyPatch, locale: str = "zh_Hans"
) -> tuple[Figure, bytes]:
    """The figure chart_png draws (caught as it is saved, exactly once) and the PNG it returns."""
    captured: list[Figure] = []
    save = Figure.savefig

    def spy(self: Figure, *args: object, **kwargs: object) -> None:
        captured.append(self)
        save(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Figure, "savefig", spy)
    with use_locale(locale):
        png = chart_png(report)
    [figure] = captured
    return figure, png


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _lines(figure: Figure) -> list[tuple[Any, ...]]:
    """Label, x values, y values and marker of each line of the rates chart."""
    rates = figure.axes[0]
    lines: list[Any] = rates.get_lines()
    return [
        (line.get_label(), list(line.get_xdata()), [float(y) for y in line.get_ydata()], line.get_marker())
        for line in lines
    ]


def _bars(figure: Figure) -> list[tuple[str, float]]:
    bars = figure.axes[1]
    labels = [t.get_text() for t in bars.get_xticklabels()]
    patches: list[Any] = list(bars.patches)
    return list(zip(labels, [p.get_height() for p in patches], strict=True))


def _report(**fields: object) -> AttendanceReport:
    return AttendanceReport(scope=Scope("region", 1), title="大县", first=FIRST, last=LAST, **fields)  # type: ignore[arg-type]


def test_chart_of_the_region_report(empty_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    w = make_world(empty_app)
    figure, png = _draw(region_report(empty_app, w), monkeypatch)
    assert _png_size(png) == (900, 650)
    assert tuple(figure.get_size_inches()) == (9, 6.5)
    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    rates, bars = figure.axes
    grid: Any = rates.get_gridspec()
    assert list(grid.get_height_ratios()) == [3, 2]

    assert rates.get_title() == "出勤率 东山县 11月24日–11月26日 · 5/5 个班已点名，6/15 个班日未点名"
    assert _lines(figure) == [
        ("东山二中", [TUESDAY, WEDNESDAY, THURSDAY], [1 - 1 / 2, 1 - 1 / 2, 1.0], "o"),
        (
            "东山一小（4/4 个班已点名，6/12 个班日未点名）",
            [WEDNESDAY, THURSDAY],
            [1 - 4 / 10, 1 - 3 / 7],
            "o",
        ),
    ]
    formatter = rates.yaxis.get_major_formatter()
    assert isinstance(formatter, PercentFormatter) and formatter.xmax == 1.0
    assert formatter(0.5) == "50%"
    assert rates.get_ylim() == pytest.approx((0.5 - 0.05, 1.01))
    legend: Any = rates.get_legend()
    assert legend is not None
    # 东山一小 missed roll-calls: its line says from how many classes it is drawn, and each point too.
    assert [t.get_text() for t in legend.get_texts()] == [
        "东山二中",
        "东山一小（4/4 个班已点名，6/12 个班日未点名）",
    ]
    assert [(a.get_text(), cast(Any, a.xy)) for a in rates.texts if isinstance(a, Annotation)] == [
        ("2/4", (THURSDAY, 1 - 3 / 7))
    ]
    assert legend._loc == 3  # "lower left"
    assert {t.get_fontsize() for t in legend.get_texts()} == {8.0}
    assert {t.get_rotation() for t in rates.get_xticklabels()} == {30}
    assert {t.get_rotation() for t in rates.get_yticklabels()} == {0}

    assert bars.get_title() == "未结辍学风险台账"
    assert _bars(figure) == [("东山一小", 2), ("东山二中", 1)]  # by name, not by count
    assert {p.get_facecolor() for p in bars.patches} == {RED}
    assert [float(t) for t in bars.get_yticks()] == [float(int(t)) for t in bars.get_yticks()]


def test_chart_is_a_png_of_fixed_size_whatever_the_matplotlib_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = _report(daily={"一小": [(TUESDAY, 0.9)]}, open_cases_by_school={"一小": 1})
    with matplotlib.rc_context({"figure.dpi": 50, "figure.figsize": (4, 3), "savefig.format": "svg"}):
        _figure, png = _draw(report, monkeypatch)
    assert _png_size(png) == (900, 650)


def test_chart_without_roll_calls_or_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    figure, png = _draw(_report(), monkeypatch)
    assert png.startswith(b"\x89PNG")
    rates = figure.axes[0]
    assert rates.get_title() == "出勤率 大县 11月24日–11月26日 · 本时段没有上课日"
    assert [t.get_text() for t in rates.texts] == ["本时段没有任何班级点名。"]
    assert _lines(figure) == []
    assert rates.get_legend() is None
    assert rates.get_ylim() == pytest.approx((0.8 - 0.05, 1.01))
    # No school has an open case: one empty bar for all schools, not an empty chart.
    assert _bars(figure) == [("全部学校", 0)]


def test_chart_with_eight_schools_draws_eight_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    daily = {f"学校{n}": [(TUESDAY, 0.9), (WEDNESDAY, 0.8 + n / 100)] for n in range(8)}
    figure, _png = _draw(_report(daily=daily), monkeypatch)
    assert [line[0] for line in _lines(figure)] == list(daily)
    assert figure.axes[0].get_ylim() == pytest.approx((0.8 - 0.05, 1.01))


def test_chart_with_nine_schools_draws_their_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nine schools; two of them have no roll-call on Wednesday.
    daily = {f"学校{n}": [(TUESDAY, 0.9 + n / 100)] for n in range(9)}
    for n in range(7):
        daily[f"学校{n}"].append((WEDNESDAY, 0.7))
    daily["学校8"].insert(0, (MONDAY_BEFORE, 0.6))
    figure, _png = _draw(_report(daily=daily), monkeypatch)
    assert _lines(figure) == [
        (
            "9所学校平均",
            [MONDAY_BEFORE, TUESDAY, WEDNESDAY],
            pytest.approx([0.6, sum(0.9 + n / 100 for n in range(9)) / 9, 0.7]),
            "o",
        )
    ]
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["9所学校平均"]  # type: ignore[union-attr]
    assert figure.axes[0].get_ylim() == pytest.approx((0.6 - 0.05, 1.01))


def test_chart_ylim_never_below_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    figure, _png = _draw(_report(daily={"一小": [(TUESDAY, 0.02)]}), monkeypatch)
    assert figure.axes[0].get_ylim() == pytest.approx((0.0, 1.01))


@pytest.mark.parametrize(
    ("schools", "expected"),
    [
        (1, [("学校00", 3)]),
        (20, [(f"学校{n:02d}", 3) for n in range(20)]),
        (21, [("全部学校", 63)]),
    ],
)
def test_chart_bars_per_school_up_to_twenty(
    monkeypatch: pytest.MonkeyPatch, schools: int, expected: list[tuple[str, int]]
) -> None:
    report = _report(open_cases_by_school={f"学校{n:02d}": 3 for n in reversed(range(schools))})
    figure, _png = _draw(report, monkeypatch)
    assert _bars(figure) == expected
    bars = figure.axes[1]
    assert bars.get_title() == "未结辍学风险台账"
    assert {p.get_facecolor() for p in bars.patches} == {RED}


def test_chart_bar_axis_counts_whole_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    figure, _png = _draw(_report(open_cases_by_school={"一小": 1}), monkeypatch)
    ticks = [float(t) for t in figure.axes[1].get_yticks()]
    assert ticks and all(t.is_integer() for t in ticks), ticks


def test_chart_titles_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report(daily={f"S{n}": [(date(2026, 11, 24), 0.9)] for n in range(9)})
    figure, _png = _draw(report, monkeypatch, "en")
    rates, bars = figure.axes
    assert rates.get_title() == "Attendance rate 大县 Nov 24–Nov 26 · no school day in this period"
    assert [line.get_label() for line in rates.get_lines()] == ["Mean of 9 schools"]
    assert bars.get_title() == "Open dropout-risk cases"
    assert [t.get_text() for t in bars.get_xticklabels()] == ["All schools"]
