"""The wired application: settings, database, router. Built once per process (or per test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chatbot.config import Settings
from chatbot.core.router import Router
from db.migrate import needs_upgrade, upgrade
from db.session import is_sqlite, is_sqlite_file, make_engine, make_session_factory


class NotMigrated(Exception):
    """The database schema is older than the code."""


@dataclass
class App:
    settings: Settings
    auto_migrate: bool = True
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        engine = self._engine or make_engine(self.settings.database_url)
        if needs_upgrade(engine):
            if self.auto_migrate and is_sqlite(self.settings.database_url):
                upgrade(self.settings.database_url)
            elif self.auto_migrate:
                raise NotMigrated(self.settings.database_url)
        return engine

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def no_wait_session_factory(self) -> sessionmaker[Session] | None:
        """SQLite files only: sessions that fail at once, instead of waiting, when another writer
        holds the lock (channels use them to run the router on the event loop when that is safe)."""
        if not is_sqlite_file(self.settings.database_url):
            return None
        self.engine  # noqa: B018  (migrated first)
        return make_session_factory(make_engine(self.settings.database_url, busy_timeout_ms=0))

    @cached_property
    def router(self) -> Router:
        return Router(self.session_factory, self.settings, no_wait_factory=self.no_wait_session_factory)
