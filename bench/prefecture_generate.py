"""Generate a prefecture-scale dataset for the attendance benchmarks.

    .venv/bin/python bench/prefecture_generate.py --url postgresql+psycopg://postgres@127.0.0.1:5432/jx_bench
    .venv/bin/python bench/prefecture_generate.py --url sqlite:///data/bench.db

Defaults: 8 counties, 1,500 schools, 10,000 classes, 300,000 pupils (one guardian each, 80% with a
chat account), every class teacher and principal with a chat account, and 20 school days of
roll-calls and absences before the bench day (by default Monday 2026-11-23). The bench day has
roll-calls for 97% of classes and fresh, not yet alerted absences: exactly what a daily close sees.
About 2% of pupils are chronic absentees (≈15% of days), a few have a three-day streak.

Rows go in with COPY on PostgreSQL and executemany on SQLite, with explicit ids; the target database
is migrated first and must be empty.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, select, text

from db.base import Base
from db.migrate import upgrade
from db.models import Region
from db.session import is_sqlite, make_engine, make_session_factory, transaction

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "小明华丽强芳军静敏伟磊洋勇艳杰娟涛超秀霞平刚桂英玉兰萍红梅鹏飞宇浩然子轩雨欣梓涵一诺佳怡思远嘉豪"
BENCH_DAY = date(2026, 11, 23)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


class Loader:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(str(engine.url))

    def load(self, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
        started = time.perf_counter()
        count = 0
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.sqlite:
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
                batch: list[tuple[Any, ...]] = []
                for row in rows:
                    batch.append(tuple(_sqlite_value(v) for v in row))
                    if len(batch) >= 20_000:
                        cursor.executemany(sql, batch)
                        count += len(batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
                    count += len(batch)
            else:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            raw.commit()
        finally:
            raw.close()
        print(f"  {table:<18} {count:>9,} rows in {time.perf_counter() - started:5.1f} s", flush=True)
        return count

    def fix_sequences(self) -> None:
        if self.sqlite:
            return
        with self.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )


def _sqlite_value(value: Any) -> Any:
    # The same text forms SQLAlchemy's SQLite types write and read back.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, clock):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def school_days_before(day: date, count: int) -> list[date]:
    """The `count` weekdays before `day` (the demo calendar has no break in these weeks)."""
    days: list[date] = []
    cursor = day
    while len(days) < count:
        cursor -= timedelta(days=1)
        if cursor.weekday() < 5:
            days.append(cursor)
    return sorted(days)


def generate(
    url: str, schools: int, classes: int, pupils: int, counties: int, bench_day: date, seed: int
) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        if session.scalar(select(func.count()).select_from(Region)):
            sys.exit("the target database is not empty; use a fresh one")
    loader = Loader(engine)
    now = datetime.combine(bench_day - timedelta(days=40), clock(0, 0))  # naive UTC, as stored
    print(f"generating into {engine.url.render_as_string(hide_password=True)}", flush=True)

    loader.load(
        "region",
        ["id", "code", "name", "timezone", "aid_pack", "settings"],
        (
            (r, f"bench-{r}", f"第{r}县", "Asia/Shanghai", None, json.dumps({}))
            for r in range(1, counties + 1)
        ),
    )
    school_region = {s: 1 + (s - 1) % counties for s in range(1, schools + 1)}
    loader.load(
        "school",
        ["id", "region_id", "name", "stage", "timezone", "rollcall_cutoff"],
        (
            (s, school_region[s], f"第{s}学校", "primary" if s % 3 else "junior", None, clock(10, 0))
            for s in range(1, schools + 1)
        ),
    )
    # Classes spread over schools; class c belongs to school class_school[c].
    class_school = [0] + [1 + (c - 1) * schools // classes for c in range(1, classes + 1)]
    class_size = [0] + [
        pupils // classes + (1 if c <= pupils % classes else 0) for c in range(1, classes + 1)
    ]
    # Person ids: admins, principals, teachers, then guardians.
    admin0, principal0, teacher0 = 1, 1 + counties, 1 + counties + schools
    guardian0 = teacher0 + classes

    def people() -> Iterator[tuple[Any, ...]]:
        for i in range(counties):
            yield (admin0 + i, f"局长{i}", f"1390000{i:04d}", None, now)
        for i in range(schools):
            yield (principal0 + i, _name(rng) + "校长", f"1391{i:07d}", None, now)
        for i in range(classes):
            yield (teacher0 + i, _name(rng), f"1392{i:07d}", None, now)
        for i in range(pupils):
            yield (guardian0 + i, _name(rng), f"1393{i:07d}", None, now)

    loader.load("person", ["id", "name", "phone", "locale", "created_at"], people())
    loader.load(
        "school_class",
        ["id", "school_id", "grade", "name", "class_teacher_id"],
        ((c, class_school[c], 1 + c % 9, f"{c}班", teacher0 + c - 1) for c in range(1, classes + 1)),
    )
    student_class = [0]
    for c in range(1, classes + 1):
        student_class.extend([c] * class_size[c])

    def students() -> Iterator[tuple[Any, ...]]:
        for sid in range(1, pupils + 1):
            household = json.dumps(["registered_poor"] if rng.random() < 0.2 else [])
            yield (
                sid,
                class_school[student_class[sid]],
                student_class[sid],
                f"S{sid:07d}",
                _name(rng),
                rng.choice("男女"),
                False,
                household,
                True,
            )

    loader.load(
        "student",
        ["id", "school_id", "class_id", "student_no", "name", "gender", "boarding", "household", "active"],
        students(),
    )
    loader.load(
        "guardian",
        ["person_id", "student_id", "relation"],
        (
            (guardian0 + sid - 1, sid, rng.choice(("父亲", "母亲", "爷爷", "奶奶")))
            for sid in range(1, pupils + 1)
        ),
    )

    def memberships() -> Iterator[tuple[Any, ...]]:
        mid = 0
        for i in range(counties):
            mid += 1
            yield (mid, admin0 + i, "county_admin", "region", i + 1)
        for i in range(schools):
            mid += 1
            yield (mid, principal0 + i, "principal", "school", i + 1)
        for c in range(1, classes + 1):
            mid += 1
            yield (mid, teacher0 + c - 1, "class_teacher", "class", c)

    loader.load("membership", ["id", "person_id", "role", "scope_type", "scope_id"], memberships())

    def identities() -> Iterator[tuple[Any, ...]]:
        iid = 0
        for person_id in range(1, guardian0 + pupils):
            if person_id >= guardian0 and rng.random() >= 0.8:
                continue
            iid += 1
            channel = "telegram" if iid % 2 else "wechat"
            yield (iid, channel, f"b{person_id}", person_id, None, True, 0, "[]", now)

    loader.load(
        "channel_identity",
        [
            "id",
            "channel",
            "external_id",
            "person_id",
            "locale",
            "active",
            "failed_codes",
            "last_buttons",
            "created_at",
        ],
        identities(),
    )

    # Attendance history: 20 school days, then the bench day (not closed yet).
    days = school_days_before(bench_day, 20)
    chronic = set(rng.sample(range(1, pupils + 1), pupils // 50))
    streak = set(rng.sample(range(1, pupils + 1), max(1, pupils // 2000)))

    def rollcalls() -> Iterator[tuple[Any, ...]]:
        rid = 0
        for day in [*days, bench_day]:
            submitted = datetime.combine(day, clock(0, 30))
            for c in range(1, classes + 1):
                if day == bench_day and rng.random() < 0.03:
                    continue  # 3% of classes forget the roll-call on the bench day
                rid += 1
                yield (rid, c, class_school[c], day, teacher0 + c - 1, submitted, False)

    loader.load(
        "roll_call",
        ["id", "class_id", "school_id", "day", "submitted_by", "submitted_at", "after_cutoff"],
        rollcalls(),
    )

    def records() -> Iterator[tuple[Any, ...]]:
        rid = 0
        statuses = ("absent", "sick", "personal", "late")
        weights = (0.012, 0.008, 0.005, 0.005)
        for index, day in enumerate([*days, bench_day]):
            at = datetime.combine(day, clock(0, 30))
            closed = day != bench_day
            for sid in range(1, pupils + 1):
                status = None
                if sid in streak and index >= len(days) - 2:
                    status = "absent"
                elif sid in chronic and rng.random() < 0.15:
                    status = rng.choice(("absent", "absent", "sick", "personal"))
                else:
                    roll = rng.random()
                    cumulative = 0.0
                    for candidate, weight in zip(statuses, weights, strict=True):
                        cumulative += weight
                        if roll < cumulative:
                            status = candidate
                            break
                if status is None:
                    continue
                c = student_class[sid]
                rid += 1
                yield (
                    rid,
                    sid,
                    c,
                    class_school[c],
                    day,
                    status,
                    "rollcall",
                    teacher0 + c - 1,
                    at,
                    at + timedelta(hours=2) if closed and status != "late" else None,
                )

    loader.load(
        "attendance_record",
        [
            "id",
            "student_id",
            "class_id",
            "school_id",
            "day",
            "status",
            "source",
            "reported_by",
            "at",
            "alerted_at",
        ],
        records(),
    )
    loader.fix_sequences()
    with transaction(factory) as session:
        from chatbot.calendar.demo import seed_calendar

        for region in session.scalars(select(Region)):
            seed_calendar(session, region, datetime.combine(bench_day, clock(0, 0), tzinfo=UTC))
    if not loader.sqlite:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    print(f"done in {time.perf_counter() - started:.0f} s; bench day {bench_day.isoformat()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="database URL (migrated here; must be empty)")
    parser.add_argument("--schools", type=int, default=1500)
    parser.add_argument("--classes", type=int, default=10_000)
    parser.add_argument("--pupils", type=int, default=300_000)
    parser.add_argument("--counties", type=int, default=8)
    parser.add_argument("--day", type=date.fromisoformat, default=BENCH_DAY, help="the bench day (a Monday)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.classes < args.schools or args.pupils < args.classes:
        parser.error("need schools ≤ classes ≤ pupils")
    generate(args.url, args.schools, args.classes, args.pupils, args.counties, args.day, args.seed)


if __name__ == "__main__":
    main()
