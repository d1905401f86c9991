"""The console channel: a chat in the terminal, and the test harness (push as a person, pop replies).

Buttons show as numbered options; typing the number chooses one. Messages the bot sends on
its own (outbox rows for this console identity) are printed marked as pushed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chatbot.channels.base import ChannelType
from chatbot.clock import utcnow
from chatbot.core.messages import ChannelCaps, Incoming, Reply, buttons_from_json
from chatbot.core.router import Router
from chatbot.delivery.collect import CollectingSender
from chatbot.delivery.worker import drain_once
from chatbot.i18n import _
from db.models import ChannelIdentity, Person
from db.session import transaction

CONSOLE_CAPS = ChannelCaps(code="console", numbered_buttons=True, can_edit=False, max_text=4096)
PUSH_MARK = "📣"
# Run by `bot.py console` (and the tests), never by the main job: the settings do not turn it on.
CONSOLE = ChannelType.create("console", CONSOLE_CAPS)


def render_reply(reply: Reply) -> str:
    """Text plus numbered options, the way console and WeChat users see buttons."""
    lines = [reply.text]
    for index, button in enumerate(reply.flat_buttons(), start=1):
        lines.append(f"  {index}. {button.label}")
    if reply.attachment is not None:
        lines.append(f"  [{reply.attachment.filename}]")
    return "\n".join(lines)


def person_external_id(person_id: int) -> str:
    return f"person-{person_id}"


class ConsoleChannel:
    """Push a message as someone, get the replies; pop what the outbox queued for them."""

    caps = CONSOLE_CAPS

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        router: Router,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.router = router
        self.clock = clock
        self._ensured: set[int] = set()

    def external_id(self, who: int | str) -> str:
        """A person id acts as that person (bound automatically); a string is a raw chat id."""
        if isinstance(who, str):
            return who
        external = person_external_id(who)
        if who in self._ensured:
            # The row is never deleted (/forget only unlinks it), so one check per person suffices.
            return external
        with transaction(self.session_factory) as session:
            identity = session.scalars(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == "console", ChannelIdentity.external_id == external
                )
            ).one_or_none()
            if identity is None:
                if session.get(Person, who) is None:
                    raise LookupError(f"no person with id {who}")
                session.add(
                    ChannelIdentity(
                        channel="console",
                        external_id=external,
                        person_id=who,
                        active=True,
                        failed_codes=0,
                        last_buttons=[],
                        created_at=self.clock(),
                    )
                )
        self._ensured.add(who)
        return external

    def send(
        self,
        who: int | str,
        text: str | None = None,
        *,
        payload: str | None = None,
        lang: str | None = None,
        now: datetime | None = None,
    ) -> list[Reply]:
        incoming = Incoming(
            channel="console",
            external_id=self.external_id(who),
            text=text,
            payload=payload,
            language_hint=lang,
        )
        return self.router.handle(incoming, now or self.clock(), CONSOLE_CAPS)

    def pushed(self, who: int | str, now: datetime | None = None) -> list[Reply]:
        """Deliver every due outbox row for this console identity through the delivery worker."""
        moment = now or self.clock()
        external = self.external_id(who)
        with self.session_factory() as session:
            identity_id = session.scalars(
                select(ChannelIdentity.id).where(
                    ChannelIdentity.channel == "console", ChannelIdentity.external_id == external
                )
            ).one_or_none()
        if identity_id is None:  # a guest who has not said anything yet
            return []
        sender = CollectingSender("console", caps=CONSOLE_CAPS)
        drain_once(self.session_factory, [sender], now=moment, identity_ids={identity_id}, recover=False)
        return [Reply(text=m.text, buttons=buttons_from_json(m.buttons)) for m in sender.sent]

    def chat(
        self, who: int | str, lines: Iterable[str], out: TextIO | None = None, interactive: bool = False
    ) -> None:
        """Run a chat: each line in, every reply and pushed message out (to stdout as it is now)."""
        out = out or sys.stdout
        for reply in self.pushed(who):
            print(f"{PUSH_MARK} {render_reply(reply)}", file=out)
        for line in lines:
            text = line.rstrip("\n")
            if not interactive:
                print(f"> {text}", file=out)
            for reply in self.send(who, text):
                print(render_reply(reply), file=out)
            for reply in self.pushed(who):
                print(f"{PUSH_MARK} {render_reply(reply)}", file=out)
            out.flush()


def interactive_lines(prompt: str) -> Iterable[str]:
    while True:
        try:
            yield input(prompt)
        except EOFError:
            return


def banner() -> str:
    return _("Jiaxiao console. Type /help for commands, Ctrl-D to quit.")
