"""/language: switch between 简体中文, 繁體中文 and English, for this chat and the person (language.mmd)."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import Payload
from chatbot.i18n import LOCALE_NAMES, LOCALES, N_, _, set_locale


@dataclass(frozen=True)
class LanguageChoice(Payload, prefix="lang"):
    # Text, not an Enum: a button naming no language is asked again, like a typed answer.
    locale: str


def ask_language(ctx: Context, msg: Incoming) -> Outcome:
    """Offer the three languages as buttons, each named in its own language."""
    rows = [[Button(LOCALE_NAMES[loc], LanguageChoice(loc).pack())] for loc in LOCALES]
    return say(_("Choose your language:"), *rows, then="choose")


def choose_button(ctx: Context, msg: Incoming, pressed: LanguageChoice) -> Outcome:
    """Take the language of the pressed button."""
    return choose_language(ctx, pressed.locale)


def choose_typed(ctx: Context, msg: Incoming) -> Outcome:
    """Take a language typed by its own name ("English", "简体中文")."""
    typed = (msg.text or "").strip()
    return choose_language(ctx, next((loc for loc, name in LOCALE_NAMES.items() if name == typed), None))


def choose_language(ctx: Context, chosen: str | None) -> Outcome:
    """Store the chosen language on the chat account (and the person, if linked)."""
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
    Entry(ask_language, goes_to=("choose",)),
    {
        "choose": State(
            buttons=[On(LanguageChoice, choose_button)],
            text=choose_typed,
            goes_to=("choose", END),
        ),
    },
    commands=("language", "lang"),
    help=N_("change language / 切换语言"),
    help_order=92,
)
