"""The wired application: settings, database, router. Built once per process (or per test)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chatbot.clock import utcnow
from chatbot.config import Settings
from chatbot.core.router import Router
from chatbot.delivery.outbox import POLICY_KEY, OutboxPolicy
from db.migrate import needs_upgrade, upgrade
from db.session import is_sqlite, make_engine, make_no_wait_engine, make_session_factory


class NotMigrated(Exception):
    """The database schema is older than the code."""


@dataclass
class App:
    settings: Settings
    auto_migrate: bool = True
    # The one clock of the process: entry points (CLI commands, scheduler, channels) read it and pass
    # `now` down. Tests hand in their own, so nothing they drive depends on the day they run.
    clock: Callable[[], datetime] = field(default=utcnow, repr=False)
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
    def session_info(self) -> dict[str, object]:
        """What every session carries for domain code: the outbox policy from the settings."""
        policy = OutboxPolicy(
            default_locale=self.settings.default_locale,
            quiet_start=self.settings.quiet_hours_start,
            quiet_end=self.settings.quiet_hours_end,
        )
        return {POLICY_KEY: policy}

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine, self.session_info)

    @cached_property
    def no_wait_session_factory(self) -> sessionmaker[Session] | None:
        """Sessions that fail at once, instead of waiting, on a lock another connection holds:
        channels use them to run the router on the event loop only when that cannot stall it."""
        self.engine  # noqa: B018  (migrated first)
        engine = make_no_wait_engine(self.settings.database_url)
        return make_session_factory(engine, self.session_info) if engine is not None else None

    @cached_property
    def router(self) -> Router:
        return Router(self.session_factory, self.settings, no_wait_factory=self.no_wait_session_factory)
