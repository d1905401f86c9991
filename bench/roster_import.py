"""Roster import speed: a generated N-pupil roster as CSV (UTF-8, GB18030) and .xlsx, fresh and re-imported.

    .venv/bin/python bench/roster_import.py [PUPILS]      (default 5000)
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/roster_import.py

Prints seconds per step; asserts nothing. Each format starts from an empty database.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from chatbot.people.invites import issue_school_invites
from chatbot.people.roster import import_file
from db.migrate import upgrade
from db.models import School
from db.session import make_engine, make_session_factory, transaction
from tests.people.rostergen import roster_rows, write_csv, write_xlsx

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def fresh_database(tmp: Path, name: str) -> str:
    base = os.environ.get("BENCH_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp / (name + '.db')}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "bench_{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "bench_{name}"'))
    admin.dispose()
    return make_url(base).set(database=f"bench_{name}").render_as_string(hide_password=False)


def main(pupils: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows = roster_rows(pupils)
        files = {
            "csv utf-8": write_csv(tmp / "r.csv", rows),
            "csv gb18030": write_csv(tmp / "r-gb.csv", rows, "gb18030"),
            "xlsx": write_xlsx(tmp / "r.xlsx", rows),
        }
        backend = "PostgreSQL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
        print(f"{pupils} pupils on {backend}")
        for label, path in files.items():
            url = fresh_database(tmp, label.replace(" ", "_").replace("-", ""))
            upgrade(url)
            engine = make_engine(url)
            factory = make_session_factory(engine)
            for attempt in ("first import", "re-import"):
                started = time.perf_counter()
                with transaction(factory) as session:
                    counts, errors = import_file(session, path, "bench", NOW, show_progress=False)
                assert counts is not None and not errors
                print(
                    f"  {label:12} {attempt:12} {time.perf_counter() - started:6.2f} s"
                    f"  (+{counts.students_created} ~{counts.students_updated} ={counts.students_unchanged})"
                )
            started = time.perf_counter()
            with transaction(factory) as session:
                total = sum(
                    len(issue_school_invites(session, school, "all", NOW, timedelta(days=30)))
                    for school in session.query(School).all()
                )
            print(f"  {label:12} {'invites':12} {time.perf_counter() - started:6.2f} s  ({total} codes)")
            engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
