"""/notice: write a notice to parents and/or teachers (diagram: notice_flow.mmd).

target → audience → text → more languages? → when → ack? → preview with the exact count → Send.
Send is the stateless `ntcgo:<key>` action (see actions.py), so a second press finds the notice
already sent instead of sending it twice.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatbot.broadcast.payloads import NoticeChoice, NoticeGo, NoticeQuestion, NoticeScopePick
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
from chatbot.broadcast.views import preview_text
from chatbot.core.context import Context
from chatbot.core.dialogs import clear_dialog, load_dialog
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import BadPayload
from chatbot.core.text import clean_text
from chatbot.i18n import LOCALE_NAMES, LOCALES, N_, _
from chatbot.people.auth import has_role
from db.models import Role
from db.models.broadcast import Audience, BroadcastScope

SENDER_ROLES = (Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN)
QUICK_HOUR = time(8, 0)
# The preview's state: the Send action (actions.py) acts only on a dialog standing here.
CONFIRM = "confirm"
# Values of NoticeChoice buttons that are not data (a language code, an audience).
NO_MORE = "none"
SEND_NOW = "now"
TOMORROW = "tomorrow"


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


def _answer(msg: Incoming, choice: NoticeChoice, question: NoticeQuestion) -> str:
    """The value of a button that answers `question`; a button of another question is not valid here."""
    if choice.what is not question:
        raise BadPayload(msg.payload or "")
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
                NoticeScopePick(t.scope, t.scope_id, t.grade or 0).pack(),
            )
        ]
        for t in targets
    ]
    return say(
        _("New notice. Who is it for? Choose below, or type a target such as school:3/grade:7/parents."),
        *rows,
        then="target",
    )


def pick_target(ctx: Context, msg: Incoming, pick: NoticeScopePick) -> Outcome:
    """A scope button: check it is allowed, then ask the audience."""
    return _take_target(ctx, NoticeTarget(pick.scope, pick.id, grade=pick.grade or None), False)


def type_target(ctx: Context, msg: Incoming) -> Outcome:
    """A typed target: check it exists and is allowed; ask the audience unless it was typed."""
    text = clean_text(msg.text)
    try:
        target = parse_target(text)
    except TargetError as exc:
        return say(str(exc), then="target")
    return _take_target(ctx, target, "/" + target.audience.value in text.lower())


def _take_target(ctx: Context, target: NoticeTarget, typed_audience: bool) -> Outcome:
    try:
        check_target(ctx.session, ctx.person, target)
    except TargetError as exc:
        return say(str(exc), then="target")
    ctx.data.update(
        scope=target.scope.value, scope_id=target.scope_id, grade=target.grade, audience=target.audience.value
    )
    return _ask_text(ctx) if typed_audience else _ask_audience(ctx)


def _ask_audience(ctx: Context, prefix: str = "") -> Outcome:
    rows = [
        [Button(_(AUDIENCE_LABELS[a]), NoticeChoice(NoticeQuestion.AUDIENCE, a.value).pack())]
        for a in Audience
    ]
    question = _("Send it to whom in {place}?").format(
        place=target_label(ctx.session, _target(ctx), with_audience=False)
    )
    return say(f"{prefix}{question}", *rows, then="audience")


def choose_audience(ctx: Context, msg: Incoming, choice: NoticeChoice) -> Outcome:
    """Remember parents / teachers / both, then ask for the text."""
    value = _answer(msg, choice, NoticeQuestion.AUDIENCE)
    if value not in {a.value for a in Audience}:
        return _ask_audience(ctx, _("Please choose one of the buttons.") + "\n")
    ctx.data["audience"] = value
    return _ask_text(ctx)


def audience_text(ctx: Context, msg: Incoming) -> Outcome:
    """Typed text instead of an audience: ask again."""
    return _ask_audience(ctx, _("Please choose one of the buttons.") + "\n")


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
                NoticeChoice(NoticeQuestion.LANGUAGE, loc).pack(),
            )
        ]
        for loc in missing
    ]
    rows.append([Button(_("No, continue"), NoticeChoice(NoticeQuestion.LANGUAGE, NO_MORE).pack())])
    return say(
        _(
            "Recipients get the notice in their own language; others get the text above. Add another language?"
        ),
        *rows,
        then="more_lang",
    )


def choose_more_language(ctx: Context, msg: Incoming, choice: NoticeChoice) -> Outcome:
    """Ask for another language's text, or move on to the schedule."""
    value = _answer(msg, choice, NoticeQuestion.LANGUAGE)
    if value == NO_MORE:
        return _ask_when(ctx)
    if value not in LOCALES or value in ctx.data["texts"]:
        return _ask_more_languages(ctx)
    ctx.data["lang"] = value
    return say(_("Write the {language} version.").format(language=LOCALE_NAMES[value]), then="lang_text")


def more_language_text(ctx: Context, msg: Incoming) -> Outcome:
    """Typed text instead of a language button: offer the languages again."""
    return _ask_more_languages(ctx)


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
        [Button(_("Send now"), NoticeChoice(NoticeQuestion.WHEN, SEND_NOW).pack())],
        [Button(_("Tomorrow 08:00"), NoticeChoice(NoticeQuestion.WHEN, TOMORROW).pack())],
        then="when",
    )


def choose_when(ctx: Context, msg: Incoming, choice: NoticeChoice) -> Outcome:
    """Now, or tomorrow 08:00 in the target's time zone."""
    value = _answer(msg, choice, NoticeQuestion.WHEN)
    if value == SEND_NOW:
        return _schedule(ctx, None)
    if value != TOMORROW:
        raise BadPayload(msg.payload or "")
    tz = ZoneInfo(_tz(ctx))
    local_day = ctx.now.astimezone(tz).date() + timedelta(days=1)
    return _schedule(ctx, datetime.combine(local_day, QUICK_HOUR, tzinfo=tz).astimezone(ctx.now.tzinfo))


def type_when(ctx: Context, msg: Incoming) -> Outcome:
    """A typed date and time."""
    try:
        at = parse_when(clean_text(msg.text), ctx.now, _tz(ctx))
    except BroadcastError as exc:
        return _ask_when(ctx, str(exc) + "\n")
    return _schedule(ctx, at)


def _schedule(ctx: Context, at: datetime | None) -> Outcome:
    """Keep a time that is not in the past (nor too far ahead), then ask about confirmation."""
    try:
        check_when(at, ctx.now, _tz(ctx))
    except BroadcastError as exc:
        return _ask_when(ctx, str(exc) + "\n")
    ctx.data["at"] = at.isoformat() if at else None
    return _ask_ack(ctx, _("Should recipients confirm they have read it (a “Got it” button)?"))


def _ask_ack(ctx: Context, text: str) -> Outcome:
    return say(
        text,
        [Button(_("Yes, ask for confirmation"), NoticeChoice(NoticeQuestion.ACK, "1").pack())],
        [Button(_("No"), NoticeChoice(NoticeQuestion.ACK, "0").pack())],
        then="ack",
    )


def choose_ack(ctx: Context, msg: Incoming, choice: NoticeChoice) -> Outcome:
    """Remember whether “Got it” is required, then show the preview with the exact recipient count."""
    value = _answer(msg, choice, NoticeQuestion.ACK)
    if value not in {"0", "1"}:
        return _ask_ack(ctx, _("Please choose one of the buttons."))
    ctx.data["ack"] = value == "1"
    return preview(ctx)


def ack_text(ctx: Context, msg: Incoming) -> Outcome:
    """Typed text instead of yes/no: ask again."""
    return _ask_ack(ctx, _("Please choose one of the buttons."))


def preview(ctx: Context) -> Outcome:
    """The notice as it will go out, who gets it (exact count) and when; Send or Cancel."""
    assert ctx.person is not None
    draft = draft_of(ctx)
    reach = count_recipients(ctx.session, draft.target, exclude_person_id=ctx.person.id)
    if reach.people == 0:
        return say(
            _("Nobody is registered in {target} yet, so there is no one to send to.").format(
                target=target_label(ctx.session, draft.target)
            )
        )
    ctx.data["key"] = secrets.token_hex(6)
    text = preview_text(ctx.session, draft, reach, _tz(ctx), ctx.now, ctx.settings)
    return _ask_confirm(ctx, text)


def _ask_confirm(ctx: Context, text: str) -> Outcome:
    return say(
        text,
        [Button(_("Send"), NoticeGo(str(ctx.data.get("key", "x"))).pack())],
        [Button(_("Cancel"), NoticeChoice(NoticeQuestion.CANCEL, "x").pack())],
        then=CONFIRM,
    )


def cancel(ctx: Context, msg: Incoming, choice: NoticeChoice) -> Outcome:
    """Cancel: nothing is sent. (Send is the stateless NoticeGo action, see actions.py.)"""
    if _answer(msg, choice, NoticeQuestion.CANCEL) == "x":
        return say(_("Cancelled. Nothing was sent."), then=END)
    return confirm_text(ctx, msg)


def confirm_text(ctx: Context, msg: Incoming) -> Outcome:
    """Anything but the two buttons repeats them."""
    return _ask_confirm(ctx, _("Please press Send or Cancel."))


def take_previewed_draft(ctx: Context, key: str) -> NoticeDraft | None:
    """For the Send action: the draft this chat's dialog shows at its preview with this key, and the
    dialog closed; None (dialog untouched) when no such preview is open."""
    dialog = load_dialog(ctx)
    if dialog is None or dialog.flow != FLOW.name or dialog.state != CONFIRM:
        return None
    if dialog.data.get("key") != key:
        return None
    ctx.data = dict(dialog.data)
    clear_dialog(ctx)
    return draft_of(ctx)


FLOW = Flow.create(
    "notice",
    Entry(start, goes_to=("target", END)),
    {
        "target": State(
            buttons=[On(NoticeScopePick, pick_target)],
            text=type_target,
            goes_to=("target", "audience", "text"),
        ),
        "audience": State(
            buttons=[On(NoticeChoice, choose_audience)], text=audience_text, goes_to=("audience", "text")
        ),
        "text": State(text=take_text, goes_to=("text", "more_lang", "when")),
        "more_lang": State(
            buttons=[On(NoticeChoice, choose_more_language)],
            text=more_language_text,
            goes_to=("lang_text", "more_lang", "when"),
        ),
        "lang_text": State(text=take_language_text, goes_to=("lang_text", "more_lang", "when")),
        "when": State(buttons=[On(NoticeChoice, choose_when)], text=type_when, goes_to=("when", "ack")),
        "ack": State(buttons=[On(NoticeChoice, choose_ack)], text=ack_text, goes_to=("ack", CONFIRM, END)),
        CONFIRM: State(buttons=[On(NoticeChoice, cancel)], text=confirm_text, goes_to=(CONFIRM, END)),
    },
    commands=("notice", "broadcast"),
    allowed=may_send_notices,
    help=N_("send a notice"),
    help_order=40,
)
