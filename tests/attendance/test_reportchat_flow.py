"""/report in chat, exactly: a county admin with one region goes straight to the period; the period's
dates, the attachments' names and the audit row of the export; what is refused; and the scope
question for someone with many schools."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.channels.console import ConsoleChannel
from db.models import Region, Role, School, ScopeType, Stage
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    at,
    audit_rows,
    dialog_of,
    grant,
    new_person,
    new_region,
    put_dialog,
    shown,
)

NOON = at(MONDAY, 12)
DENIED = "抱歉，您没有权限进行此操作。"
PERIODS = [("最近7天", "rpp:7"), ("最近20天", "rpp:20"), ("最近30天", "rpp:30")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _region_id(app) -> int:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        found: int = s.scalars(select(Region.id).where(Region.code == "linxia-demo")).one()
        return found


def test_a_county_admin_with_one_region_goes_straight_to_the_period(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    region = _region_id(app)
    asked = console.send(demo.admin, "/report", now=NOON)
    assert shown(asked) == [("哪个时间段？", PERIODS)]
    assert len(asked[0].buttons) == 1  # one row of three
    assert dialog_of(app, demo.admin) == ("report", "period", {"kind": "region", "id": region})
    # Typed text is not a period: asked again, still waiting for the period.
    again = console.send(demo.admin, "7天", now=NOON)
    assert shown(again) == [("请选择一个按钮。", [])]
    assert dialog_of(app, demo.admin) == ("report", "period", {"kind": "region", "id": region})
    assert audit_rows(app) == []

    replies = console.send(demo.admin, payload="rpp:20", now=NOON)
    stem = f"attendance-region{region}-2026-11-04-2026-11-23"
    assert [
        (r.text.split("\n")[0], r.attachment.filename, r.attachment.mime) for r in replies if r.attachment
    ] == [
        ("出勤报告 临夏县(演示)，2026-11-04 – 2026-11-23", f"{stem}.png", "image/png"),
        ("完整表格（班级、学校、未点名班级、缺勤、台账）：", f"{stem}.xlsx", XLSX),
    ]
    assert len(replies) == 2
    assert replies[1].attachment is not None and replies[1].attachment.content[:2] == b"PK"
    assert replies[0].attachment is not None and replies[0].attachment.content[:4] == b"\x89PNG"
    assert audit_rows(app) == [
        (
            NOON,
            demo.admin,
            "attendance.report.export",
            f"region:{region}",
            {"first": "2026-11-04", "last": "2026-11-23", "channel": "console"},
        )
    ]
    assert dialog_of(app, demo.admin) is None


def test_the_period_runs_back_from_today_inclusive(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    for payload, first in (("rpp:7", "2026-11-17"), ("rpp:30", "2026-10-25")):
        console.send(demo.principal, "/report", now=NOON)
        replies = console.send(demo.principal, payload=payload, now=NOON)
        assert replies[0].text.split("\n")[0] == f"出勤报告 红星小学，{first} – 2026-11-23"
    with app.session_factory() as s:
        school = s.scalars(select(School.id).where(School.name == "红星小学")).one()
    assert [(a[3], a[4]) for a in audit_rows(app)] == [
        (f"school:{school}", {"first": "2026-11-17", "last": "2026-11-23", "channel": "console"}),
        (f"school:{school}", {"first": "2026-10-25", "last": "2026-11-23", "channel": "console"}),
    ]


def test_prompts_in_english(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    asked = console.send(demo.admin, "/report", now=NOON, lang="en")
    assert shown(asked) == [
        ("Which period?", [("Last 7 days", "rpp:7"), ("Last 20 days", "rpp:20"), ("Last 30 days", "rpp:30")])
    ]
    assert (
        console.send(demo.admin, "seven", now=NOON, lang="en")[0].text == "Please choose one of the buttons."
    )
    replies = console.send(demo.admin, payload="rpp:7", now=NOON, lang="en")
    assert (
        replies[1].text
        == "The full workbook (classes, schools, classes without a roll-call, absences, cases):"
    )


def test_a_period_that_is_not_offered_is_denied(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    console.send(demo.admin, "/report", now=NOON)
    denied = console.send(demo.admin, payload="rpp:8", now=NOON)
    assert shown(denied) == [(DENIED, [])]
    assert dialog_of(app, demo.admin) is None
    assert audit_rows(app) == []


def test_a_period_step_without_a_scope_id_is_denied(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    """A dialog row that lost its scope id must not fall back to some real region (here region #1)."""
    assert _region_id(app) == 1
    put_dialog(console, app, demo.admin, "report", "period", {"kind": "region"}, NOON)
    denied = console.send(demo.admin, payload="rpp:7", now=NOON)
    assert shown(denied) == [(DENIED, [])]
    assert audit_rows(app) == []


def test_the_admin_of_another_region_is_asked_about_her_region_not_a_school(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    """Her region's id is also the id of a school of the demo county: the right is checked on the region."""
    region_id = new_region(app, "另一个县")
    admin_id = new_person(
        app, "牛局长", (Role.COUNTY_ADMIN, ScopeType.REGION, region_id), phone="13900000099", created_at=NOON
    )
    with app.session_factory() as s:
        clash = s.get(School, region_id)
        assert clash is not None and clash.region_id != region_id
    asked = console.send(admin_id, "/report", now=NOON)
    assert shown(asked) == [("哪个时间段？", PERIODS)]
    assert dialog_of(app, admin_id) == ("report", "period", {"kind": "region", "id": region_id})
    replies = console.send(admin_id, payload="rpp:7", now=NOON)
    assert replies[0].text.split("\n")[0] == "出勤报告 另一个县，2026-11-17 – 2026-11-23"
    assert [a[3] for a in audit_rows(app)] == [f"region:{region_id}"]


def test_a_school_that_is_gone_is_offered_as_a_question_mark(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    with app.session_factory() as s:
        red = s.scalars(select(School.id).where(School.name == "红星小学")).one()
    grant(app, demo.principal, Role.PRINCIPAL, ScopeType.SCHOOL, 999999)
    asked = console.send(demo.principal, "/report", now=NOON)
    assert len(asked) == 1
    assert asked[0].text == "要哪个学校或地区的报告？"
    assert sorted(shown(asked)[0][1]) == sorted(
        [("红星小学", f"rps:school:{red}"), ("?", "rps:school:999999")]
    )
    assert [len(row) for row in asked[0].buttons] == [1, 1]
    assert dialog_of(app, demo.principal) == ("report", "scope", {})
    english = console.send(demo.principal, "/report", now=NOON, lang="en")
    assert english[0].text == "Report for which school or region?"


def test_at_most_twenty_scopes_are_offered(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    region = _region_id(app)
    with transaction(app.session_factory) as s:
        schools = [School(region_id=region, name=f"第{n}小学", stage=Stage.PRIMARY) for n in range(1, 21)]
        s.add_all(schools)
        s.flush()
        school_ids = [school.id for school in schools]
    for school_id in school_ids:
        grant(app, demo.principal, Role.PRINCIPAL, ScopeType.SCHOOL, school_id)
    asked = console.send(demo.principal, "/report", now=NOON)  # 21 schools in scope
    assert asked[0].text == "要哪个学校或地区的报告？"
    assert len(asked[0].flat_buttons()) == 20
    assert dialog_of(app, demo.principal) == ("report", "scope", {})
