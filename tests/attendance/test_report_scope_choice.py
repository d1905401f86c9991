"""/report for someone with several schools or regions in scope: which one is asked first; text instead of
a button is asked again; a forged scope kind, or a scope she has no right to, is denied; a valid choice
moves on to the period, and the report is then built for the chosen scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, Region, Role, School, ScopeType, Stage
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, buttons_of, dialog_of, grant

ASK_SCOPE = "要哪个学校或地区的报告？"
CHOOSE = "请选择一个按钮。"
DENIED = "抱歉，您没有权限进行此操作。"
PERIODS = [("最近7天", "rpp:7"), ("最近20天", "rpp:20"), ("最近30天", "rpp:30")]
NOON = at(MONDAY, 12)


def _ids(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        region = s.scalars(select(Region.id).where(Region.code == "linxia-demo")).one()
        schools = dict(s.execute(select(School.name, School.id)).all())
        return {"region": region, "red": schools["红星小学"], "east": schools["东乡第一初级中学"]}


def _exports(app) -> list[tuple[int | None, str]]:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        return [
            (row[0], row[1])
            for row in s.execute(
                select(AuditLog.actor_person_id, AuditLog.target).where(
                    AuditLog.action == "attendance.report.export"
                )
            )
        ]


@pytest.fixture
def principal_of_two(app, demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The demo principal also heads the second school; a third school of the region is not hers."""
    ids = _ids(app)
    grant(app, demo.principal, Role.PRINCIPAL, ScopeType.SCHOOL, ids["east"])
    with transaction(app.session_factory) as s:
        third = School(region_id=ids["region"], name="西乡小学", stage=Stage.PRIMARY)
        s.add(third)
        s.flush()
        ids["third"] = third.id
    return ids


def _ask_scope(console: ConsoleChannel, app, person: int, choices: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    """/report asks the person which scope, offering exactly `choices`, and waits for the answer."""
    asked = console.send(person, "/report", now=NOON)
    assert len(asked) == 1
    assert asked[0].text == ASK_SCOPE
    assert buttons_of(asked[0]) == choices
    assert dialog_of(app, person) == ("report", "scope", {})


def _ask_principal(console: ConsoleChannel, app, principal: int, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    schools = [("红星小学", f"rps:school:{ids['red']}"), ("东乡第一初级中学", f"rps:school:{ids['east']}")]
    _ask_scope(console, app, principal, schools)


def test_a_principal_of_two_schools_chooses_one_then_the_period(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, principal_of_two
) -> None:
    ids = principal_of_two
    _ask_principal(console, app, demo.principal, ids)
    period = console.send(demo.principal, "2", now=NOON)
    assert len(period) == 1
    assert period[0].text == "哪个时间段？"
    assert buttons_of(period[0]) == PERIODS
    assert len(period[0].buttons) == 1  # one row of three
    assert dialog_of(app, demo.principal) == ("report", "period", {"kind": "school", "id": ids["east"]})
    assert _exports(app) == []
    # The report is then built for the school chosen.
    replies = console.send(demo.principal, "1", now=NOON)
    assert replies[0].text.split("\n")[0] == "出勤报告 东乡第一初级中学，2026-11-17 – 2026-11-23"
    assert replies[0].attachment is not None
    assert replies[0].attachment.filename == f"attendance-school{ids['east']}-2026-11-17-2026-11-23.png"
    assert _exports(app) == [(demo.principal, f"school:{ids['east']}")]
    assert dialog_of(app, demo.principal) is None


def test_text_instead_of_a_button_asks_again_and_keeps_the_question_open(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, principal_of_two
) -> None:
    ids = principal_of_two
    _ask_principal(console, app, demo.principal, ids)
    for typed in ("红星", "3", "school:2"):
        again = console.send(demo.principal, typed, now=NOON)
        assert len(again) == 1
        assert again[0].text == CHOOSE and again[0].buttons == []
        assert dialog_of(app, demo.principal) == ("report", "scope", {})
    period = console.send(demo.principal, payload=f"rps:school:{ids['red']}", now=NOON)
    assert period[0].text == "哪个时间段？"
    assert dialog_of(app, demo.principal) == ("report", "period", {"kind": "school", "id": ids["red"]})


@pytest.mark.parametrize("forged", ["region", "third", "missing"])
def test_a_scope_she_has_no_right_to_is_denied(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, principal_of_two, forged: str
) -> None:
    ids = principal_of_two
    payload = {
        "region": f"rps:region:{ids['region']}",
        "third": f"rps:school:{ids['third']}",
        "missing": "rps:school:999999",
    }[forged]
    _ask_principal(console, app, demo.principal, ids)
    denied = console.send(demo.principal, payload=payload, now=NOON)
    assert len(denied) == 1
    assert denied[0].text == DENIED and denied[0].buttons == []
    assert dialog_of(app, demo.principal) is None
    # No period was offered: a period button now leads nowhere.
    assert (
        console.send(demo.principal, payload="rpp:7", now=NOON)[0].text
        == "这个按钮已过期。发送 /help 重新开始。"
    )
    assert _exports(app) == []


@pytest.fixture
def admin_and_principal(app, demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The demo county admin also heads the first school: a region and a school in scope."""
    ids = _ids(app)
    grant(app, demo.admin, Role.PRINCIPAL, ScopeType.SCHOOL, ids["red"])
    return ids


def _ask_admin(console: ConsoleChannel, app, admin: int, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    scopes = [("临夏县(演示)", f"rps:region:{ids['region']}"), ("红星小学", f"rps:school:{ids['red']}")]
    _ask_scope(console, app, admin, scopes)


@pytest.mark.parametrize("kind", ["class", "county", "School"])
def test_a_forged_scope_kind_is_denied_even_with_a_matching_region_id(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, admin_and_principal, kind: str
) -> None:
    """The id is the admin's own region, so only the kind check stands between the payload and a report."""
    ids = admin_and_principal
    _ask_admin(console, app, demo.admin, ids)
    denied = console.send(demo.admin, payload=f"rps:{kind}:{ids['region']}", now=NOON)
    assert len(denied) == 1
    assert denied[0].text == DENIED and denied[0].buttons == []
    assert dialog_of(app, demo.admin) is None
    assert _exports(app) == []


def test_an_admin_chooses_her_region(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, admin_and_principal
) -> None:
    ids = admin_and_principal
    _ask_admin(console, app, demo.admin, ids)
    period = console.send(demo.admin, "1", now=NOON)
    assert period[0].text == "哪个时间段？"
    assert buttons_of(period[0]) == PERIODS
    assert dialog_of(app, demo.admin) == ("report", "period", {"kind": "region", "id": ids["region"]})
    replies = console.send(demo.admin, payload="rpp:7", now=NOON)
    assert replies[0].text.split("\n")[0] == "出勤报告 临夏县(演示)，2026-11-17 – 2026-11-23"
    assert _exports(app) == [(demo.admin, f"region:{ids['region']}")]
