"""Child process for the crash test: record a whole-class roll-call day after day until killed.

Usage: python -m tests.reliability.rollcall_child DATABASE_URL TEACHER_ID FIRST_DAY
Each day goes through the router as one quick-mark message ("缺 1 2 … N": one transaction writing
the roll-call and N records); the day is printed only after the reply came back.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from tests.attendance.helpers import at
from tests.conftest import make_settings


def main() -> None:
    url, teacher, first = sys.argv[1], int(sys.argv[2]), date.fromisoformat(sys.argv[3])
    size = int(sys.argv[4])
    app = App(make_settings(url))
    console = ConsoleChannel(app.session_factory, app.router)
    marks = "缺 " + " ".join(str(n) for n in range(1, size + 1))
    day = first
    while True:
        replies = console.send(teacher, marks, now=at(day, 8))
        print(day.isoformat(), len(replies), flush=True)
        day += timedelta(days=1)


if __name__ == "__main__":
    main()
