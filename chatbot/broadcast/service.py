"""Broadcast notices: create (validated, all or nothing), cancel, acknowledge, remind, report.

A notice is queued in the outbox in the same transaction that creates it: one row per chat
account of every recipient, each in the recipient's language (falling back to the base text).
Recipients are fixed when the notice is confirmed, also for scheduled notices.

The work is split by stage and re-exported here, the one import for callers:
`compose` (the draft, its checks, the text a recipient reads), `create` (creating and queueing)
and `follow_up` (report, who has not confirmed, cancel, “Got it”, the reminder, recent notices).
"""

from __future__ import annotations

from chatbot.broadcast.compose import (
    MAX_NOTICE_CHARS,
    MAX_SCHEDULE_AHEAD,
    PAST_TOLERANCE,
    AlreadySent,
    BroadcastError,
    NoticeDraft,
    ack_buttons,
    check_when,
    clean_notice_text,
    notice_text,
    parse_when,
    validate_draft,
)
from chatbot.broadcast.create import NOTICE_KIND, REF_TYPE, REMINDER_KIND, create_broadcast, queue_to
from chatbot.broadcast.follow_up import (
    Reminded,
    Report,
    acknowledge,
    cancel_broadcast,
    not_acknowledged,
    recent_broadcasts,
    report,
    send_reminder,
    target_of,
    visible_broadcast,
)
from db.models.broadcast import BroadcastScope

__all__ = [
    "MAX_NOTICE_CHARS",
    "MAX_SCHEDULE_AHEAD",
    "NOTICE_KIND",
    "PAST_TOLERANCE",
    "REF_TYPE",
    "REMINDER_KIND",
    "AlreadySent",
    "BroadcastError",
    "BroadcastScope",
    "NoticeDraft",
    "Reminded",
    "Report",
    "ack_buttons",
    "acknowledge",
    "cancel_broadcast",
    "check_when",
    "clean_notice_text",
    "create_broadcast",
    "not_acknowledged",
    "notice_text",
    "parse_when",
    "queue_to",
    "recent_broadcasts",
    "report",
    "send_reminder",
    "target_of",
    "validate_draft",
    "visible_broadcast",
]
