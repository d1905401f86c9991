"""Operator commands: `bot.py outbox` lists rows, `bot.py deliver` runs a delivery worker on its own."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy import select

from chatbot.app import App
from chatbot.commands import add_command, fail
from chatbot.delivery.worker import outbox_counts
from chatbot.i18n import _
from db.models import OutboxMessage, OutboxStatus

STATUSES = [s.value for s in OutboxStatus]


def register(sub: Any) -> None:
    outbox = add_command(sub, "outbox", cmd_outbox, _("List outbox rows (newest first) for operators."))
    outbox.add_argument(
        "--status", help=_("only rows with this status: {statuses}").format(statuses=", ".join(STATUSES))
    )
    outbox.add_argument("--limit", type=int, default=50, help=_("at most this many rows (default 50)"))
    outbox.add_argument("--json", action="store_true", help=_("one JSON object per line"))


def _row_json(row: OutboxMessage) -> dict[str, Any]:
    # No message text: it may hold names; operators follow rows by id, kind and reference.
    return {
        "id": row.id,
        "status": row.status.value,
        "channel": row.channel,
        "identity_id": row.identity_id,
        "kind": row.kind,
        "priority": row.priority,
        "attempts": row.attempts,
        "not_before": row.not_before.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "external_message_id": row.external_message_id,
        "ref": f"{row.ref_type}:{row.ref_id}" if row.ref_type else None,
        "last_error": row.last_error,
    }


def cmd_outbox(args: argparse.Namespace, app: App) -> int:
    if args.status and args.status not in STATUSES:
        return fail(
            _("Unknown status {status}; use one of: {choices}.").format(
                status=args.status, choices=", ".join(STATUSES)
            )
        )
    if args.limit < 1:
        return fail(_("--limit must be at least 1."))
    with app.session_factory() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(args.limit)
        if args.status:
            query = query.where(OutboxMessage.status == OutboxStatus(args.status))
        rows = [_row_json(row) for row in session.scalars(query)]
        counts = outbox_counts(session)
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(
        _("Outbox: {counts}").format(
            counts=", ".join(f"{status} {counts.get(status, 0)}" for status in STATUSES)
        )
    )
    for row in rows:
        print(
            f"#{row['id']:>7} {row['status']:<9} {row['channel']:<8} {row['kind']:<16} "
            f"p{row['priority']:<3} try {row['attempts']:<2} {row['not_before'][:16]}"
            + (f"  {row['last_error']}" if row["last_error"] else "")
        )
    return 0
