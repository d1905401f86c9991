"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL with TEST_DATABASE_URL),
the demo county, and the console channel as the harness (push as a person, pop the replies).

Each test gets a fresh copy of a template database that was migrated (and seeded) once per
worker, so tests are isolated without paying for migrations every time.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.config import Settings
from chatbot.demo import seed_demo
from chatbot.people.demo import demo_person
from db.migrate import upgrade
from db.models import Person
from db.session import make_engine, transaction

PG_URL = os.environ.get("TEST_DATABASE_URL")
# Monday 23 November 2026, 08:00 in Shanghai: a school day before the roll-call cutoff.
MONDAY_8AM = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _shared_template(key: str) -> Path | None:
    """Where the template is kept across pytest sessions, when the mutation bench asks for it.

    mutmut starts a short pytest session per mutant; migrating and seeding the demo county each time
    would double its run. bench/mutation_plugin.py leaves JIAXIAO_SHARED_TEMPLATES unset for a mutant
    of a function that runs while the demo county is seeded, so that such a mutant seeds its own.
    """
    folder = os.environ.get("JIAXIAO_SHARED_TEMPLATES")
    if not folder or PG_URL:
        return None
    return Path(folder) / f"{key}.db"


class DatabaseFactory:
    """Hands out throw-away databases, each migrated and (optionally) holding the demo county.

    SQLite: a copy of a per-worker template file. PostgreSQL: CREATE DATABASE per test costs
    seconds on a busy machine, so each worker keeps a pool of databases and resets one by
    TRUNCATE plus a restore of the demo rows snapshotted from the seeded template.
    """

    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        self.created: list[str] = []
        self.templates: dict[str, str] = {}
        self.free: list[str] = []
        self.snapshot: list[tuple[Any, list[dict[str, Any]]]] | None = None

    def _pg_admin(self):  # type: ignore[no-untyped-def]
        assert PG_URL
        return create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def _new_url(self, name: str) -> str:
        if PG_URL:
            return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.tmp_root / (name + '.db')}"

    def _create_pg(self, name: str, template: str | None = None) -> None:
        admin = self._pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        admin.dispose()
        self.created.append(name)

    def template(self, seeded: bool) -> str:
        key = "demo" if seeded else "empty"
        if key in self.templates:
            return self.templates[key]
        cached = _shared_template(key)
        if cached is not None and cached.exists():
            self.templates[key] = f"sqlite:///{cached}"
            return self.templates[key]
        name = f"jxtpl_{key}_{_worker()}_{os.getpid()}"
        if PG_URL:
            self._create_pg(name)
        else:
            self.created.append(name)
        url = self._new_url(name)
        upgrade(url)
        if seeded:
            engine = make_engine(url)
            from db.session import make_session_factory

            with transaction(make_session_factory(engine)) as session:
                seed_demo(session, MONDAY_8AM)
            engine.dispose()
        if cached is not None:
            partial = cached.with_name(f"{cached.name}.{os.getpid()}")
            shutil.copyfile(make_url(url).database or "", partial)
            partial.replace(cached)  # atomic: another session never copies half a file
        self.templates[key] = url
        return url

    def _demo_snapshot(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        if self.snapshot is None:
            from db.base import Base

            engine = create_engine(self.template(seeded=True), poolclass=NullPool)
            with engine.connect() as conn:
                self.snapshot = [
                    (table, [dict(row) for row in conn.execute(table.select()).mappings()])
                    for table in Base.metadata.sorted_tables
                ]
            engine.dispose()
        return self.snapshot

    def _reset_pg(self, name: str, seeded: bool) -> None:
        from db.base import Base

        snapshot = self._demo_snapshot() if seeded else []
        engine = create_engine(self._new_url(name), poolclass=NullPool)
        with engine.begin() as conn:
            # A test may leave a server thread or subprocess connected; it must not block TRUNCATE.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for table, rows in snapshot:
                if rows:
                    conn.execute(table.insert(), rows)
                if "id" in table.c and table.c.id.primary_key and rows:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'(SELECT MAX(id) FROM "{table.name}"))'
                        )
                    )
        engine.dispose()

    def fresh(self, seeded: bool) -> str:
        if PG_URL:
            if self.free:
                name = self.free.pop()
            else:
                name = f"jxt_{_worker()}_{uuid.uuid4().hex[:10]}"
                self._create_pg(name, template=make_url(self.template(seeded=False)).database)
            self._reset_pg(name, seeded)
            return self._new_url(name)
        template_url = self.template(seeded)
        name = f"jxt_{_worker()}_{uuid.uuid4().hex[:10]}"
        shutil.copyfile(make_url(template_url).database or "", self.tmp_root / (name + ".db"))
        return self._new_url(name)

    def drop(self, url: str) -> None:
        if PG_URL:
            name = make_url(url).database
            if name and name not in self.free:
                self.free.append(name)
        else:
            Path(make_url(url).database or "").unlink(missing_ok=True)

    def drop_all(self) -> None:
        if PG_URL:
            admin = self._pg_admin()
            with admin.connect() as conn:
                for name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "timezone": "Asia/Shanghai",
        "default_locale": "zh_Hans",
        "telegram_token": None,
        "wechat_token": None,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _make_app(databases: DatabaseFactory, seeded: bool, now: datetime) -> Iterator[App]:
    url = databases.fresh(seeded)
    # The test's clock, not the wall clock: CLI commands and channels built from this app read it.
    app = App(make_settings(url), clock=lambda: now)
    yield app
    app.engine.dispose()
    databases.drop(url)


@pytest.fixture
def app(databases: DatabaseFactory, now: datetime) -> Iterator[App]:
    """A migrated database holding the demo county, whose clock is the test's `now`."""
    yield from _make_app(databases, seeded=True, now=now)


@pytest.fixture
def empty_app(databases: DatabaseFactory, now: datetime) -> Iterator[App]:
    """A migrated, empty database, whose clock is the test's `now`."""
    yield from _make_app(databases, seeded=False, now=now)


@pytest.fixture
def now() -> datetime:
    return MONDAY_8AM


@pytest.fixture
def console(app: App, now: datetime) -> ConsoleChannel:
    return ConsoleChannel(app.session_factory, app.router, clock=app.clock)


@pytest.fixture
def session(app: App) -> Iterator[Session]:
    with app.session_factory() as s:
        yield s


class DemoPeople:
    def __init__(self, app: App) -> None:
        with app.session_factory() as s:
            self.ids = {role: demo_person(s, role).id for role in ("parent", "teacher", "principal", "admin")}  # type: ignore[union-attr]

    @property
    def parent(self) -> int:
        return self.ids["parent"]

    @property
    def teacher(self) -> int:
        return self.ids["teacher"]

    @property
    def principal(self) -> int:
        return self.ids["principal"]

    @property
    def admin(self) -> int:
        return self.ids["admin"]


@pytest.fixture
def demo(app: App) -> DemoPeople:
    """Person ids of the demo parent, class teacher, principal and county admin."""
    return DemoPeople(app)


def person(app: App, person_id: int) -> Person:
    with app.session_factory() as s:
        found = s.get(Person, person_id)
        assert found is not None
        s.expunge(found)
        return found


_PII_PATTERNS = (
    __import__("re").compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    __import__("re").compile(r"[\u4e00-\u9fff]"),
)


@pytest.fixture(autouse=True)
def _logs_carry_no_personal_data(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test doubles as a privacy check: nothing it logs may hold a phone number or a Han name."""
    import logging

    caplog.set_level(logging.INFO)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    yield
    leaks = []
    for record in caplog.records:
        text_out = record.getMessage() + (record.exc_text or "")
        if any(p.search(text_out) for p in _PII_PATTERNS):
            leaks.append(f"{record.name}: {text_out[:200]}")
    assert not leaks, f"personal data reached the logs: {leaks}"


@pytest.fixture(autouse=True)
def _language_per_test() -> Iterator[None]:
    """Each test starts in the default language, and a language a CLI command set dies with the test.

    `chatbot.cli.main` sets the language of the context it runs in (a process runs one command); tests
    call it in-process, so without this a test run in English would leave the next test in English.
    """
    from chatbot.i18n import use_locale

    with use_locale(None):
        yield
