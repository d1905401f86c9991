"""The authorization matrix: every role × every action with a chat entry or button × a target outside
the role's scope. Each must be denied — nothing written, nothing about the target shown — in chat
(forged button payloads included) and in the CLI commands that act as a person.

Targets: a parent on another family's child, a class teacher on another class, a principal on another
school, a county admin on another region, and an unbound user on anything.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import build_parser
from db.models import AuditLog, ChannelIdentity, DialogState, School, SchoolClass, Student
from db.session import transaction
from tests.attendance.helpers import MONDAY
from tests.reliability.world import Pupil, add_other_region, equip

# Tables an allowed action would change; a denied one must leave them exactly as they were.
GUARDED_TABLES = (
    "roll_call",
    "attendance_record",
    "leave_request",
    "dropout_case",
    "case_event",
    "broadcast",
    "broadcast_recipient",
    "outbox",
    "guardian",
    "membership",
    "student",
    "enrolment_change",
)
# The audit log may record what a role did in its own scope; it must never name the outside target.
# Which target fields lie outside each role's scope (a parent shares class, school and region).
OUTSIDE = {
    "parent": (("student", "s"),),
    "guest": (("student", "s"), ("class", "c"), ("school", "sc"), ("region", "r")),
    "teacher": (("student", "s"), ("class", "c")),
    "principal": (("student", "s"), ("class", "c"), ("school", "sc")),
    "admin": (("student", "s"), ("class", "c"), ("school", "sc"), ("region", "r")),
}
# Keys under which a flow keeps what it was told to act on, and which target fields they may hold.
TARGET_KEYS = {
    "student_id": ("s",),
    "student": ("s",),
    "child": ("s",),
    "class_id": ("c",),
    "scope_id": ("c", "sc", "r"),
}

# (action, steps): "/x" and other text is typed, "!payload" is a pressed (possibly forged) button,
# "=text" is a setup step the role may do in its own scope (the check starts after it).
ACTIONS: list[tuple[str, list[str]]] = [
    ("rollcall pick class", ["/rollcall", "!rck:{c}", "!rcs:{c}"]),
    ("rollcall tap pupil", ["/rollcall", "!rct:{c}:{s}", "!rcs:{c}"]),
    ("rollcall page", ["/rollcall", "!rcp:{c}:0"]),
    ("rollcall submit", ["/rollcall", "!rcs:{c}"]),
    ("quick mark class", ["=缺 1", "!rcq:{c}", "!rcw:{c}:{s}"]),
    ("quick mark pupil", ["=缺 1", "!rcw:{c}:{s}"]),
    ("leave for child", ["/leave", "!lvk:{s}", "!lvs:today", "!lvt:sick", "!lvn:1"]),
    ("leave approve", ["!lva:{L}:1"]),
    ("leave reject", ["!lva:{L}:0", "请先到校说明"]),
    ("absence answer sick", ["!aba:{R}:sick"]),
    ("absence answer on the way", ["!aba:{R}:on_the_way"]),
    ("contact guardian", ["!abc:{s}:{g}"]),
    ("case open", ["!cso:{K}"]),
    ("case contacted", ["!csa:{K}:contacted"]),
    ("case returned", ["!csa:{K}:returned"]),
    ("case dropout reported", ["!csa:{K}:dropout_reported"]),
    ("case not dropout", ["!csr:{K}:missing"]),
    ("report school", ["/report", "!rps:school:{sc}", "!rpp:7"]),
    ("report region", ["/report", "!rps:region:{r}", "!rpp:7"]),
    ("notice to class", ["/notice", "!ntcs:class:{c}:0"]),
    ("notice to grade", ["/notice", "!ntcs:grade:{sc}:3"]),
    ("notice to school", ["/notice", "!ntcs:school:{sc}:0"]),
    ("notice to region", ["/notice", "!ntcs:region:{r}:0"]),
    ("notice status", ["!bcst:{B}"]),
    ("notice remind", ["!bcrem:{B}"]),
    ("notice cancel", ["!bccan:{B}"]),
    ("notice ack (not a recipient)", ["!bcack:{B}"]),
    ("aid for child", ["/aid", "!aidk:{s}"]),
    ("pupil status pick", ["/status", "!stp:{s}", "!sts:{s}:suspended"]),
    ("pupil status set", ["!sts:{s}:transferred"]),
]

# CLI commands that act as a person ({who} is the acting person id).
CLI_ACTIONS: list[tuple[str, list[str]]] = [
    ("cli broadcast class", ["broadcast", "--as", "{who}", "--to", "class:{c}/both", "--text", "x"]),
    ("cli broadcast school", ["broadcast", "--as", "{who}", "--to", "school:{sc}/parents", "--text", "x"]),
    ("cli broadcast region", ["broadcast", "--as", "{who}", "--to", "region:{r}/parents", "--text", "x"]),
    ("cli notices show", ["notices", "--as", "{who}", "--show", "{B}"]),
    ("cli notices remind", ["notices", "--as", "{who}", "--remind", "{B}"]),
    ("cli notices cancel", ["notices", "--as", "{who}", "--cancel", "{B}"]),
]

ROLES = ("parent", "teacher", "principal", "admin", "guest")


def _fingerprint(app: App) -> dict[str, str]:
    with app.session_factory() as s:
        return {
            table: json.dumps(
                [list(map(str, row)) for row in s.execute(text(f"SELECT * FROM {table} ORDER BY 1"))],
                ensure_ascii=False,
            )
            for table in GUARDED_TABLES
        }


def _audited(app: App, after_id: int, role: str, fields: dict[str, Any]) -> list[str]:
    names = [re.compile(rf"\b{kind}:{fields[key]}(?!\d)") for kind, key in OUTSIDE[role]]
    with app.session_factory() as s:
        rows = s.execute(select(AuditLog.action, AuditLog.target).where(AuditLog.id > after_id)).all()
    return [f"{action} {target}" for action, target in rows if any(p.search(target or "") for p in names)]


def _last_audit(app: App) -> int:
    with app.session_factory() as s:
        return int(s.scalar(select(func.max(AuditLog.id))) or 0)


def _targets_in(data: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in TARGET_KEYS and value not in (None, "", 0):
                found.append((key, value))
            found.extend(_targets_in(value))
    elif isinstance(data, list):
        for value in data:
            found.extend(_targets_in(value))
    return found


class World:
    def __init__(self, app: App, demo: Any, now: datetime) -> None:
        with transaction(app.session_factory) as s:
            teacher_class = s.scalars(
                select(SchoolClass).where(SchoolClass.class_teacher_id == demo.teacher)
            ).one()
            schools = list(s.scalars(select(School).order_by(School.id)))
            demo_school, other_school = schools[0], schools[1]

            def first_pupil(class_query: Any) -> int:
                klass = s.scalars(class_query.order_by(SchoolClass.grade, SchoolClass.id)).first()
                return int(
                    s.scalars(
                        select(Student.id).where(Student.class_id == klass.id).order_by(Student.student_no)
                    ).first()
                )

            classmates = list(
                s.scalars(
                    select(Student.id)
                    .where(Student.class_id == teacher_class.id)
                    .order_by(Student.student_no)
                )
            )
            other_family = classmates[1]  # pupil 1 is the demo parent's own child
            other_class = first_pupil(
                select(SchoolClass).where(
                    SchoolClass.school_id == demo_school.id, SchoolClass.id != teacher_class.id
                )
            )
            other_school_pupil = first_pupil(
                select(SchoolClass).where(SchoolClass.school_id == other_school.id)
            )
            other_region_pupil = add_other_region(s, now)
            self.pupils: dict[str, Pupil] = {
                "parent": equip(s, other_family, MONDAY, now),
                "teacher": equip(s, other_class, MONDAY, now),
                "principal": equip(s, other_school_pupil, MONDAY, now),
                "admin": equip(s, other_region_pupil, MONDAY, now),
            }
            self.pupils["guest"] = self.pupils["parent"]


@pytest.fixture
def world(app: App, demo: Any, now: datetime) -> World:
    return World(app, demo, now)


def _fields(pupil: Pupil, who: int | str) -> dict[str, Any]:
    return {
        "s": pupil.student_id,
        "c": pupil.class_id,
        "sc": pupil.school_id,
        "r": pupil.region_id,
        "L": pupil.leave_id,
        "R": pupil.record_id,
        "K": pupil.case_id,
        "B": pupil.broadcast_id,
        "g": pupil.guardian_id,
        "who": who,
    }


def _dialog_targets(app: App, who: int | str) -> list[Any]:
    external = who if isinstance(who, str) else f"person-{who}"
    with app.session_factory() as s:
        dialog = s.scalars(
            select(DialogState)
            .join(ChannelIdentity, ChannelIdentity.id == DialogState.identity_id)
            .where(ChannelIdentity.channel == "console", ChannelIdentity.external_id == external)
        ).first()
        return _targets_in(dialog.data) if dialog is not None else []


def _reset_dialog(console: ConsoleChannel, who: int | str) -> None:
    console.send(who, "/cancel")


@pytest.mark.parametrize("role", ROLES)
def test_every_action_outside_the_scope_is_denied(
    role: str, app: App, console: ConsoleChannel, demo: Any, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    who: int | str = "matrix-guest" if role == "guest" else demo.ids[role]
    pupil = world.pupils[role]
    fields = _fields(pupil, who)
    failures: list[str] = []
    denied = 0
    before = _fingerprint(app)
    audit_mark = _last_audit(app)
    for action, steps in ACTIONS:
        _reset_dialog(console, who)
        shown: list[str] = []
        for step in steps:
            value = step.format(**fields)
            if value.startswith("="):
                console.send(who, value[1:])
                before = _fingerprint(app)
                continue
            replies = (
                console.send(who, payload=value[1:]) if value.startswith("!") else console.send(who, value)
            )
            shown.extend(r.text + " " + " ".join(b.label for b in r.flat_buttons()) for r in replies)
            if not replies:
                failures.append(f"{action}: no reply to {value}")
        after = _fingerprint(app)
        changed = [table for table in GUARDED_TABLES if after[table] != before[table]]
        leaked = [x for x in (pupil.name, pupil.guardian_phone) if x and any(x in line for line in shown)]
        kept = [
            (k, v) for k, v in _dialog_targets(app, who) if str(v) in {str(fields[f]) for f in TARGET_KEYS[k]}
        ]
        audited = _audited(app, audit_mark, role, fields)
        if changed or leaked or kept or audited:
            failures.append(
                f"{role} / {action}: changed {changed}, shown {leaked}, kept {kept}, audit {audited}"
            )
            before = after
            audit_mark = _last_audit(app)
        else:
            denied += 1
    with capsys.disabled():
        print(f"\nauthz matrix chat {role}: denied {denied}/{len(ACTIONS)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_cli_as_a_person_outside_the_scope_is_refused(
    role: str, app: App, demo: Any, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    if role == "guest":
        # An unbound user has no person to act as: the CLI refuses unknown people.
        who: int | str = 99999999
    else:
        who = demo.ids[role]
    pupil = world.pupils[role]
    fields = _fields(pupil, who)
    parser = build_parser()
    failures: list[str] = []
    denied = 0
    for action, argv in CLI_ACTIONS:
        before = _fingerprint(app)
        args = parser.parse_args([part.format(**fields) for part in argv])
        code = args.handler(args, app)
        out = capsys.readouterr()
        changed = [t for t, v in _fingerprint(app).items() if v != before[t]]
        leaked = pupil.name in out.out + out.err
        if code != 2 or changed or leaked:
            failures.append(
                f"{role} / {action}: exit {code}, changed {changed}, leaked {leaked}: {out.err[:200]}"
            )
        else:
            denied += 1
    with capsys.disabled():
        print(f"\nauthz matrix cli {role}: denied {denied}/{len(CLI_ACTIONS)}")
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_button_prefix() -> None:
    """A new button prefix must get a row here (or be listed as one that names no target)."""
    from chatbot.core.domains import default_registry
    from chatbot.core.payloads import Payload

    registry = default_registry()
    prefixes = set(Payload.registry) | set(registry.actions)
    covered = {step[1:].split(":", 1)[0] for _a, steps in ACTIONS for step in steps if step.startswith("!")}
    # These name no person, class, school or region: a language, a yes/no, a leave span, a notice's
    # own one-time key, aid facts, or a page of the caller's own report.
    targetless = {
        "lang",
        "fgt",
        "lvs",
        "lvt",
        "lvn",
        "ntc",
        "ntcgo",
        "aids",
        "aidf",
        "aidh",
        "aidd",
        "aidc",
        "rpp",
    }
    assert prefixes - covered - targetless == set()


# The detector must be able to fail: the same rows, pointed inside the role's own scope, do something.
IN_SCOPE = [
    ("teacher", "leave approve"),
    ("teacher", "case contacted"),
    ("teacher", "rollcall submit"),
    ("principal", "case returned"),
    ("admin", "case not dropout"),
    ("teacher", "notice cancel"),
    ("admin", "notice cancel"),
    ("principal", "report school"),
    ("parent", "absence answer sick"),
]


@pytest.mark.parametrize(("role", "action"), IN_SCOPE)
def test_the_same_actions_inside_the_scope_take_effect(
    role: str, action: str, app: App, console: ConsoleChannel, demo: Any, now: datetime
) -> None:
    with transaction(app.session_factory) as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.class_teacher_id == demo.teacher)).one()
        own = s.scalars(
            select(Student.id).where(Student.class_id == klass.id).order_by(Student.student_no)
        ).first()
        pupil = equip(s, int(own), MONDAY, now)  # the demo parent's own child, in the demo teacher's class
    fields = _fields(pupil, demo.ids[role])
    before = _fingerprint(app)
    audit_mark = _last_audit(app)
    for step in dict(ACTIONS)[action]:
        value = step.format(**fields)
        if value.startswith("!"):
            console.send(demo.ids[role], payload=value[1:])
        else:
            console.send(demo.ids[role], value.lstrip("="))
    assert _fingerprint(app) != before or _last_audit(app) > audit_mark


# --- the same forged presses through the real Telegram path (PTB parsing a callback query) ---------

TELEGRAM_FORGED = [
    "lva:{L}:1",
    "aba:{R}:sick",
    "abc:{s}:{g}",
    "csa:{K}:returned",
    "csr:{K}:missing",
    "bccan:{B}",
]


async def test_forged_telegram_button_presses_are_denied(
    app: App, demo: Any, world: World, now: datetime
) -> None:
    from tests.channels.telegram.conftest import start_bot, telegram_app
    from tests.channels.telegram.fake_bot_api import FakeBotApi

    fake = FakeBotApi()
    await fake.start()
    chat = 880001
    with transaction(app.session_factory) as s:
        s.add(
            ChannelIdentity(
                channel="telegram",
                external_id=str(chat),
                person_id=demo.teacher,
                active=True,
                failed_codes=0,
                last_buttons=[],
                created_at=now,
            )
        )
    pupil = world.pupils["teacher"]
    fields = _fields(pupil, demo.teacher)
    before = _fingerprint(app)
    running = await start_bot(telegram_app(app, fake), fake, now)
    try:
        for number, template in enumerate(TELEGRAM_FORGED, start=1):
            fake.inject_callback(chat, template.format(**fields))
            await fake.wait_for(lambda n=number: len(fake.called("answerCallbackQuery")) >= n, timeout=30)
    finally:
        await running.shutdown()
        await fake.stop()
    assert _fingerprint(app) == before
    shown = " ".join(call.text for call in fake.sent(chat, methods=("sendMessage", "editMessageText")))
    assert "权限" in shown  # each press was answered with the refusal
    assert pupil.name not in shown and pupil.guardian_phone not in shown
