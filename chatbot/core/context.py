"""What a flow step gets besides the message: the DB session, the clock, who is talking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from chatbot.config import Settings
from chatbot.core.messages import ChannelCaps, Incoming
from db.models import AuditLog, ChannelIdentity, Person


@dataclass
class Dialog:
    """Where a chat is in a flow: the state and the flow's scratch data (a dialog_state row)."""

    flow: str
    state: str
    data: dict[str, Any]
    updated_at: datetime


@dataclass
class Context:
    session: Session
    now: datetime
    identity: ChannelIdentity
    person: Person | None
    settings: Settings
    caps: ChannelCaps
    incoming: Incoming
    locale: str
    # The active dialog's scratch data; saved with the dialog state after each step.
    data: dict[str, Any] = field(default_factory=dict)
    # The active dialog (None: no dialog), read with the identity; the router writes it back
    # when the update ends, and only if a step changed it.
    dialog: Dialog | None = None
    dialog_stored: bool = False
    dialog_changed: bool = False

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person else None

    def audit(self, action: str, target: str | None = None, **details: Any) -> None:
        """Record who did what, in the same transaction as the change itself."""
        self.session.add(
            AuditLog(
                at=self.now, actor_person_id=self.person_id, action=action, target=target, details=details
            )
        )
