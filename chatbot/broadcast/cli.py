"""`bot.py broadcast` sends a notice as a person; `bot.py notices` shows, reminds and cancels.

TARGET syntax: see chatbot/broadcast/targets.py and docs/broadcast.md (e.g. school:3/grade:7/parents).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.broadcast.service import (
    BroadcastError,
    NoticeDraft,
    cancel_broadcast,
    create_broadcast,
    parse_when,
    recent_broadcasts,
    report,
    send_reminder,
    validate_draft,
    visible_broadcast,
)
from chatbot.broadcast.targets import (
    TargetError,
    count_recipients,
    parse_target,
    target_label,
    target_timezone,
)
from chatbot.broadcast.views import queued_text, reminder_text, status_text, summary_line
from chatbot.commands import add_command, fail
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.i18n import LOCALES, N_, _, format_number
from chatbot.people.demo import demo_person
from db.models import Person
from db.session import transaction

# For help texts: each language named in the reader's language (LOCALE_NAMES names each in its own).
LANGUAGE_NAMES = {
    "zh_Hans": N_("Simplified Chinese"),
    "zh_Hant": N_("Traditional Chinese"),
    "en": N_("English"),
}


def register(sub: Any) -> None:
    send = add_command(sub, "broadcast", cmd_broadcast, _("Send a notice as a person to a TARGET."))
    send.add_argument(
        "--as", dest="as_who", required=True, help=_("person id, or a demo role: teacher, principal, admin")
    )
    send.add_argument(
        "--to",
        dest="target",
        required=True,
        help=_(
            "region:ID, school:ID, school:ID/grade:N or class:ID, then /parents (default), /teachers or /both"
        ),
    )
    send.add_argument("--text", required=True, help=_("the notice in the base language"))
    for locale in LOCALES:
        send.add_argument(
            f"--text-{locale}",
            dest=f"text_{locale}",
            help=_("the version in {language}").format(language=_(LANGUAGE_NAMES[locale])),
        )
    send.add_argument("--base", default=None, help=_("language of --text (default: DEFAULT_LOCALE)"))
    send.add_argument("--at", help=_("send later: 'YYYY-MM-DD HH:MM' in the school's time zone"))
    send.add_argument("--ack", action="store_true", help=_("ask recipients to press “Got it”"))
    send.add_argument("--dry-run", action="store_true", help=_("show the recipient count, send nothing"))
    notices = add_command(
        sub, "notices", cmd_notices, _("List a person's notices; show, remind or cancel one.")
    )
    notices.add_argument("--as", dest="as_who", required=True, help=_("person id, or a demo role"))
    group = notices.add_mutually_exclusive_group()
    group.add_argument("--show", type=int, metavar="ID", help=_("counts and who has not confirmed"))
    group.add_argument(
        "--remind", type=int, metavar="ID", help=_("send the one reminder to those who have not confirmed")
    )
    group.add_argument("--cancel", type=int, metavar="ID", help=_("cancel every message not sent yet"))
    notices.add_argument("--json", action="store_true", help=_("machine-readable counts (with --show)"))


def resolve_person(session: Session, who: str) -> Person | None:
    if who.isdecimal():
        return session.get(Person, int(who))
    return demo_person(session, who)


def cmd_broadcast(args: argparse.Namespace, app: App) -> int:
    now = app.clock()
    base = args.base or app.settings.default_locale
    if base not in LOCALES:
        return fail(_("Unknown language {locale}.").format(locale=base))
    texts = {base: args.text}
    for locale in LOCALES:
        extra = getattr(args, f"text_{locale}")
        if extra is not None and locale != base:
            texts[locale] = extra
    with transaction(app.session_factory) as session:
        sender = resolve_person(session, args.as_who)
        if sender is None:
            return fail(_("Unknown person {who}.").format(who=args.as_who))
        try:
            target = parse_target(args.target)
        except TargetError as exc:
            return fail(str(exc))
        tz = target_timezone(session, target, app.settings.timezone)
        try:
            at = parse_when(args.at, now, tz) if args.at else None
            draft = NoticeDraft(target=target, texts=texts, base_locale=base, at=at, ack=args.ack)
            if args.dry_run:
                validate_draft(session, sender, draft, now, tz)
                reach = count_recipients(session, target, exclude_person_id=sender.id)
                print(
                    _(
                        "Would send to {target}: {people} people ({parents} parents, {teachers} teachers), "
                        "{reachable} of them on a chat account."
                    ).format(
                        target=target_label(session, target),
                        people=format_number(reach.people),
                        parents=format_number(reach.parents),
                        teachers=format_number(reach.teachers),
                        reachable=format_number(reach.reachable),
                    )
                )
                return 0
            broadcast = create_broadcast(session, sender, draft, now=now, settings=app.settings)
        except BroadcastError as exc:
            return fail(str(exc))
        due = after_quiet_hours(
            broadcast.scheduled_at, broadcast.tz, app.settings.quiet_hours_start, app.settings.quiet_hours_end
        )
        print(queued_text(session, broadcast, due))
    return 0


def cmd_notices(args: argparse.Namespace, app: App) -> int:
    now = app.clock()
    with transaction(app.session_factory) as session:
        person = resolve_person(session, args.as_who)
        if person is None:
            return fail(_("Unknown person {who}.").format(who=args.as_who))
        try:
            if args.remind is not None:
                done = send_reminder(session, person, args.remind, now, app.settings)
                print(reminder_text(args.remind, done))
                if done.messages == 0:
                    return 1  # nothing queued (the audit entry saying so is kept)
            elif args.cancel is not None:
                stopped = cancel_broadcast(session, person, args.cancel, now)
                print(
                    _("Notice #{id} cancelled: {count} messages will not be sent.").format(
                        id=args.cancel, count=format_number(stopped)
                    )
                )
            elif args.show is not None:
                broadcast = visible_broadcast(session, person, args.show)
                if args.json:
                    counts = report(session, broadcast)
                    print(json.dumps({"id": broadcast.id, "target": broadcast.target, **counts.__dict__}))
                else:
                    print(status_text(session, broadcast, now))
            else:
                notices = recent_broadcasts(session, person, limit=20)
                if not notices:
                    print(_("You have not sent any notices yet. Send /notice to write one."))
                for broadcast in notices:
                    print(summary_line(session, broadcast, now))
        except BroadcastError as exc:
            return fail(str(exc))
    return 0
