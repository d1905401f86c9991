"""Pins that a school:S/grade:N notice reaches only that grade's guardians (or class staff), no other."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.cli import build_parser
from db.models import Guardian, Membership, OutboxMessage, Role, SchoolClass, ScopeType, Student
from db.models.broadcast import Broadcast, BroadcastRecipient, BroadcastScope
from tests.broadcast.helpers import link, parents_of_school, school_id


def run(app: App, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    code = args.handler(args, app)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def guardians_by_grade(app: App, school: int) -> dict[int, set[int]]:
    """grade → person ids of the guardians of that grade's active pupils in `school`."""
    found: dict[int, set[int]] = {}
    with app.session_factory() as s:
        for grade, person_id in s.execute(
            select(SchoolClass.grade, Guardian.person_id)
            .join(Student, Student.id == Guardian.student_id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.school_id == school, Student.active.is_(True))
        ):
            found.setdefault(grade, set()).add(person_id)
    return found


def class_staff_by_grade(app: App, school: int) -> dict[int, set[int]]:
    """grade → person ids holding a class-level teaching role in that grade of `school`."""
    found: dict[int, set[int]] = {}
    with app.session_factory() as s:
        for grade, person_id in s.execute(
            select(SchoolClass.grade, Membership.person_id)
            .join(SchoolClass, SchoolClass.id == Membership.scope_id)
            .where(
                SchoolClass.school_id == school,
                Membership.scope_type == ScopeType.CLASS,
                Membership.role.in_((Role.CLASS_TEACHER, Role.TEACHER)),
            )
        ):
            found.setdefault(grade, set()).add(person_id)
    return found


def test_grade_notice_to_parents_reaches_only_guardians_of_that_grade(
    app: App,
    demo,
    now: datetime,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    school = school_id(app)
    by_grade = guardians_by_grade(app, school)
    grade3 = by_grade[3]
    others = set().union(*(people for grade, people in by_grade.items() if grade != 3)) - grade3
    # The demo school has other grades with families of their own, so the filter has something to exclude.
    assert len(grade3) >= 30 and len(others) >= 90
    # Everyone in the school is on a chat account: whoever is wrongly targeted would get a message.
    link(app, parents_of_school(app, school), now)

    code, out, _err = run(
        app, capsys, "broadcast", "--as", "principal", "--to", f"school:{school}/grade:3/parents",
        "--text", "三年级家长会", "--dry-run",
    )  # fmt: skip
    assert code == 0
    assert f"共 {len(grade3)} 人（家长 {len(grade3)}，教师 0）" in out

    code, out, err = run(
        app, capsys, "broadcast", "--as", "principal", "--to", f"school:{school}/grade:3/parents",
        "--text", "三年级家长会",
    )  # fmt: skip
    assert code == 0, err
    assert f"已为 {len(grade3)} 人中的 {len(grade3)} 人排队 {len(grade3)} 条消息" in out
    with app.session_factory() as s:
        notice = s.scalars(select(Broadcast)).one()
        assert (notice.scope_type, notice.scope_id, notice.grade) == (BroadcastScope.GRADE, school, 3)
        recipients = set(
            s.scalars(
                select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == notice.id)
            )
        )
        queued = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")))
    assert notice.recipient_count == len(grade3)
    assert recipients == grade3
    assert {row.person_id for row in queued} == grade3
    assert len(queued) == len(grade3)  # one console account each, one message each
    assert all("三年级家长会" in row.text for row in queued)
    assert not recipients & others
    assert demo.parent in recipients  # a guardian with one child in grade 3 (and one elsewhere) is included


def test_grade_notice_to_teachers_reaches_only_that_grades_class_staff(
    app: App,
    demo,
    now: datetime,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    school = school_id(app)
    staff = class_staff_by_grade(app, school)
    assert staff[3] == {demo.teacher}
    everyone = set().union(*staff.values()) | {demo.principal}
    link(app, sorted(everyone), now)

    code, out, err = run(
        app, capsys, "broadcast", "--as", "principal", "--to", f"school:{school}/grade:3/teachers",
        "--text", "三年级教研会",
    )  # fmt: skip
    assert code == 0, err
    with app.session_factory() as s:
        recipients = set(s.scalars(select(BroadcastRecipient.person_id)))
        queued = {
            row.person_id for row in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
        }
    assert "已为 1 人中的 1 人排队 1 条消息" in out
    assert recipients == queued == {demo.teacher}
