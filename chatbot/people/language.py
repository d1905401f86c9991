"""/language: switch between 简体中文, 繁體中文 and English, for this chat and the person (language.mmd)."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core.context import Context
from chatbot.core.flow import Flow, Outcome, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import BadPayload, Payload
from chatbot.i18n import LOCALE_NAMES, LOCALES, N_, _, set_locale


@dataclass(frozen=True)
class LanguageChoice(Payload, prefix="lang"):
    locale: str


def ask_language(ctx: Context, msg: Incoming) -> Outcome:
    """Offer the three languages as buttons, each named in its own language."""
    rows = [[Button(LOCALE_NAMES[loc], LanguageChoice(loc).pack())] for loc in LOCALES]
    return say(_("Choose your language:"), *rows, then="choose")


def choose_language(ctx: Context, msg: Incoming) -> Outcome:
    """Store the chosen language on the chat account (and the person, if linked)."""
    chosen: str | None = None
    if msg.payload:
        try:
            chosen = LanguageChoice.unpack(msg.payload).locale
        except BadPayload:
            chosen = None
    elif msg.text:
        chosen = next((loc for loc, name in LOCALE_NAMES.items() if name == msg.text.strip()), None)
    if chosen not in LOCALES:
        return say(_("Please choose one of the buttons."), then="choose")
    assert chosen is not None
    ctx.identity.locale = chosen
    if ctx.person is not None:
        ctx.person.locale = chosen
    set_locale(chosen)
    ctx.locale = chosen
    return say(_("Language set to {language}.").format(language=LOCALE_NAMES[chosen]))


FLOW = Flow.create(
    "language",
    ask_language,
    {"choose": choose_language},
    commands=("language", "lang"),
    prefixes=(LanguageChoice.prefix,),
    help=N_("change language / 切换语言"),
    help_order=92,
)
