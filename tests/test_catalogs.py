"""Every user-facing string is translated (zh_Hans, zh_Hant, en), none fuzzy, placeholders intact."""

from chatbot.catalogs import problems


def test_every_message_is_translated_in_every_locale() -> None:
    assert problems() == []
