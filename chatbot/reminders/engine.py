"""Which reminders are due, to whom, and queueing each exactly once.

Every reminder has a key `rule|s<school>|<anchor>/<offset>|p<person>` in the ReminderSent ledger,
inserted with ON CONFLICT DO NOTHING in the same transaction as its outbox rows: whoever inserts
the key queues the message, everyone else (a second scheduler, a restart, a re-run) skips it.
A marker key ending in `|*` records that an occurrence was handled, so later runs skip it cheaply.
Reminders due more than the grace window ago are recorded as missed instead of being sent late.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, sessionmaker

from chatbot.calendar.official import spring_festival_eve
from chatbot.calendar.service import SchoolCalendar, load_calendars
from chatbot.core.messages import Reply
from chatbot.delivery.outbox import QUIET_END, QUIET_START, OutboxItem, enqueue_many
from chatbot.reminders import deps, messages
from chatbot.reminders.rules import (
    NEVER_RETURNED,
    SPRING_FESTIVAL,
    TERM_START,
    VACATION,
    RuleConfig,
    rules_for,
)
from db.models import (
    Guardian,
    Membership,
    Priority,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Student,
)
from db.models.calendar import ReminderSent, ReminderStatus

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_DAYS = 10
CHUNK = 500
POOR_FLAGS = ("registered_poor", "dibao", "tekun")


class MissingDependency(Exception):
    """Another domain's function this rule needs has not landed; the occurrence waits for it."""


@dataclass(frozen=True)
class Occurrence:
    rule: str
    kind: str  # term name, vacation name (winter/summer), or spring_festival
    school_id: int
    anchor: date  # term start, vacation start or 除夕
    offset: int  # days before the anchor, or school days after it (never_returned)
    due_at: datetime
    due_day: date

    @property
    def ident(self) -> str:
        return f"{self.anchor.isoformat()}/{self.offset}"

    def key(self, recipient: str) -> str:
        return f"{self.rule}|s{self.school_id}|{self.ident}|{recipient}"

    @property
    def marker(self) -> str:
        return self.key("*")


@dataclass
class Planned:
    occurrence: Occurrence
    person_id: int
    role: str  # parent, class_teacher, principal
    reason: str  # for the operator (English, no names)
    render: Callable[[], Reply]

    @property
    def key(self) -> str:
        return self.occurrence.key(f"p{self.person_id}")


@dataclass
class QueueReport:
    queued: int = 0
    missed: int = 0
    skipped: int = 0
    waiting: int = 0
    failed: int = 0
    occurrences: int = 0


def _local_moment(day: date, at: time, tz: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz))


# --- occurrences ----------------------------------------------------------------------------------


def occurrences_between(
    school: School, calendar: SchoolCalendar, rules: dict[str, RuleConfig], first: date, last: date
) -> list[Occurrence]:
    """Every reminder occurrence of `school` whose local due day lies in [first, last]."""
    tz = school.tz
    found: list[Occurrence] = []

    def add(rule: str, kind: str, anchor: date, offset: int, due_day: date) -> None:
        if first <= due_day <= last:
            due_at = _local_moment(due_day, rules[rule].at, tz)
            found.append(Occurrence(rule, kind, school.id, anchor, offset, due_at, due_day))

    if rules[TERM_START].enabled:
        for term in calendar.terms:
            for days in rules[TERM_START].days_before:
                add(TERM_START, term.name, term.first, days, term.first - timedelta(days=days))
    if rules[VACATION].enabled:
        for vacation in calendar.vacations:
            for days in rules[VACATION].days_before:
                add(VACATION, vacation.name, vacation.first, days, vacation.first - timedelta(days=days))
    if rules[SPRING_FESTIVAL].enabled:
        for year in range(first.year, last.year + 2):
            eve = spring_festival_eve(year)
            for days in rules[SPRING_FESTIVAL].days_before:
                add(SPRING_FESTIVAL, SPRING_FESTIVAL, eve, days, eve - timedelta(days=days))
    if rules[NEVER_RETURNED].enabled:
        n = rules[NEVER_RETURNED].school_days_after
        for term in calendar.terms:
            if term.last < first - timedelta(days=60) or term.first > last:
                continue
            check_day = calendar.nth_school_day(term.first, n)
            if check_day is not None:
                add(NEVER_RETURNED, term.name, term.first, n, check_day)
    found.sort(key=lambda o: (o.due_at, o.rule))
    return found


# --- recipients -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Child:
    name: str
    boarding: bool


def _parents(session: Session, school: School) -> dict[int, list[_Child]]:
    rows = session.execute(
        select(Guardian.person_id, Student.name, Student.boarding)
        .join(Student, Student.id == Guardian.student_id)
        .where(Student.school_id == school.id, Student.active.is_(True))
        .order_by(Guardian.person_id, Student.id)
    )
    parents: dict[int, list[_Child]] = defaultdict(list)
    for person_id, name, boarding in rows:
        parents[person_id].append(_Child(name, bool(boarding)))
    return parents


def _classes(session: Session, school: School) -> list[SchoolClass]:
    return list(
        session.scalars(
            select(SchoolClass)
            .where(SchoolClass.school_id == school.id, SchoolClass.class_teacher_id.is_not(None))
            .order_by(SchoolClass.grade, SchoolClass.name)
        )
    )


def _principals(session: Session, school: School) -> list[int]:
    return list(
        session.scalars(
            select(Membership.person_id).where(
                Membership.role == Role.PRINCIPAL,
                Membership.scope_type == ScopeType.SCHOOL,
                Membership.scope_id == school.id,
            )
        )
    )


def _as_item(session: Session, raw: Any, klass: SchoolClass) -> messages.VisitItem | None:
    """Accept what the attendance domain returns: students, ids, or rows with a student and reasons."""
    student: Student | None = None
    reasons: Any = ()
    if isinstance(raw, Student):
        student = raw
    elif isinstance(raw, int):
        student = session.get(Student, raw)
    else:
        get = raw.get if isinstance(raw, dict) else lambda name, default=None: getattr(raw, name, default)
        student = get("student")
        if not isinstance(student, Student):
            student_id = get("student_id")
            student = session.get(Student, student_id) if student_id is not None else None
        reasons = get("reasons") or get("reason") or ()
    if student is None:
        return None
    if isinstance(reasons, str) or not isinstance(reasons, Iterable):
        reasons = (reasons,)
    labels = tuple(str(getattr(r, "value", r)) for r in reasons)
    return messages.VisitItem(student.name, klass.grade, klass.name, labels)


def home_visit_items(
    session: Session, klass: SchoolClass, today: date
) -> tuple[list[messages.VisitItem], bool]:
    """At-risk pupils of a class for home visits; (items, True) when only household flags were used."""
    function = deps.home_visit_list()
    if function is not None:
        items = [_as_item(session, raw, klass) for raw in function(session, klass.id, today)]
        return [i for i in items if i is not None], False
    students = session.scalars(
        select(Student)
        .where(Student.class_id == klass.id, Student.active.is_(True))
        .order_by(Student.student_no)
    )
    return [
        messages.VisitItem(s.name, klass.grade, klass.name, tuple(f for f in s.household if f in POOR_FLAGS))
        for s in students
        if any(f in POOR_FLAGS for f in s.household or [])
    ], True


def _aid_line(region: Region, school: School, start: date) -> Callable[[], str] | None:
    """The aid line for a term start: the region's pack items opening that month, if any."""
    try:
        from chatbot.aid.engine import items_opening
        from chatbot.aid.pack import PackError, pack_for
        from chatbot.aid.render import item_name
    except ImportError:
        return messages.aid_generic_line if region.aid_pack else None
    try:
        pack = pack_for(region.aid_pack, start)
        entries = items_opening(pack, start.month, start, stages=[school.stage])
    except PackError:
        log.exception("aid pack %s unusable; term-start reminders use the generic aid line", region.aid_pack)
        return messages.aid_generic_line
    if not entries:
        return None
    # item_name reads the active locale, so it runs inside the recipient's render.
    return lambda: messages.aid_opening_line([item_name(e) for e in entries])


def plan(session: Session, occurrence: Occurrence, school: School, calendar: SchoolCalendar) -> list[Planned]:
    """Recipients and messages of one occurrence; reads only (used by dry runs too)."""
    rule = occurrence.rule
    planned: list[Planned] = []
    tz_today = occurrence.due_day
    if rule == TERM_START:
        aid = _aid_line(school.region, school, occurrence.anchor)
        n = rules_for(school.region)[NEVER_RETURNED].school_days_after
        for person_id, children in _parents(session, school).items():
            planned.append(
                Planned(
                    occurrence,
                    person_id,
                    "parent",
                    f"{occurrence.kind} term starts {occurrence.anchor} (in {occurrence.offset} days)",
                    _render_term_parent(children, school.name, occurrence, aid),
                )
            )
        for klass in _classes(session, school):
            assert klass.class_teacher_id is not None
            planned.append(
                Planned(
                    occurrence,
                    klass.class_teacher_id,
                    "class_teacher",
                    f"{occurrence.kind} term starts {occurrence.anchor}: check who has not returned (class {klass.id})",
                    _bind(messages.term_start_teacher, (klass.grade, klass.name), occurrence.anchor, n),
                )
            )
    elif rule in (VACATION, SPRING_FESTIVAL):
        back = calendar.first_school_day_after(occurrence.anchor)
        for person_id, children in _parents(session, school).items():
            names = [c.name for c in children]
            planned.append(
                Planned(
                    occurrence,
                    person_id,
                    "parent",
                    f"{occurrence.kind} from {occurrence.anchor}: safety notice, back on {back}",
                    _bind(
                        messages.holiday_parent, occurrence.kind, names, school.name, occurrence.anchor, back
                    ),
                )
            )
        for klass in _classes(session, school):
            assert klass.class_teacher_id is not None
            items, fallback = home_visit_items(session, klass, tz_today)
            planned.append(
                Planned(
                    occurrence,
                    klass.class_teacher_id,
                    "class_teacher",
                    f"home-visit list before {occurrence.kind}: {len(items)} pupils (class {klass.id})"
                    + (" [household records only]" if fallback else ""),
                    _bind(
                        messages.home_visit_teacher,
                        occurrence.kind,
                        (klass.grade, klass.name),
                        items,
                        fallback,
                    ),
                )
            )
    elif rule == NEVER_RETURNED:
        function = deps.never_returned()
        if function is None:
            raise MissingDependency("chatbot.attendance never_returned")
        school_items: list[messages.VisitItem] = []
        for klass in _classes(session, school):
            assert klass.class_teacher_id is not None
            raw = function(session, klass.id, occurrence.anchor, tz_today)
            items = [i for i in (_as_item(session, r, klass) for r in raw) if i is not None]
            school_items.extend(items)
            if items:
                planned.append(
                    Planned(
                        occurrence,
                        klass.class_teacher_id,
                        "class_teacher",
                        f"{len(items)} pupils with no attendance since {occurrence.anchor} (class {klass.id})",
                        _bind(
                            messages.never_returned_teacher,
                            (klass.grade, klass.name),
                            occurrence.anchor,
                            items,
                        ),
                    )
                )
        if school_items:
            for person_id in _principals(session, school):
                planned.append(
                    Planned(
                        occurrence,
                        person_id,
                        "principal",
                        f"{len(school_items)} pupils with no attendance since {occurrence.anchor} (school {school.id})",
                        _bind(
                            messages.never_returned_principal, school.name, occurrence.anchor, school_items
                        ),
                    )
                )
    # One message per person and occurrence: a teacher of two classes gets the first one only once.
    unique: dict[int, Planned] = {}
    for item in planned:
        if item.person_id in unique:
            previous = unique[item.person_id]
            unique[item.person_id] = Planned(
                occurrence,
                item.person_id,
                previous.role,
                previous.reason + "; " + item.reason,
                _join(previous.render, item.render),
            )
        else:
            unique[item.person_id] = item
    return list(unique.values())


def _bind(function: Callable[..., Reply], *args: Any) -> Callable[[], Reply]:
    return lambda: function(*args)


def _join(first: Callable[[], Reply], second: Callable[[], Reply]) -> Callable[[], Reply]:
    return lambda: Reply(first().text + "\n\n" + second().text)


def _render_term_parent(
    children: list[_Child], school_name: str, occurrence: Occurrence, aid: Callable[[], str] | None
) -> Callable[[], Reply]:
    def render() -> Reply:
        return messages.term_start_parent(
            [c.name for c in children],
            school_name,
            occurrence.anchor,
            any(c.boarding for c in children),
            aid() if aid else None,
            occurrence.offset,
        )

    return render


# --- the ledger -----------------------------------------------------------------------------------


def insert_keys(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert ledger rows, skipping keys that exist; returns the keys this call inserted."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: str(r["key"]))  # one lock order for every process
    table = cast(Table, ReminderSent.__table__)
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # executemany with RETURNING: SQLAlchemy batches it ("insertmanyvalues") with a cached statement.
    stmt = dialect_insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    inserted: set[str] = set()
    for start in range(0, len(ordered), 2000):
        inserted.update(session.execute(stmt, list(ordered[start : start + 2000])).scalars())
    return inserted


def ledger_row(
    key: str,
    rule: str,
    occurrence: str,
    recipient: str,
    status: ReminderStatus,
    due_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {
        "key": key,
        "rule": rule,
        "occurrence": occurrence,
        "recipient": recipient,
        "status": status,
        "due_at": due_at,
        "created_at": now,
    }


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(
            session.scalars(
                select(ReminderSent.key).where(ReminderSent.key.in_(wanted[start : start + CHUNK]))
            )
        )
    return found


# --- queueing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    start: time = QUIET_START
    end: time = QUIET_END


def process_occurrence(
    session: Session,
    occurrence: Occurrence,
    school: School,
    calendar: SchoolCalendar,
    now: datetime,
    grace: timedelta,
    *,
    force: bool = False,
    quiet: QuietHours = QuietHours(),
) -> QueueReport:
    """Queue (or record as missed) every recipient of one occurrence, each at most once, ever."""
    report = QueueReport(occurrences=1)
    planned = plan(session, occurrence, school, calendar)
    stale = not force and occurrence.due_at < now - grace
    status = ReminderStatus.MISSED if stale else ReminderStatus.QUEUED
    rows = [
        ledger_row(
            p.key, occurrence.rule, occurrence.ident, f"p{p.person_id}", status, occurrence.due_at, now
        )
        for p in planned
    ]
    rows.append(
        ledger_row(
            occurrence.marker,
            occurrence.rule,
            occurrence.ident,
            "*",
            ReminderStatus.MISSED if stale else ReminderStatus.DONE,
            occurrence.due_at,
            now,
        )
    )
    inserted = insert_keys(session, rows)
    fresh = [p for p in planned if p.key in inserted]
    report.skipped = len(planned) - len(fresh)
    if stale:
        report.missed = len(fresh)
        if fresh:
            log.warning(
                "reminder %s for school %s was due at %s, outside the grace window: %d recorded as missed",
                occurrence.marker,
                school.id,
                occurrence.due_at.isoformat(),
                len(fresh),
            )
        return report
    not_before = max(now, occurrence.due_at)
    enqueue_batch(session, fresh, now=now, not_before=not_before, tz=school.tz, quiet=quiet)
    report.queued = len(fresh)
    return report


def enqueue_batch(
    session: Session,
    items: Sequence[Planned],
    *,
    now: datetime,
    not_before: datetime,
    tz: str,
    quiet: QuietHours = QuietHours(),
) -> int:
    """Queue one occurrence's reminders (normal priority, held through quiet hours); returns rows written."""
    return enqueue_many(
        session,
        [
            OutboxItem(
                person_id=item.person_id,
                render=item.render,
                kind=f"reminder.{item.occurrence.rule}",
                dedupe_key=item.key,
                tz=tz,
                priority=Priority.NORMAL,
                not_before=not_before,
            )
            for item in items
        ],
        now,
        quiet_start=quiet.start,
        quiet_end=quiet.end,
    )


def _schools(session: Session, region_ids: Iterable[int] | None = None) -> list[School]:
    query = select(School).options(joinedload(School.region)).order_by(School.id)
    if region_ids is not None:
        query = query.where(School.region_id.in_(list(region_ids)))
    return list(session.scalars(query))


def queue_due(
    session_factory: sessionmaker[Session],
    now: datetime,
    grace: timedelta,
    *,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    quiet: QuietHours = QuietHours(),
) -> QueueReport:
    """Queue every reminder due by `now` that nobody queued yet; one transaction per occurrence."""
    total = QueueReport()
    with session_factory() as session:
        schools = _schools(session)
        calendars = load_calendars(session, schools)
        candidates: list[tuple[Occurrence, int]] = []
        for school in schools:
            today = now.astimezone(ZoneInfo(school.tz)).date()
            rules = rules_for(school.region)
            for occurrence in occurrences_between(
                school, calendars[school.id], rules, today - timedelta(days=lookback_days), today
            ):
                if occurrence.due_at <= now:
                    candidates.append((occurrence, school.id))
        done = existing_keys(session, (o.marker for o, _ in candidates))
    for occurrence, school_id in candidates:
        if occurrence.marker in done:
            continue
        try:
            with session_factory() as session, session.begin():
                current = session.get(School, school_id)
                assert current is not None
                calendar = load_calendars(session, [current])[current.id]
                report = process_occurrence(session, occurrence, current, calendar, now, grace, quiet=quiet)
        except MissingDependency as exc:
            total.waiting += 1
            log.info("reminder %s waits for %s", occurrence.marker, exc)
            continue
        except Exception:
            # Rolled back as a whole: the next tick tries this occurrence again; the others go on.
            total.failed += 1
            log.exception("reminder %s failed; it is retried at the next run", occurrence.marker)
            continue
        total.occurrences += 1
        total.queued += report.queued
        total.missed += report.missed
        total.skipped += report.skipped
    return total


def plan_day(
    session: Session, day: date, *, region_code: str | None = None, school_ref: str | None = None
) -> list[tuple[Occurrence, School, list[Planned] | None, set[str]]]:
    """What is due on `day` (each school's local date): occurrences, recipients and keys already used.

    Recipients are None when a rule waits for another domain's function.
    """
    schools = _schools(session)
    if region_code is not None:
        schools = [s for s in schools if s.region.code == region_code]
    if school_ref is not None:
        schools = [s for s in schools if s.name == school_ref or str(s.id) == school_ref]
    calendars = load_calendars(session, schools)
    result = []
    for school in schools:
        for occurrence in occurrences_between(
            school, calendars[school.id], rules_for(school.region), day, day
        ):
            try:
                planned: list[Planned] | None = plan(session, occurrence, school, calendars[school.id])
            except MissingDependency:
                planned = None
            keys = [p.key for p in planned or []] + [occurrence.marker]
            result.append((occurrence, school, planned, existing_keys(session, keys)))
    return result
