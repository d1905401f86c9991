"""A full school day through the console: roll-call, the daily close, alerts, the guardian's answer."""

from __future__ import annotations

from sqlalchemy import func, select

from chatbot.attendance.close import close_day
from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog
from db.models.attendance import AttendanceRecord, GuardianAnswer, Mark, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, guardian_of, name_of, phone_of, teacher_class, texts


def test_a_full_school_day(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _class_id, pupils = teacher_class(app, demo.teacher)
    absent_a, absent_b = pupils[1], pupils[4]
    guardian_a, guardian_b = guardian_of(app, absent_a), guardian_of(app, absent_b)
    for someone in (guardian_a, guardian_b, demo.principal):
        console.external_id(someone)

    shown = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    listing = shown[-1]
    assert "✅" in listing.flat_buttons()[0].label
    assert len(listing.flat_buttons()) == len(pupils) + 1  # one page, plus Submit
    tapped = console.send(demo.teacher, "2", now=at(MONDAY, 8, 1))
    assert tapped[-1].edit and "❌" in tapped[-1].flat_buttons()[1].label
    console.send(demo.teacher, "5", now=at(MONDAY, 8, 1))
    submit = tapped[-1].flat_buttons()[-1].payload
    done = console.send(demo.teacher, payload=submit, now=at(MONDAY, 8, 2))
    assert f"{len(pupils) - 2}" in texts(done) and "38" in texts(done)

    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RollCall)) == 1
        marks = dict(s.execute(select(AttendanceRecord.student_id, AttendanceRecord.status)).all())
        assert marks == {absent_a: Mark.ABSENT, absent_b: Mark.ABSENT}

    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, at(MONDAY, 10, 1))
    assert summary.absences_alerted == 2 and summary.teacher_alerts == 1 and summary.guardian_questions == 2
    assert summary.classes_missing == 6  # the demo county's other classes

    alert = console.pushed(demo.teacher, now=at(MONDAY, 10, 2))
    assert len(alert) == 1
    assert name_of(app, absent_a) in alert[0].text and name_of(app, absent_b) in alert[0].text
    contact = alert[0].flat_buttons()[0]
    shown_contact = console.send(demo.teacher, payload=contact.payload, now=at(MONDAY, 10, 3))
    assert phone_of(app, guardian_a) in texts(shown_contact)  # type: ignore[operator]

    principal_news = console.pushed(demo.principal, now=at(MONDAY, 10, 2))
    assert len(principal_news) == 1 and "4" in principal_news[0].text

    question = console.pushed(guardian_a, now=at(MONDAY, 10, 2))
    assert len(question) == 1 and name_of(app, absent_a) in question[0].text
    assert len(question[0].flat_buttons()) == 4
    answered = console.send(guardian_a, "1", now=at(MONDAY, 10, 5))  # "Sick"
    assert "班主任" in texts(answered)
    forwarded = console.pushed(demo.teacher, now=at(MONDAY, 10, 6))
    assert len(forwarded) == 1 and name_of(app, absent_a) in forwarded[0].text and "生病" in forwarded[0].text
    with app.session_factory() as s:
        record = s.scalars(select(AttendanceRecord).where(AttendanceRecord.student_id == absent_a)).one()
        assert record.status == Mark.SICK and record.guardian_answer == GuardianAnswer.SICK
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "attendance.contact_guardian")
            )
            == 1
        )

    with transaction(app.session_factory) as s:
        again = close_day(s, MONDAY, at(MONDAY, 10, 30))
    assert again.messages_queued == 0 and again.absences_alerted == 0
    assert console.pushed(demo.teacher, now=at(MONDAY, 11)) == []
    assert console.pushed(guardian_b, now=at(MONDAY, 11)) != []  # its first question, still unread
    assert console.pushed(guardian_b, now=at(MONDAY, 11)) == []


def test_close_before_the_cutoff_or_on_a_weekend_does_nothing(app, demo) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        early = close_day(s, MONDAY, at(MONDAY, 9, 59))
        saturday = close_day(s, MONDAY.replace(day=28), at(MONDAY.replace(day=28), 12))
    assert early.schools_closed == 0 and early.schools_skipped == 2
    assert saturday.schools_closed == 0 and saturday.messages_queued == 0


def test_nudge_goes_to_teachers_without_roll_call_half_an_hour_before_cutoff(console, app, demo) -> None:  # type: ignore[no-untyped-def]
    from chatbot.attendance.close import nudge_missing_rollcalls

    console.external_id(demo.teacher)
    with transaction(app.session_factory) as s:
        assert nudge_missing_rollcalls(s, at(MONDAY, 9, 0)) == 0
        assert nudge_missing_rollcalls(s, at(MONDAY, 9, 35)) == 1  # only the demo teacher has a chat account
        assert nudge_missing_rollcalls(s, at(MONDAY, 9, 40)) == 0
    nudge = console.pushed(demo.teacher, now=at(MONDAY, 9, 41))
    assert len(nudge) == 1 and nudge[0].flat_buttons()[0].payload == "go:rollcall"


def test_close_day_command_with_the_clock_moved(app, demo, capsys) -> None:  # type: ignore[no-untyped-def]
    from chatbot.attendance.service import submit_rollcall
    from chatbot.cli import build_parser
    from db.models import Person, SchoolClass

    class_id, pupils = teacher_class(app, demo.teacher)
    guardian = guardian_of(app, pupils[0])
    clock = {"now": at(MONDAY, 9, 30)}
    app.clock = lambda: clock["now"]  # the command line's clock, moved below
    console = ConsoleChannel(app.session_factory, app.router, clock=app.clock)
    console.external_id(guardian)
    with transaction(app.session_factory) as s:
        teacher, klass = s.get(Person, demo.teacher), s.get(SchoolClass, class_id)
        assert teacher is not None and klass is not None
        submit_rollcall(s, teacher, klass, MONDAY, {pupils[0]: Mark.ABSENT}, at(MONDAY, 8))

    def run(*argv: str) -> int:
        args = build_parser().parse_args(list(argv))
        return int(args.handler(args, app))

    assert run("close-day") == 0  # before the cutoff: nothing to close yet
    assert "0 schools (2 skipped)" in capsys.readouterr().out.replace(
        "0所学校（跳过2所）", "0 schools (2 skipped)"
    )
    clock["now"] = at(MONDAY, 10, 30)
    assert run("close-day", "--school", str(klass.school_id)) == 0
    first = capsys.readouterr().out
    assert run("close-day", "--date", MONDAY.isoformat()) == 0
    second = capsys.readouterr().out
    assert len(console.pushed(guardian)) == 1
    assert "提醒缺勤1人次" in first and "排队消息0条" in second
    assert run("close-day", "--date", "23/11/2026") == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_a_roll_call_after_the_cutoff_is_alerted_at_once(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _class_id, pupils = teacher_class(app, demo.teacher)
    guardian = guardian_of(app, pupils[6])
    console.external_id(guardian)
    console.send(demo.teacher, "缺 2", now=at(MONDAY, 8))
    with transaction(app.session_factory) as s:
        close_day(s, MONDAY, at(MONDAY, 10))
    assert len(console.pushed(demo.teacher, now=at(MONDAY, 10, 1))) == 1
    console.send(demo.teacher, "缺 7", now=at(MONDAY, 11))  # the pupil did not turn up after all
    second = console.pushed(demo.teacher, now=at(MONDAY, 11, 1))
    assert (
        len(second) == 1
        and name_of(app, pupils[6]) in second[0].text
        and name_of(app, pupils[1]) not in second[0].text
    )
    assert len(console.pushed(guardian, now=at(MONDAY, 11, 1))) == 1
