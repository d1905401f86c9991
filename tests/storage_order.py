"""Make PostgreSQL return a row last, so that a test can show an ORDER BY tie-breaker at work.

On SQLite rows come back in rowid order, so a dropped ORDER BY column goes unnoticed. On PostgreSQL a
row whose indexed column is updated (away and back, in two transactions: not a HOT update) is written
anew behind the others, in the table and in the index; ANALYZE then lets the planner scan and sort
instead of walking an index that happens to be in order already.
"""

from __future__ import annotations

from sqlalchemy import text

from chatbot.app import App
from tests.conftest import PG_URL


def move_behind(app: App, table: str, row_id: int, column: str, away: object, key: str = "id") -> None:
    """Rewrite one row by setting an indexed column to `away` and back, then refresh the statistics."""
    where = f"{key} = :id"
    with app.engine.begin() as conn:
        original = conn.execute(text(f"SELECT {column} FROM {table} WHERE {where}"), {"id": row_id}).scalar()
        conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE {where}"), {"v": away, "id": row_id})
    with app.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE {where}"), {"v": original, "id": row_id})
    if PG_URL:
        with app.engine.begin() as conn:
            conn.execute(text(f"ANALYZE {table}"))
