"""Each reminder rule on its day, to the right people, in their language; dry run and queueing."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.calendar.reminder_rules import DEFAULT_RULES, RuleError, parse_overrides, rules_for
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import main
from chatbot.reminders import recipients
from chatbot.reminders.engine import queue_due
from db.models import Person, Region, Student
from db.models.calendar import CalendarEntry, CalendarKind, ReminderStatus
from db.session import transaction
from tests.reminders.conftest import first_class_pupils, ledger, local, outbox

GRACE = timedelta(hours=6)


def texts(replies) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(r.text for r in replies)


@pytest.fixture
def absent_pupil(monkeypatch: pytest.MonkeyPatch, app: App):  # type: ignore[no-untyped-def]
    """never_returned reports the second pupil of each first class (roll-call data is tested elsewhere)."""
    pupils = first_class_pupils(app)

    def fake(session, class_id, since, today):  # type: ignore[no-untyped-def]
        return [
            s
            for s in session.scalars(select(Student).where(Student.class_id == class_id))
            if s.id == pupils[1]
        ]

    monkeypatch.setattr(recipients, "never_returned", fake)
    return pupils[1]


CASES = [
    # rule, due (Shanghai), parent snippets, teacher snippets, principal snippets
    ("vacation", local(2027, 1, 13, 16, 0), ["寒假", "煤气中毒", "2月22日"], ["寒假前家访"], []),
    ("spring_festival", local(2027, 2, 2, 18, 30), ["春节", "烟花爆竹", "2月22日"], ["春节前家访"], []),
    ("term_start", local(2027, 2, 15, 18, 30), ["还有 7 天开学", "2月22日", "课本"], ["核查"], []),
    ("term_start", local(2027, 2, 21, 18, 30), ["还有 1 天开学"], ["核查"], []),
    ("never_returned", local(2027, 2, 25, 12, 0), [], ["没有任何出勤记录"], ["没有任何出勤记录"]),
    ("vacation", local(2027, 7, 7, 16, 0), ["暑假", "溺水", "9月1日"], ["暑假前家访"], []),
]


def test_each_rule_fires_on_its_day_and_not_before(
    app: App, console: ConsoleChannel, bound, absent_pupil
) -> None:  # type: ignore[no-untyped-def]
    # The demo only has this school year: add next autumn so the summer notice has a return date.
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region)).one()
        s.add(
            CalendarEntry(
                region_id=region.id,
                kind=CalendarKind.TERM,
                name="autumn",
                first_day=date(2027, 9, 1),
                last_day=date(2028, 1, 14),
                created_at=local(2027, 1, 1),
            )
        )
    for rule, due, parent, teacher, principal in CASES:
        queue_due(app.session_factory, due - timedelta(minutes=1), GRACE)
        assert not [r for r in ledger(app, rule) if r.due_at == due], (rule, due, "too early")
        report = queue_due(app.session_factory, due + timedelta(minutes=1), GRACE)
        assert report.queued > 0 and report.missed == 0, (rule, due, report)
        moment = due + timedelta(minutes=2)
        for person_id, snippets in (
            (bound.parent, parent),
            (bound.teacher, teacher),
            (bound.principal, principal),
        ):
            got = texts(console.pushed(person_id, now=moment))
            for snippet in snippets:
                assert snippet in got, (rule, due, person_id, snippet, got)
            if not snippets:
                assert got == "", (rule, due, person_id, got)
        assert queue_due(app.session_factory, due + timedelta(minutes=30), GRACE).queued == 0, (rule, due)


def test_home_visit_list_names_registered_poor_pupils(app: App, console: ConsoleChannel, bound) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        poor = [
            s.get(Student, pid)
            for pid in first_class_pupils(app)
            if "registered_poor" in (s.get(Student, pid).household or [])  # type: ignore[union-attr]
        ]
    assert poor, "the demo class has registered-poor pupils"
    queue_due(app.session_factory, local(2027, 1, 13, 16, 5), GRACE)
    got = texts(console.pushed(bound.teacher, now=local(2027, 1, 13, 16, 6)))
    for pupil in poor:
        assert pupil is not None and pupil.name in got
    assert "建档立卡贫困户" in got


def test_teacher_gets_it_in_english(app: App, console: ConsoleChannel, bound) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        s.execute(update(Person).where(Person.id == bound.teacher).values(locale="en"))
    queue_due(app.session_factory, local(2027, 2, 15, 18, 31), GRACE)
    got = texts(console.pushed(bound.teacher, now=local(2027, 2, 15, 18, 32)))
    assert "The new term starts on Mon, Feb 22" in got


def test_region_rules_are_data(app: App, console: ConsoleChannel, bound) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region)).one()
        region.settings = {
            "reminders": {
                "spring_festival": {"enabled": False},
                "term_start": {"days_before": [10], "at": "21:30:00"},
            }
        }
    queue_due(app.session_factory, local(2027, 2, 2, 19, 0), GRACE)
    assert not ledger(app, "spring_festival")
    queue_due(app.session_factory, local(2027, 2, 12, 21, 31), GRACE)
    rows = outbox(app, bound.parent)
    assert rows and all(r.kind == "reminder.term_start" for r in rows)
    # 21:30 is in quiet hours: the outbox holds it until 07:00 the next morning.
    assert {r.not_before for r in rows} == {local(2027, 2, 13, 7, 0)}


def test_aid_line_comes_from_the_aid_pack_when_relevant(app: App, console: ConsoleChannel, bound) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        from db.models.calendar import CalendarEntry, CalendarKind

        region = s.scalars(select(Region)).one()
        s.add(
            CalendarEntry(
                region_id=region.id,
                kind=CalendarKind.TERM,
                name="autumn",
                first_day=date(2027, 9, 1),
                last_day=date(2028, 1, 14),
                created_at=local(2027, 1, 1),
            )
        )
    queue_due(app.session_factory, local(2027, 8, 25, 18, 31), GRACE)
    september = texts(console.pushed(bound.parent, now=local(2027, 8, 25, 18, 32)))
    queue_due(app.session_factory, local(2027, 2, 15, 18, 31), GRACE)
    february = texts(console.pushed(bound.parent, now=local(2027, 2, 15, 18, 32)))
    assert "/aid" in september and "学生资助" in september
    assert "/aid" not in february  # nothing in the pack opens in February


def test_remind_cli_dry_run_lists_then_queues_once(  # type: ignore[no-untyped-def]
    app: App, bound, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert main(["remind", "--date", "2027-01-13", "--dry-run"], clock=app.clock) == 0
    out = capsys.readouterr().out
    assert f"person:{bound.parent} (parent)" in out and f"person:{bound.teacher} (class_teacher)" in out
    assert "home-visit list before winter" in out and "将排队" in out
    assert outbox(app) == [] and ledger(app) == []
    assert main(["remind", "--date", "2027-01-13"], clock=app.clock) == 0
    first = len(outbox(app))
    assert first >= 3
    assert main(["remind", "--date", "2027-01-13"], clock=app.clock) == 0
    assert len(outbox(app)) == first
    assert "已排队 0 条提醒" in capsys.readouterr().out
    assert main(["remind", "--date", "2027-13-01"], clock=app.clock) == 2


def test_missed_outside_the_grace_window_is_recorded_not_sent(app: App, bound) -> None:  # type: ignore[no-untyped-def]
    due = local(2027, 2, 15, 18, 30)
    report = queue_due(app.session_factory, due + timedelta(hours=7), GRACE)
    assert report.queued == 0 and report.missed > 0
    assert outbox(app) == []
    assert {r.status for r in ledger(app, "term_start")} == {ReminderStatus.MISSED}
    assert queue_due(app.session_factory, due + timedelta(hours=8), GRACE).queued == 0


def test_catch_up_within_the_grace_window_after_downtime(app: App, bound) -> None:  # type: ignore[no-untyped-def]
    due = local(2027, 2, 15, 18, 30)
    report = queue_due(app.session_factory, due + timedelta(hours=5), GRACE)
    assert report.queued > 0 and report.missed == 0
    assert len(outbox(app, bound.parent)) == 2  # one per school of the demo parent's two children


def test_overrides_are_merged_with_the_defaults_into_their_stored_form() -> None:
    assert parse_overrides(None) == {}
    assert parse_overrides(
        {"term_start": {"days_before": [1, 7, 7], "at": "19:00"}, "spring_festival": {"enabled": False}}
    ) == {
        "term_start": {
            "enabled": True,
            "days_before": [7, 1],
            "at": "19:00:00",
            "school_days_after": 3,
            "minutes_before_cutoff": 30,
        },
        "spring_festival": {
            "enabled": False,
            "days_before": [3],
            "at": "18:30:00",
            "school_days_after": 3,
            "minutes_before_cutoff": 30,
        },
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([7, 1], "reminders: must be a mapping of rule name to settings"),
        (
            {"holidays": {}},
            "reminders: unknown rule 'holidays'; known: term_start, vacation, spring_festival, "
            "never_returned, rollcall_nudge",
        ),
        ({"term_start": [7, 1]}, "reminders.term_start: must be a mapping"),
        (
            {"term_start": {"days_before": [99]}},
            "reminders.term_start.days_before: Value error, days_before must be between 0 and 60",
        ),
        (
            {"term_start": {"days_before": ["x"]}},
            "reminders.term_start.days_before.0: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            # Two mistakes: the first field in the rule's order is named.
            {"rollcall_nudge": {"minutes_before_cutoff": 1, "at": "x"}},
            "reminders.rollcall_nudge.at: Input should be in a valid time format, input is too short",
        ),
    ],
)
def test_a_bad_override_names_the_rule_and_the_field(raw: object, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_overrides(raw)
    assert str(caught.value) == message


def test_a_region_keeps_only_known_rules_and_a_bad_stored_value_spoils_no_other_rule() -> None:
    region = Region(
        code="hand-edited",
        name="hand-edited",
        timezone="Asia/Shanghai",
        settings={
            "reminders": {
                "holiday": {"days_before": [1]},  # no such rule: ignored, not added
                "spring_festival": {"days_before": "soon"},  # bad: keeps the default
                "vacation": {"days_before": [5], "at": "09:00:00"},  # after a bad one, still applied
                "term_start": "off",  # not a table: keeps the default
            }
        },
    )
    rules = rules_for(region)
    assert list(rules) == list(DEFAULT_RULES)
    assert rules["spring_festival"] == DEFAULT_RULES["spring_festival"]
    assert rules["term_start"] == DEFAULT_RULES["term_start"]
    assert rules["vacation"].days_before == (5,) and rules["vacation"].at == time(9, 0)
