"""The demo county: people, schools and classes (people domain) with this school year's calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.calendar.demo import seed_calendar
from chatbot.people.demo import seed_county
from db.models import Region
from db.session import transaction


def seed_demo(session: Session, now: datetime) -> bool:
    """Create the demo county unless it exists; returns True when it created it."""
    region = seed_county(session, now)
    if region is None:
        return False
    seed_calendar(session, region, now)
    return True


def ensure_demo_if_empty(app: App) -> None:
    """Seed the demo county into an empty database (the console's first run); leave any data alone."""
    with transaction(app.session_factory) as session:
        if session.scalar(select(func.count()).select_from(Region)) == 0:
            seed_demo(session, app.clock())
