"""A new user is answered in the language their platform hints at (Telegram's language_code, WeChat's
lang): English for any en-*, 繁體 for Taiwan, Hong Kong and Hant, 简体 for the mainland.

Each hint is tried on a bot whose default language is a different one, so a hint that is ignored
(or mapped to the default) shows up as the wrong language.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from tests.conftest import make_settings

HINTS = [
    ("en-US", "en"),
    ("en-GB", "en"),
    ("en", "en"),
    ("EN_us", "en"),
    ("zh-TW", "zh_Hant"),
    ("zh-HK", "zh_Hant"),
    ("zh-Hant", "zh_Hant"),
    ("zh-Hant-TW", "zh_Hant"),
    ("zh_TW", "zh_Hant"),
    ("zh-CN", "zh_Hans"),
    ("zh-Hans", "zh_Hans"),
    ("zh", "zh_Hans"),
]
# The first line of /help for a new, unlinked user, in each language.
HELP_HEADLINE = {"en": "What I can do for you:", "zh_Hant": "我可以幫您：", "zh_Hans": "我可以帮您："}
# The picker's language: the same for every user, whatever their hint.
LANGUAGE_BUTTONS = ["简体中文", "繁體中文", "English"]


@pytest.fixture
def consoles(app: App) -> Iterator[dict[str, ConsoleChannel]]:
    """A console per default language, all on the test's database."""
    apps = {
        locale: App(make_settings(app.settings.database_url, default_locale=locale), clock=app.clock)
        for locale in ("zh_Hans", "en")
    }
    yield {locale: ConsoleChannel(a.session_factory, a.router, clock=a.clock) for locale, a in apps.items()}
    for other in apps.values():
        other.engine.dispose()


@pytest.mark.parametrize(("hint", "expected"), HINTS)
def test_a_new_user_is_answered_in_the_language_of_the_hint(
    consoles: dict[str, ConsoleChannel], hint: str, expected: str
) -> None:
    default = "zh_Hans" if expected != "zh_Hans" else "en"
    console = consoles[default]
    replies = console.send(f"new-{hint}", "/help", lang=hint)
    assert replies[0].text.splitlines()[0] == HELP_HEADLINE[expected]
    # Without a hint, the same bot answers in its default: the hint made the difference.
    plain = console.send(f"plain-{hint}", "/help")
    assert plain[0].text.splitlines()[0] == HELP_HEADLINE[default]


@pytest.mark.parametrize(("hint", "expected"), [h for h in HINTS if h[1] != "zh_Hans"])
def test_a_users_own_choice_beats_the_hint(
    consoles: dict[str, ConsoleChannel], hint: str, expected: str
) -> None:
    console = consoles["zh_Hans"]
    who = f"chooser-{hint}"
    picker = console.send(who, "/language", lang=hint)
    assert [b.label for b in picker[-1].flat_buttons()] == LANGUAGE_BUTTONS
    console.send(who, "1", lang=hint)  # 简体中文
    assert console.send(who, "/help", lang=hint)[0].text.splitlines()[0] == HELP_HEADLINE["zh_Hans"]


@pytest.mark.parametrize("hint", ["fr-FR", "ja", "", "x-klingon", "zzz-hant"])
def test_an_unsupported_hint_falls_back_to_the_default(
    consoles: dict[str, ConsoleChannel], hint: str
) -> None:
    for default, console in consoles.items():
        replies = console.send(f"other-{default}-{hint}", "/help", lang=hint)
        assert replies[0].text.splitlines()[0] == HELP_HEADLINE[default]
