"""The reminder engine against the demo county: who gets each reminder and the exact message, the school's
own local day, the aid line from the region's pack, the run report, and the rules that fail in another
domain (each run with an explicit moment)."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from chatbot.aid import pack as aid_pack
from chatbot.app import App
from chatbot.calendar.ledger import existing_keys, insert_keys, ledger_row
from chatbot.calendar.reminder_rules import DEFAULT_RULES, NEVER_RETURNED, RuleConfig
from chatbot.calendar.service import Period, SchoolCalendar, load_calendars
from chatbot.channels.console import ConsoleChannel
from chatbot.i18n import use_locale
from chatbot.reminders import recipients
from chatbot.reminders.engine import QueueReport, QuietHours, plan_day, process_occurrence, queue_due
from chatbot.reminders.messages import VisitItem
from chatbot.reminders.occurrences import occurrences_between
from chatbot.reminders.recipients import home_visit_items
from db.models import Guardian, Membership, Person, Region, Role, School, SchoolClass, ScopeType, Student
from db.models.attendance import AttendanceRecord, Mark, MarkSource, RollCall
from db.models.calendar import CalendarEntry, CalendarKind, ReminderSent, ReminderStatus
from db.session import transaction
from tests.reminders.conftest import first_class_pupils, ledger, local, outbox

GRACE = timedelta(hours=6)
RED, EAST = "红星小学", "东乡第一初级中学"
TERM_TEACHER = (
    "📅 新学期 2月22日 周一 开学（{klass}）。请在点名时核查哪些学生还没返校；开学 3 个上课日后，"
    "我会把一直没有出勤记录的学生名单发给您和校长。"
)
GENERIC_AID = "学生资助：新学期开始受理申请。发送 /aid 查看孩子能享受哪些资助。"
ENGINE_LOG = "chatbot.reminders.engine"
PLANNERS_LOG = "chatbot.reminders.planners"


def school_id(app: App, name: str) -> int:
    with app.session_factory() as s:
        return s.scalars(select(School.id).where(School.name == name)).one()


def principal_of(app: App, name: str) -> int:
    with app.session_factory() as s:
        return s.scalars(
            select(Membership.person_id).where(
                Membership.role == Role.PRINCIPAL,
                Membership.scope_type == ScopeType.SCHOOL,
                Membership.scope_id == school_id(app, name),
            )
        ).one()


def pupil_name(app: App, student_id: int) -> str:
    with app.session_factory() as s:
        student = s.get(Student, student_id)
        assert student is not None
        return student.name


def texts(app: App, person_id: int, kind: str) -> list[str]:
    return [r.text for r in outbox(app, person_id) if r.kind == kind]


def engine_logs(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ENGINE_LOG and r.levelno == level]


def move_to_new_region(app: App, school: str, code: str, timezone: str = "Asia/Shanghai", **settings) -> int:  # type: ignore[no-untyped-def]
    """A second region without a calendar of its own; `school` moves there. Returns the region id."""
    with transaction(app.session_factory) as s:
        region = Region(code=code, name=code, timezone=timezone, aid_pack="linxia-2019", settings=settings)
        s.add(region)
        s.flush()
        s.execute(update(School).where(School.name == school).values(region_id=region.id))
        return region.id


def demo_region_term(app: App, first: date, last: date, name: str = "autumn") -> None:
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region).where(Region.code == "linxia-demo")).one()
        s.add(
            CalendarEntry(
                region_id=region.id,
                kind=CalendarKind.TERM,
                name=name,
                first_day=first,
                last_day=last,
                created_at=local(2019, 1, 1),
            )
        )


def absent_all_week(app: App, teacher_id: int, student_id: int) -> None:
    """3年级1班's roll-calls from Monday 22 to Thursday 25 February 2027: this pupil is absent at each."""
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        for day in (22, 23, 24, 25):
            at = datetime(2027, 2, day, 1, 0, tzinfo=UTC)
            s.add(
                RollCall(
                    class_id=student.class_id,
                    school_id=student.school_id,
                    day=date(2027, 2, day),
                    submitted_by=teacher_id,
                    submitted_at=at,
                )
            )
            s.add(
                AttendanceRecord(
                    student_id=student.id,
                    class_id=student.class_id,
                    school_id=student.school_id,
                    day=date(2027, 2, day),
                    status=Mark.ABSENT,
                    source=next(iter(MarkSource)),
                    reported_by=teacher_id,
                    at=at,
                )
            )


# --- recipients and messages -------------------------------------------------------------------------


def test_never_returned_goes_to_the_class_teacher_and_this_school_principal_only(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    red, east = school_id(app, RED), school_id(app, EAST)
    with transaction(app.session_factory) as s:
        s.execute(update(Person).where(Person.id == demo.teacher).values(locale="en"))
        # Neither is the school's principal: a subject teacher of the school, and a principal whose
        # membership is region-wide (its scope id happens to be the school's id).
        subject = Person(name="Subject Teacher", phone="13900009001", created_at=local(2027, 1, 1))
        county = Person(name="County Principal", phone="13900009002", created_at=local(2027, 1, 1))
        s.add_all([subject, county])
        s.flush()
        s.add(Membership(person_id=subject.id, role=Role.TEACHER, scope_type=ScopeType.SCHOOL, scope_id=red))
        s.add(Membership(person_id=county.id, role=Role.PRINCIPAL, scope_type=ScopeType.REGION, scope_id=red))
        bystanders = [subject.id, county.id]
    bystanders.append(principal_of(app, EAST))
    for person_id in (demo.teacher, demo.principal, *bystanders):
        console.external_id(person_id)
    absent = first_class_pupils(app)[1]
    absent_all_week(app, demo.teacher, absent)

    due = local(2027, 2, 25, 12, 0)
    report = queue_due(app.session_factory, due, GRACE)  # exactly at the due time

    assert report.queued == 2
    assert {r.key: r.status for r in ledger(app, "never_returned")} == {
        f"never_returned|s{red}|2027-02-22/3|p{demo.teacher}": ReminderStatus.QUEUED,
        f"never_returned|s{red}|2027-02-22/3|p{demo.principal}": ReminderStatus.QUEUED,
        f"never_returned|s{red}|2027-02-22/3|*": ReminderStatus.DONE,
        f"never_returned|s{east}|2027-02-22/3|*": ReminderStatus.DONE,
    }
    name = pupil_name(app, absent)
    assert texts(app, demo.teacher, "reminder.never_returned") == [
        f"⚠️ 1 pupil of Grade 3 1班 has no attendance since the term started on Mon, Feb 22 and may not "
        f"have returned:\n• {name}\nPlease contact their families today."
    ]
    assert texts(app, demo.principal, "reminder.never_returned") == [
        f"⚠️ 红星小学：有 1 名学生自 2月22日 周一 开学以来没有任何出勤记录：\n• 3年级1班: {name}"
    ]
    for bystander in bystanders:
        assert outbox(app, bystander) == []


def set_class(app: App, label: tuple[int, str], **values: object) -> None:
    grade, name = label
    with transaction(app.session_factory) as s:
        s.execute(
            update(SchoolClass).where(SchoolClass.grade == grade, SchoolClass.name == name).values(**values)
        )


def test_a_teacher_of_several_classes_gets_one_message_covering_them_in_grade_and_name_order(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    # The demo teacher's 3年级1班 becomes 3年级2班, and they also take 4年级1班 and 5年级1班, renamed
    # 3年级0班: the roll is 3年级0班, 3年级2班, 4年级1班 (neither creation nor name order alone).
    set_class(app, (3, "1班"), name="2班")
    set_class(app, (4, "1班"), class_teacher_id=demo.teacher)
    set_class(app, (5, "1班"), grade=3, name="0班", class_teacher_id=demo.teacher)
    set_class(app, (6, "1班"), class_teacher_id=None)  # a class without a class teacher is left out
    console.external_id(demo.teacher)
    report = queue_due(app.session_factory, local(2027, 2, 15, 18, 30), GRACE)
    assert report.failed == 0 and report.queued > 0
    assert texts(app, demo.teacher, "reminder.term_start") == [
        "\n\n".join(TERM_TEACHER.format(klass=k) for k in ("3年级0班", "3年级2班", "4年级1班"))
    ]
    red = school_id(app, RED)
    assert [r.key for r in ledger(app, "term_start") if r.recipient == f"p{demo.teacher}"] == [
        f"term_start|s{red}|2027-02-22/7|p{demo.teacher}"
    ]


def test_term_start_reaches_each_guardian_of_active_pupils_once_naming_all_their_children(
    app: App,
) -> None:
    red = school_id(app, RED)
    pupils = first_class_pupils(app)
    with transaction(app.session_factory) as s:
        last = s.scalars(select(Student).where(Student.school_id == red).order_by(Student.id.desc())).first()
        assert last is not None
        guardian = s.scalars(select(Guardian.person_id).where(Guardian.student_id == last.id)).one()
        # That guardian (the school's last) also looks after an early pupil, a boarder.
        second = s.get(Student, pupils[1])
        assert second is not None
        second.boarding = True
        s.add(Guardian(person_id=guardian, student_id=second.id, relation="父亲"))
        gone = s.get(Student, pupils[2])
        assert gone is not None
        gone.active = False  # left the school: their family is not reminded
        gone_guardian = s.scalars(select(Guardian.person_id).where(Guardian.student_id == gone.id)).one()
        children = f"{second.name}、{last.name}"
    with app.session_factory() as s:
        ((_occurrence, _school, planned, _used),) = plan_day(s, date(2027, 2, 15), school_ref=RED)
        assert planned is not None
        parents = [p.person_id for p in planned if p.role == "parent"]
        (item,) = [p for p in planned if p.person_id == guardian]
        with use_locale("zh_Hans"):
            text = item.render().text
    assert parents == sorted(set(parents)) and guardian in parents and gone_guardian not in parents
    assert text == (
        f"📅 还有 7 天开学：{children} 请于 2月22日 周一 回到红星小学上学。\n"
        "请带好：书包、课本和假期作业、文具。\n"
        "住校生：被褥、保暖衣物和生活用品。"
    )


def test_a_school_is_reminded_on_its_own_local_day(app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    # Kiritimati is UTC+14: half past midnight on 2 February there is still 1 February almost everywhere.
    move_to_new_region(
        app,
        EAST,
        "far-east",
        "Pacific/Kiritimati",
        reminders={"spring_festival": {"days_before": [3], "at": "00:30:00"}},
    )
    console.external_id(demo.parent)
    due = datetime(2027, 2, 2, 0, 30, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    report = queue_due(app.session_factory, due, GRACE)
    east = school_id(app, EAST)
    assert [(r.key, r.status, r.due_at) for r in ledger(app) if r.recipient == "*"] == [
        (f"spring_festival|s{east}|2027-02-05/3|*", ReminderStatus.DONE, due)
    ]
    assert report.queued > 0 and report.missed == 0
    rows = outbox(app, demo.parent)
    assert [r.kind for r in rows] == ["reminder.spring_festival"]
    # Quiet hours are the school's night: held until 07:00 in Kiritimati.
    assert rows[0].not_before == datetime(2027, 2, 2, 7, 0, tzinfo=ZoneInfo("Pacific/Kiritimati"))


def test_reminders_are_held_through_the_quiet_hours_they_are_given(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.parent)
    quiet = QuietHours(start=time(15, 0), end=time(8, 0))
    queue_due(app.session_factory, local(2027, 1, 13, 16, 0), GRACE, quiet=quiet)
    rows = outbox(app, demo.parent)
    assert len(rows) == 2 and {r.not_before for r in rows} == {local(2027, 1, 14, 8, 0)}


def test_a_reminder_queued_ahead_of_time_waits_for_its_due_time(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    # What `remind --date` does on the morning of the day: queue now, deliver at 16:00.
    console.external_id(demo.parent)
    morning = local(2027, 1, 13, 9, 0)
    with app.session_factory() as s, s.begin():
        for occurrence, school, _planned, _used in plan_day(s, date(2027, 1, 13)):
            calendar = load_calendars(s, [school])[school.id]
            report = process_occurrence(s, occurrence, school, calendar, morning, timedelta(0), force=True)
            assert report == QueueReport(queued=len(_planned), occurrences=1)
    rows = outbox(app, demo.parent)
    assert len(rows) == 2 and {r.not_before for r in rows} == {local(2027, 1, 13, 16, 0)}


# --- the run report ----------------------------------------------------------------------------------


def test_a_recipient_already_in_the_ledger_is_skipped_and_counted(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    red, east = school_id(app, RED), school_id(app, EAST)
    due = local(2027, 1, 13, 16, 0)
    taken = f"vacation|s{red}|2027-01-16/3|p{demo.parent}"  # another scheduler got there first
    with transaction(app.session_factory) as s:
        s.add(
            ReminderSent(
                key=taken,
                rule="vacation",
                occurrence="2027-01-16/3",
                recipient=f"p{demo.parent}",
                status=ReminderStatus.QUEUED,
                due_at=due,
                created_at=due,
            )
        )
    console.external_id(demo.parent)
    report = queue_due(app.session_factory, due, GRACE)
    recipients = [r for r in ledger(app, "vacation") if r.recipient != "*"]
    assert report == QueueReport(queued=len(recipients) - 1, skipped=1, occurrences=2)
    rows = outbox(app, demo.parent)
    assert [r.dedupe_key.split("|")[1] for r in rows if r.dedupe_key] == [f"s{east}"]


def test_a_reminder_at_the_very_end_of_the_grace_window_is_still_sent(app: App) -> None:
    due = local(2027, 1, 13, 16, 0)
    report = queue_due(app.session_factory, due + GRACE, GRACE)
    assert report.queued > 0 and report.missed == 0
    assert {r.status for r in ledger(app, "vacation")} == {ReminderStatus.QUEUED, ReminderStatus.DONE}


def test_a_failing_rule_is_rolled_back_counted_and_retried_at_the_next_run(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(session, class_id, since, today):  # type: ignore[no-untyped-def]
        raise RuntimeError("attendance store unavailable")

    monkeypatch.setattr(recipients, "never_returned", broken)
    report = queue_due(app.session_factory, local(2027, 2, 25, 12, 1), GRACE)
    missed = [r for r in ledger(app, "term_start") if r.recipient != "*"]
    assert report == QueueReport(missed=len(missed), failed=2, occurrences=4)
    red, east = school_id(app, RED), school_id(app, EAST)
    assert engine_logs(caplog, logging.ERROR) == [
        f"reminder never_returned|s{red}|2027-02-22/3|* failed; it is retried at the next run",
        f"reminder never_returned|s{east}|2027-02-22/3|* failed; it is retried at the next run",
    ]
    assert all(
        "RuntimeError: attendance store unavailable" in (r.exc_text or "")
        for r in caplog.records
        if r.name == ENGINE_LOG and r.levelno == logging.ERROR
    )
    assert ledger(app, "never_returned") == []

    monkeypatch.undo()  # the attendance domain works again
    again = queue_due(app.session_factory, local(2027, 2, 25, 12, 6), GRACE)
    assert again == QueueReport(occurrences=2)  # nobody has roll-calls yet, so nobody is listed
    assert {r.key: r.status for r in ledger(app, "never_returned")} == {
        f"never_returned|s{red}|2027-02-22/3|*": ReminderStatus.DONE,
        f"never_returned|s{east}|2027-02-22/3|*": ReminderStatus.DONE,
    }


# --- the day's plan ----------------------------------------------------------------------------------


def test_plan_day_keeps_only_the_named_school_or_region(app: App) -> None:
    east = school_id(app, EAST)
    day = date(2027, 1, 13)

    def planned(**filters: str) -> list[tuple[str, str]]:
        with app.session_factory() as s:
            return [(o.rule, school.name) for o, school, _p, _used in plan_day(s, day, **filters)]

    assert planned() == [("vacation", RED), ("vacation", EAST)]
    assert planned(school_ref=RED) == [("vacation", RED)]
    assert planned(school_ref=str(east)) == [("vacation", EAST)]
    # 东乡 moves to a region of its own, whose calendar has no winter vacation.
    move_to_new_region(app, EAST, "other-county")
    assert planned(region_code="linxia-demo") == [("vacation", RED)]
    assert planned(region_code="other-county") == []


# --- the aid line ------------------------------------------------------------------------------------


def parent_message(app: App, day: date, school: str, locale: str = "zh_Hans") -> str:
    """The demo parent's term-start reminder of `day` for their child at `school`, as planned."""
    with app.session_factory() as s:
        parent = s.scalars(select(Person.id).where(Person.name == "王建国")).one()
        for occurrence, found, planned, _used in plan_day(s, day):
            if found.name == school and occurrence.rule == "term_start":
                assert planned is not None
                (item,) = [p for p in planned if p.person_id == parent]
                with use_locale(locale):
                    return item.render().text
    raise AssertionError(f"no term-start reminder for {school} on {day}")


def first_pupil(app: App, school: str) -> str:
    return pupil_name(app, first_class_pupils(app, school)[0])


def test_aid_line_names_what_the_region_pack_opens_for_the_school_stage(app: App) -> None:
    # Autumn 2020: the Linxia pack is in force and opens only the boarders' allowance to primary schools
    # in September (the national fallback would list three items, all stages six).
    demo_region_term(app, date(2020, 9, 1), date(2021, 1, 15))
    child = first_pupil(app, RED)
    assert parent_message(app, date(2020, 8, 25), RED) == (
        f"📅 还有 7 天开学：{child} 请于 9月1日 周二 回到红星小学上学。\n"
        "请带好：书包、课本和假期作业、文具。\n"
        "本学期开始受理的学生资助：家庭经济困难寄宿生生活补助。发送 /aid 查看孩子能享受哪些资助。"
    )
    assert parent_message(app, date(2020, 8, 25), RED, "en").endswith(
        "\nStudent aid opening this term: Living allowance for boarders from families in difficulty. "
        "Send /aid to see what your child can get."
    )


def test_an_unusable_aid_pack_is_logged_and_the_generic_line_used(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # A copy of the packs with a broken Linxia file, read by the real loader.
    packs = tmp_path / "packs"
    shutil.copytree(aid_pack.PACK_DIR, packs)
    (packs / "linxia-2019.yaml").write_text("id: linxia-2019\nitems: [1]\n", encoding="utf-8")
    monkeypatch.setattr(aid_pack.pack_for, "__defaults__", (packs,))
    assert parent_message(app, date(2027, 2, 15), RED).endswith("\n" + GENERIC_AID)
    records = [r for r in caplog.records if r.name == PLANNERS_LOG]
    assert [r.getMessage() for r in records] == [
        "aid pack linxia-2019 unusable; term-start reminders use the generic aid line"
    ] * 2  # once per school
    assert all(r.levelno == logging.ERROR and "PackError" in (r.exc_text or "") for r in records)


# --- what the attendance domain returns --------------------------------------------------------------


def test_home_visit_items_carry_the_attendance_domains_reasons(app: App) -> None:
    with transaction(app.session_factory) as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.grade == 3)).one()
        pupils = sorted(klass.students, key=lambda p: p.student_no)
        for pupil in pupils:
            pupil.household = []
        poor, orphan, gone, last = pupils[0], pupils[1], pupils[2], pupils[-1]
        poor.household = ["registered_poor", "orphan"]
        orphan.household = ["orphan"]  # not a reason for a visit
        gone.household, gone.active = ["registered_poor"], False  # left the school
        last.household, last.student_no = ["registered_poor"], "030100"  # renumbered: now first on the roll
        names = (poor.name, last.name)
    with app.session_factory() as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.grade == 3)).one()
        items = home_visit_items(s, klass, date(2027, 1, 13))
    assert items == [
        VisitItem(names[1], 3, "1班", ("registered_poor",)),
        VisitItem(names[0], 3, "1班", ("registered_poor",)),
    ]


def test_the_winter_notice_names_the_parents_school_first_day_off_and_return(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.parent)
    queue_due(app.session_factory, local(2027, 1, 13, 16, 5), GRACE)
    with app.session_factory() as s:
        children = "、".join(
            s.scalars(
                select(Student.name)
                .join(Guardian, Guardian.student_id == Student.id)
                .where(Guardian.person_id == demo.parent, Student.school_id == school_id(app, RED))
                .order_by(Student.id)
            )
        )
    (text,) = [t for t in texts(app, demo.parent, "reminder.vacation") if RED in t]
    assert text.splitlines()[0] == f"❄️ {RED} 1月16日 周六 开始放寒假。"
    assert text.splitlines()[-1] == f"2月22日 周一 开学，请务必让 {children} 按时返校。"


def test_ledger_keys_are_inserted_and_found_past_several_chunks(app: App) -> None:
    now = local(2026, 11, 23, 8)
    keys = [f"test|s1|2027-01-16/3|p{n}" for n in range(2_501)]
    with transaction(app.session_factory) as s:
        rows = [
            ledger_row(k, "vacation", "2027-01-16/3", k[-6:], ReminderStatus.QUEUED, now, now) for k in keys
        ]
        assert insert_keys(s, rows) == set(keys)
        assert insert_keys(s, rows[:10]) == set()  # already there: nothing inserted twice
    with app.session_factory() as s:
        assert existing_keys(s, [*keys, "test|missing"]) == set(keys)


def test_a_term_that_ended_long_ago_does_not_hide_a_later_terms_never_returned_check() -> None:
    school = SimpleNamespace(id=1, tz="Asia/Shanghai")
    terms = [
        Period(CalendarKind.TERM, "autumn", date(2026, 9, 1), date(2027, 1, 15)),
        Period(CalendarKind.TERM, "spring", date(2027, 2, 22), date(2027, 7, 9)),
        # A short term: its check day is within 60 days of its end.
        Period(CalendarKind.TERM, "autumn", date(2027, 9, 1), date(2027, 10, 15)),
    ]
    calendar = SchoolCalendar(school_id=1, region_id=1, terms=terms)
    rules = {name: RuleConfig(enabled=(name == NEVER_RETURNED)) for name in DEFAULT_RULES}
    rules[NEVER_RETURNED] = DEFAULT_RULES[NEVER_RETURNED]
    found = occurrences_between(school, calendar, rules, date(2027, 9, 1), date(2027, 9, 30))  # type: ignore[arg-type]
    assert [(o.rule, o.kind, o.anchor, o.due_day) for o in found] == [
        (NEVER_RETURNED, "autumn", date(2027, 9, 1), date(2027, 9, 6))
    ]
