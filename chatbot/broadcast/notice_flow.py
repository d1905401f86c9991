"""/notice: write a notice to parents and/or teachers (diagram: notice_flow.mmd).

target → audience → text → more languages? → when → ack? → preview with the exact count → Send.
Send is the stateless `ntcgo:<key>` action (see actions.py), so a second press finds the notice
already sent instead of sending it twice.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatbot.broadcast.payloads import NoticeChoice, NoticeGo, NoticeScopePick
from chatbot.broadcast.service import (
    BroadcastError,
    NoticeDraft,
    check_when,
    clean_notice_text,
    parse_when,
)
from chatbot.broadcast.targets import (
    AUDIENCE_LABELS,
    NoticeTarget,
    TargetError,
    check_target,
    choosable_targets,
    count_recipients,
    parse_target,
    target_label,
    target_timezone,
)
from chatbot.core.context import Context
from chatbot.core.flow import END, Flow, Outcome, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import BadPayload
from chatbot.core.text import clean_text
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.i18n import LOCALE_NAMES, LOCALES, N_, _, format_moment, format_number
from chatbot.people.auth import has_role
from db.models import Role
from db.models.broadcast import Audience, BroadcastScope

SENDER_ROLES = (Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN)
QUICK_HOUR = time(8, 0)


def may_send_notices(ctx: Context) -> bool:
    return has_role(ctx.person, *SENDER_ROLES)


def _target(ctx: Context) -> NoticeTarget:
    data = ctx.data
    return NoticeTarget(
        BroadcastScope(data["scope"]),
        int(data["scope_id"]),
        Audience(data.get("audience", "parents")),
        data.get("grade"),
    )


def _tz(ctx: Context) -> str:
    return target_timezone(ctx.session, _target(ctx), ctx.settings.timezone)


def draft_of(ctx: Context) -> NoticeDraft:
    at = ctx.data.get("at")
    return NoticeDraft(
        target=_target(ctx),
        texts=dict(ctx.data.get("texts", {})),
        base_locale=str(ctx.data.get("base", ctx.locale)),
        at=datetime.fromisoformat(at) if at else None,
        ack=bool(ctx.data.get("ack", False)),
    )


def _choice(msg: Incoming, what: str) -> str | None:
    """The value of a NoticeChoice button of kind `what`, or None for typed text."""
    if not msg.payload:
        return None
    choice = NoticeChoice.unpack(msg.payload)
    if choice.what != what:
        raise BadPayload(msg.payload)
    return choice.value


# --- steps ---------------------------------------------------------------------------------------


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Offer the scopes this person may send to; a target can also be typed."""
    targets = choosable_targets(ctx.session, ctx.person)
    if not targets:
        return say(_("You have no class, school or region to send notices to."))
    ctx.data = {"texts": {}, "base": ctx.locale}
    rows = [
        [
            Button(
                target_label(ctx.session, t, with_audience=False),
                NoticeScopePick(t.scope.value, t.scope_id, t.grade or 0).pack(),
            )
        ]
        for t in targets
    ]
    return say(
        _("New notice. Who is it for? Choose below, or type a target such as school:3/grade:7/parents."),
        *rows,
        then="target",
    )


def choose_target(ctx: Context, msg: Incoming) -> Outcome:
    """Check the chosen or typed scope exists and is allowed; ask the audience unless it was typed."""
    typed_audience = False
    try:
        if msg.payload:
            pick = NoticeScopePick.unpack(msg.payload)
            if pick.scope not in {s.value for s in BroadcastScope}:
                raise BadPayload(msg.payload)
            target = NoticeTarget(BroadcastScope(pick.scope), pick.id, grade=pick.grade or None)
        else:
            text = clean_text(msg.text)
            target = parse_target(text)
            typed_audience = "/" + target.audience.value in text.lower()
        check_target(ctx.session, ctx.person, target)
    except TargetError as exc:
        return say(str(exc), then="target")
    ctx.data.update(
        scope=target.scope.value, scope_id=target.scope_id, grade=target.grade, audience=target.audience.value
    )
    if typed_audience:
        return _ask_text(ctx)
    return _ask_audience(ctx)


def _ask_audience(ctx: Context, prefix: str = "") -> Outcome:
    rows = [[Button(_(AUDIENCE_LABELS[a]), NoticeChoice("a", a.value).pack())] for a in Audience]
    question = _("Send it to whom in {place}?").format(
        place=target_label(ctx.session, _target(ctx), with_audience=False)
    )
    return say(f"{prefix}{question}", *rows, then="audience")


def choose_audience(ctx: Context, msg: Incoming) -> Outcome:
    """Remember parents / teachers / both, then ask for the text."""
    value = _choice(msg, "a")
    if value not in {a.value for a in Audience}:
        return _ask_audience(ctx, _("Please choose one of the buttons.") + "\n")
    ctx.data["audience"] = value
    return _ask_text(ctx)


def _ask_text(ctx: Context) -> Outcome:
    return say(
        _("Write the notice in {language} (at most 1,000 characters).").format(
            language=LOCALE_NAMES[str(ctx.data["base"])]
        ),
        then="text",
    )


def take_text(ctx: Context, msg: Incoming) -> Outcome:
    """Check the base text (not empty, not too long), then offer versions in other languages."""
    try:
        text = clean_notice_text(msg.text, str(ctx.data["base"]))
    except BroadcastError as exc:
        return say(str(exc), then="text")
    ctx.data["texts"] = {**ctx.data.get("texts", {}), str(ctx.data["base"]): text}
    return _ask_more_languages(ctx)


def _ask_more_languages(ctx: Context) -> Outcome:
    missing = [loc for loc in LOCALES if loc not in ctx.data["texts"]]
    if not missing:
        return _ask_when(ctx)
    rows = [
        [
            Button(
                _("Add a {language} version").format(language=LOCALE_NAMES[loc]),
                NoticeChoice("l", loc).pack(),
            )
        ]
        for loc in missing
    ]
    rows.append([Button(_("No, continue"), NoticeChoice("l", "none").pack())])
    return say(
        _(
            "Recipients get the notice in their own language; others get the text above. Add another language?"
        ),
        *rows,
        then="more_lang",
    )


def choose_more_language(ctx: Context, msg: Incoming) -> Outcome:
    """Ask for another language's text, or move on to the schedule."""
    value = _choice(msg, "l")
    if value == "none":
        return _ask_when(ctx)
    if value not in LOCALES or value in ctx.data["texts"]:
        return _ask_more_languages(ctx)
    ctx.data["lang"] = value
    return say(_("Write the {language} version.").format(language=LOCALE_NAMES[value]), then="lang_text")


def take_language_text(ctx: Context, msg: Incoming) -> Outcome:
    """Store that language's text, then offer the remaining languages."""
    locale = str(ctx.data.get("lang"))
    try:
        text = clean_notice_text(msg.text, locale)
    except BroadcastError as exc:
        return say(str(exc), then="lang_text")
    ctx.data["texts"] = {**ctx.data["texts"], locale: text}
    return _ask_more_languages(ctx)


def _ask_when(ctx: Context, prefix: str = "") -> Outcome:
    return say(
        prefix + _("When should it go out? Or type a date and time, like 2026-11-25 08:00."),
        [Button(_("Send now"), NoticeChoice("w", "now").pack())],
        [Button(_("Tomorrow 08:00"), NoticeChoice("w", "tomorrow").pack())],
        then="when",
    )


def choose_when(ctx: Context, msg: Incoming) -> Outcome:
    """Now, tomorrow 08:00, or a typed date and time that is not in the past."""
    tz = _tz(ctx)
    value = _choice(msg, "w")
    try:
        if value == "now":
            at = None
        elif value == "tomorrow":
            local_day = ctx.now.astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
            at = datetime.combine(local_day, QUICK_HOUR, tzinfo=ZoneInfo(tz)).astimezone(ctx.now.tzinfo)
        elif value is None:
            at = parse_when(clean_text(msg.text), ctx.now, tz)
        else:
            raise BadPayload(msg.payload or "")
        check_when(at, ctx.now, tz)
    except BroadcastError as exc:
        return _ask_when(ctx, str(exc) + "\n")
    ctx.data["at"] = at.isoformat() if at else None
    return say(
        _("Should recipients confirm they have read it (a “Got it” button)?"),
        [Button(_("Yes, ask for confirmation"), NoticeChoice("k", "1").pack())],
        [Button(_("No"), NoticeChoice("k", "0").pack())],
        then="ack",
    )


def choose_ack(ctx: Context, msg: Incoming) -> Outcome:
    """Remember whether “Got it” is required, then show the preview with the exact recipient count."""
    value = _choice(msg, "k")
    if value not in {"0", "1"}:
        return say(
            _("Please choose one of the buttons."),
            [Button(_("Yes, ask for confirmation"), NoticeChoice("k", "1").pack())],
            [Button(_("No"), NoticeChoice("k", "0").pack())],
            then="ack",
        )
    ctx.data["ack"] = value == "1"
    return preview(ctx)


def preview(ctx: Context) -> Outcome:
    """The notice as it will go out, who gets it (exact count) and when; Send or Cancel."""
    assert ctx.person is not None
    draft = draft_of(ctx)
    tz = _tz(ctx)
    reach = count_recipients(ctx.session, draft.target, exclude_person_id=ctx.person.id)
    if reach.people == 0:
        return say(
            _("Nobody is registered in {target} yet, so there is no one to send to.").format(
                target=target_label(ctx.session, draft.target)
            )
        )
    ctx.data["key"] = secrets.token_hex(6)
    start_at = draft.at or ctx.now
    due = after_quiet_hours(start_at, tz, ctx.settings.quiet_hours_start, ctx.settings.quiet_hours_end)
    when = _("now") if draft.at is None else format_moment(draft.at, tz)
    if due != start_at:
        when += " " + _("(quiet hours: delivery starts {time})").format(time=format_moment(due, tz))
    lines = [
        _("Please check your notice:"),
        _("To: {target}").format(target=target_label(ctx.session, draft.target)),
        _("Recipients: {people} ({parents} parents, {teachers} teachers).").format(
            people=format_number(reach.people),
            parents=format_number(reach.parents),
            teachers=format_number(reach.teachers),
        ),
    ]
    if reach.unreachable:
        lines.append(
            _("{count} of them have not linked a chat account yet and will not receive it.").format(
                count=format_number(reach.unreachable)
            )
        )
    lines += [
        _("When: {when}").format(when=when),
        _("Confirmation required: {answer}").format(answer=_("yes") if draft.ack else _("no")),
        _("Languages: {languages}").format(languages=", ".join(LOCALE_NAMES[loc] for loc in draft.texts)),
        "———",
        draft.texts[draft.base_locale],
    ]
    return say(
        "\n".join(lines),
        [Button(_("Send"), NoticeGo(str(ctx.data["key"])).pack())],
        [Button(_("Cancel"), NoticeChoice("x", "x").pack())],
        then="confirm",
    )


def confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Only Cancel arrives here (Send is a stateless action); anything else repeats the buttons."""
    if _choice(msg, "x") == "x":
        return say(_("Cancelled. Nothing was sent."), then=END)
    return say(
        _("Please press Send or Cancel."),
        [Button(_("Send"), NoticeGo(str(ctx.data.get("key", "x"))).pack())],
        [Button(_("Cancel"), NoticeChoice("x", "x").pack())],
        then="confirm",
    )


FLOW = Flow.create(
    "notice",
    start,
    {
        "target": choose_target,
        "audience": choose_audience,
        "text": take_text,
        "more_lang": choose_more_language,
        "lang_text": take_language_text,
        "when": choose_when,
        "ack": choose_ack,
        "confirm": confirm,
    },
    commands=("notice", "broadcast"),
    prefixes=("ntc", "ntcs"),
    allowed=may_send_notices,
    help=N_("send a notice"),
    help_order=40,
)
