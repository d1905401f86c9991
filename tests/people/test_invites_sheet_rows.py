"""`bot.py invites` on a small county built for the purpose, run in-process through `chatbot.cli.main`
with the test's clock: who gets a row (the school's own principal and class teachers, each role of a
person once with all their classes; guardians of active pupils only, once with all their children), in
which order (staff by person and role, families by class and 学号 of their first child), the exact
Chinese sheet, and every refusal with its exact message and exit code, leaving no codes behind."""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.cli import cmd_invites
from chatbot.people.invites import hash_code, looks_like_code
from db.models import (
    AuditLog,
    ChannelIdentity,
    Guardian,
    InviteCode,
    Membership,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Stage,
    Student,
)
from db.session import transaction
from tests.people.cli_run import InProcessCli, Result


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, now: datetime
) -> InProcessCli:
    return InProcessCli(monkeypatch, capsys, tmp_path, now)


@dataclass
class County:
    url: str
    ids: dict[str, int]


@pytest.fixture
def county(empty_app: App, now: datetime) -> County:
    """Two regions; 向阳小学 with two classes, staff holding several roles, and four families."""
    ids: dict[str, int] = {}
    with transaction(empty_app.session_factory) as s:
        north = Region(code="north", name="北县", timezone="Asia/Shanghai")
        south = Region(code="south", name="南县", timezone="Asia/Shanghai")
        s.add_all([north, south])
        s.flush()
        xiangyang = School(region_id=north.id, name="向阳小学", stage=Stage.PRIMARY)
        qingshan = School(region_id=north.id, name="青山中学", stage=Stage.JUNIOR)
        qingshan_south = School(region_id=south.id, name="青山中学", stage=Stage.JUNIOR)
        empty = School(region_id=north.id, name="空小学", stage=Stage.PRIMARY)
        single = School(region_id=north.id, name="单人小学", stage=Stage.PRIMARY)
        s.add_all([xiangyang, qingshan, qingshan_south, empty, single])
        s.flush()
        # Region, school and class ids all start at 1: a scope test that looks at the id alone, or at
        # the wrong scope type, lets the county admin or another school's principal in.
        grade3 = SchoolClass(school_id=xiangyang.id, grade=3, name="1班")
        grade4 = SchoolClass(school_id=xiangyang.id, grade=4, name="2班")
        grade7 = SchoolClass(school_id=qingshan.id, grade=7, name="1班")
        s.add_all([grade3, grade4, grade7])
        s.flush()
        assert (north.id, xiangyang.id, grade3.id) == (1, 1, 1)

        def person(key: str, name: str) -> int:
            p = Person(name=name, phone=None, created_at=now)
            s.add(p)
            s.flush()
            ids[key] = p.id
            return p.id

        def member(pid: int, role: Role, scope: ScopeType, scope_id: int) -> None:
            s.add(Membership(person_id=pid, role=role, scope_type=scope, scope_id=scope_id))
            s.flush()

        member(person("admin", "县管"), Role.COUNTY_ADMIN, ScopeType.REGION, north.id)
        member(person("principal", "校长甲"), Role.PRINCIPAL, ScopeType.SCHOOL, xiangyang.id)
        member(person("other_principal", "校长乙"), Role.PRINCIPAL, ScopeType.SCHOOL, qingshan.id)
        teacher = person("teacher", "老师丙")
        # Stored before the class-teacher rows, but listed after them: rows sort by person, then role.
        member(teacher, Role.TEACHER, ScopeType.CLASS, grade3.id)
        member(teacher, Role.CLASS_TEACHER, ScopeType.CLASS, grade3.id)
        member(teacher, Role.CLASS_TEACHER, ScopeType.CLASS, grade4.id)
        member(person("other_teacher", "老师丁"), Role.CLASS_TEACHER, ScopeType.CLASS, grade7.id)
        member(person("lonely", "校长戊"), Role.PRINCIPAL, ScopeType.SCHOOL, single.id)

        def pupil(klass: SchoolClass, no: str, name: str, active: bool = True) -> int:
            st = Student(
                school_id=klass.school_id, class_id=klass.id, student_no=no, name=name, active=active
            )
            s.add(st)
            s.flush()
            return st.id

        first = pupil(grade3, "0301", "孩甲")
        left = pupil(grade3, "0302", "孩乙", active=False)
        younger = pupil(grade4, "0101", "孩丙")  # sorts first by 学号, but its class comes second
        earlier = pupil(grade3, "0300", "孩丁")  # stored last, listed first in its class
        for key, name, children in (
            ("two_children", "家长一", (first, younger)),
            ("left_school", "家长二", (left,)),
            ("family", "家长四", (earlier,)),
        ):
            pid = person(key, name)
            for child in children:
                s.add(Guardian(person_id=pid, student_id=child, relation="母亲"))
        s.flush()
    return County(empty_app.settings.database_url, ids)


HEADER = ["姓名", "身份", "班级", "孩子", "邀请码", "有效期至"]
EXPIRES = "2026-12-23 08:00"  # 30 days after Monday 08:00 in Shanghai


def read_sheet(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def without_codes(rows: list[list[str]]) -> list[list[str]]:
    """The sheet without its random codes (each checked to be one); the header keeps its code column.

    A teacher's classes come in the order the database returns them (nothing orders them), so a staff
    row's classes are compared sorted; a family's classes follow their children and stay as written.
    """
    for row in rows[1:]:
        assert looks_like_code(row[4]), row
    return [
        rows[0],
        *[
            [row[0], row[1], row[2] if row[3] else "、".join(sorted(row[2].split("、"))), row[3], row[5]]
            for row in rows[1:]
        ],
    ]


def codes(app: App) -> list[tuple[int, str, str | None, datetime, datetime | None]]:
    with app.session_factory() as s:
        return [
            (c.person_id, c.role, c.scope_type, c.expires_at, c.used_at)
            for c in s.scalars(select(InviteCode).order_by(InviteCode.id))
        ]


def exports(app: App) -> list[tuple[str | None, dict[str, object] | None]]:
    with app.session_factory() as s:
        return [(a.target, a.details) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_the_whole_sheet_of_a_school(
    run: InProcessCli, county: County, empty_app: App, tmp_path: Path, now: datetime
) -> None:
    assert run(county.url, "invites", "--school", "向阳小学", "--out", "all.csv") == Result(
        0, "已将 5 个邀请码写入 all.csv。\n", ""
    )
    rows = read_sheet(tmp_path / "all.csv")
    assert without_codes(rows) == [
        HEADER,
        ["校长甲", "校长", "", "", EXPIRES],
        ["老师丙", "班主任", "3年级1班、4年级2班", "", EXPIRES],
        ["老师丙", "任课教师", "3年级1班", "", EXPIRES],
        ["家长四", "家长", "3年级1班", "孩丁", EXPIRES],
        ["家长一", "家长", "3年级1班、4年级2班", "孩甲、孩丙", EXPIRES],
    ]
    ids = county.ids
    expires = now + timedelta(days=30)
    assert codes(empty_app) == [
        (ids["principal"], "principal", "school", expires, None),
        (ids["teacher"], "class_teacher", "school", expires, None),
        (ids["teacher"], "teacher", "school", expires, None),
        (ids["family"], "guardian", "school", expires, None),
        (ids["two_children"], "guardian", "school", expires, None),
    ]
    with empty_app.session_factory() as s:
        stored = set(s.scalars(select(InviteCode.code_hash)))
    assert {hash_code(row[4]) for row in rows[1:]} == stored
    assert exports(empty_app) == [("school:1", {"role": "all", "count": 5, "unlinked_only": False})]


def test_the_sheet_in_english(run: InProcessCli, county: County, tmp_path: Path) -> None:
    result = run(
        county.url, "invites", "--school", "向阳小学", "--out", "t.csv", "--role", "teachers", locale="en"
    )
    assert result == Result(0, "3 invite codes written to t.csv.\n", "")
    assert without_codes(read_sheet(tmp_path / "t.csv")) == [
        ["name", "role", "class", "child", "code", "expires"],
        ["校长甲", "principal", "", "", EXPIRES],
        ["老师丙", "class teacher", "Grade 3 1班、Grade 4 2班", "", EXPIRES],
        ["老师丙", "teacher", "Grade 3 1班", "", EXPIRES],
    ]


def test_one_code_is_written_in_the_singular(run: InProcessCli, county: County, tmp_path: Path) -> None:
    assert run(county.url, "invites", "--school", "单人小学", "--out", "one.csv") == Result(
        0, "已将 1 个邀请码写入 one.csv。\n", ""
    )
    assert run(county.url, "invites", "--school", "单人小学", "--out", "one.csv", locale="en") == Result(
        0, "1 invite code written to one.csv.\n", ""
    )
    assert without_codes(read_sheet(tmp_path / "one.csv")) == [
        ["name", "role", "class", "child", "code", "expires"],
        ["校长戊", "principal", "", "", EXPIRES],
    ]


def test_refusals_name_the_problem_and_leave_no_codes(
    run: InProcessCli, county: County, empty_app: App, tmp_path: Path
) -> None:
    assert run(county.url, "invites", "--school", "没有的学校", "--out", "x.csv") == Result(
        2, "", "没有名为 '没有的学校' 的学校。\n"
    )
    assert run(county.url, "invites", "--school", "青山中学", "--out", "x.csv") == Result(
        2, "", "有多所学校名为 '青山中学'。\n"
    )
    assert run(county.url, "invites", "--school", "空小学", "--out", "x.csv") == Result(
        2, "", "空小学 没有需要邀请的人。\n"
    )
    assert run(county.url, "invites", "--school", "向阳小学", "--out", "missing/x.csv") == Result(
        2, "", "无法写入 missing/x.csv：No such file or directory\n"
    )
    assert run(
        county.url, "invites", "--school", "向阳小学", "--out", "missing/x.csv", locale="en"
    ) == Result(2, "", "Cannot write missing/x.csv: No such file or directory\n")
    assert run(county.url, "invites", "--school", "空小学", "--out", "x.csv", locale="en") == Result(
        2, "", "Nobody to invite at 空小学.\n"
    )
    assert run(county.url, "invites", "--school", "青山中学", "--out", "x.csv", locale="en") == Result(
        2, "", "Several schools are named '青山中学'.\n"
    )
    assert run(county.url, "invites", "--school", "无", "--out", "x.csv", locale="en") == Result(
        2, "", "No school named '无'.\n"
    )
    # The codes of a sheet that could not be written were never committed.
    assert codes(empty_app) == []
    assert exports(empty_app) == []
    assert list(tmp_path.iterdir()) == []


def test_a_caller_that_does_not_ask_for_unlinked_gets_everyone(
    county: County, empty_app: App, tmp_path: Path, now: datetime
) -> None:
    """`unlinked` may be absent from the arguments (older callers): everyone gets a code then."""
    with transaction(empty_app.session_factory) as s:
        s.add(
            ChannelIdentity(
                channel="console", external_id="t", person_id=county.ids["teacher"], created_at=now
            )
        )
    out = tmp_path / "t.csv"
    with use_locale("zh_Hans"):
        assert cmd_invites(argparse.Namespace(school="向阳小学", out=out, role="teachers"), empty_app) == 0
    assert [row[0] for row in read_sheet(out)[1:]] == ["校长甲", "老师丙", "老师丙"]
    assert exports(empty_app) == [("school:1", {"role": "teachers", "count": 3, "unlinked_only": False})]
    # Asked for, the linked teacher is left out.
    with use_locale("zh_Hans"):
        args = argparse.Namespace(school="向阳小学", out=out, role="teachers", unlinked=True)
        assert cmd_invites(args, empty_app) == 0
    assert [row[0] for row in read_sheet(out)[1:]] == ["校长甲"]


def test_the_sheet_lists_staff_in_person_then_role_order_whatever_the_storage_order(
    run: InProcessCli, county: County, empty_app: App, tmp_path: Path
) -> None:
    """Staff come by person, then role."""
    from chatbot.people.invites import school_invitees

    ids = county.ids
    with empty_app.session_factory() as s, use_locale("zh_Hans"):
        school = s.scalars(select(School).where(School.name == "向阳小学")).one()
        rows = school_invitees(s, school, "all")
        # A teacher's classes come in storage order (nothing orders them): compare them as a set.
        rows[1] = (*rows[1][:3], "、".join(sorted(rows[1][3].split("、"))), rows[1][4])
        assert rows == [
            (ids["principal"], "校长甲", "principal", "", ""),
            (ids["teacher"], "老师丙", "class_teacher", "3年级1班、4年级2班", ""),
            (ids["teacher"], "老师丙", "teacher", "3年级1班", ""),
            (ids["family"], "家长四", "guardian", "3年级1班", "孩丁"),
            (ids["two_children"], "家长一", "guardian", "3年级1班、4年级2班", "孩甲、孩丙"),
        ]
