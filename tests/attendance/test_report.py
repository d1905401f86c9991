"""Reports: the xlsx export (CLI), the chat report with its chart, the CJK font, the audit log."""

from __future__ import annotations

import io
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from chatbot.attendance.report import Scope, build_report, chart_png, cjk_font_name
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import build_parser
from db.models import AuditLog, SchoolClass
from tests.attendance.helpers import MONDAY, absent_three_days, at, name_of, teacher_class, texts

WEDNESDAY = MONDAY + timedelta(days=2)


def _three_days(console: ConsoleChannel, app, teacher: int) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    pupil = absent_three_days(console, app, teacher)
    class_id, _pupils = teacher_class(app, teacher)
    with app.session_factory() as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        return klass.school_id, class_id, pupil


def _cli(app, *argv: str) -> int:  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(list(argv))
    return int(args.handler(args, app))


def test_xlsx_report_from_the_command_line(console: ConsoleChannel, app, demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    school_id, _class_id, pupil = _three_days(console, app, demo.teacher)
    out = tmp_path / "report.xlsx"
    code = _cli(
        app,
        "report",
        "attendance",
        "--scope",
        f"school:{school_id}",
        "--from",
        MONDAY.isoformat(),
        "--to",
        WEDNESDAY.isoformat(),
        "--out",
        str(out),
    )
    assert code == 0
    book = load_workbook(out)
    assert book.sheetnames == ["班级", "学校", "未点名", "缺勤", "台账"]
    classes = list(book["班级"].iter_rows(values_only=True))
    assert classes[0][0] == "学校"
    first = classes[1]
    assert first[1] == "3年级1班" and first[2] == 38 and first[3] == 3 and first[4] == 3
    assert first[6] == pytest.approx(round(1 - 3 / (38 * 3), 4))
    assert classes[2][3] == 0 and classes[2][6] is None  # no roll-call: no rate, not 0%
    absences = list(book["缺勤"].iter_rows(values_only=True))[1:]
    assert len(absences) == 3 and {row[4] for row in absences} == {name_of(app, pupil)}
    cases = list(book["台账"].iter_rows(values_only=True))[1:]
    assert len(cases) == 1 and cases[0][6] == "未结" and "连续3个上课日" in cases[0][4]
    with app.session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "attendance.report.export")).one()
        assert audit.target == f"school:{school_id}" and audit.details["via"] == "cli"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scope", "school:x"], "范围无效"),
        (["--scope", "school:999"], "找不到"),
        (["--scope", "school:1", "--from", "2026-13-01"], "日期格式"),
        (["--scope", "school:1", "--out", "x.csv"], ".xlsx"),
    ],
)
def test_report_cli_bad_input(app, tmp_path: Path, capsys, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    defaults = {"--from": "2026-11-23", "--to": "2026-11-25", "--out": str(tmp_path / "r.xlsx")}
    for flag, value in defaults.items():
        if flag not in argv:
            argv = [*argv, flag, value]
    assert _cli(app, "report", "attendance", *argv) == 2
    assert message in capsys.readouterr().err


def test_chat_report_sends_chart_and_workbook_and_is_audited(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _three_days(console, app, demo.teacher)
    assert "权限" in texts(console.send(demo.teacher, "/report", now=at(WEDNESDAY, 12)))
    periods = console.send(demo.principal, "/report", now=at(WEDNESDAY, 12))
    assert len(periods[-1].flat_buttons()) == 3
    replies = console.send(demo.principal, "1", now=at(WEDNESDAY, 12))
    chart, workbook = replies[0].attachment, replies[1].attachment
    assert chart is not None and chart.mime == "image/png" and chart.content.startswith(b"\x89PNG")
    assert workbook is not None and workbook.filename.endswith(".xlsx")
    assert load_workbook(io.BytesIO(workbook.content)).sheetnames[0] == "班级"
    assert "总出勤率" in replies[0].text and "3年级1班" in replies[0].text
    with app.session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "attendance.report.export")).one()
        assert audit.actor_person_id == demo.principal


def test_chart_font_covers_chinese(app, demo) -> None:  # type: ignore[no-untyped-def]
    from matplotlib import font_manager

    family = cjk_font_name()
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert Path(path).name == "NotoSansCJKsc-Regular.otf"
    with app.session_factory() as s:
        report = build_report(s, Scope("region", 1), MONDAY, WEDNESDAY)
        report.daily = {"红星小学": [(MONDAY, 0.97), (WEDNESDAY, 0.95)], "东乡第一初级中学": [(MONDAY, 0.99)]}
        report.open_cases_by_school = {"红星小学": 2, "东乡第一初级中学": 1}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart_png(report)
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
