from __future__ import annotations

from chatbot.channels.console import ConsoleChannel, render_reply


def transcript(console: ConsoleChannel, who: int | str, *lines: str, lang: str | None = None) -> str:
    """What a console user sees: each line typed, then every reply with its numbered options."""
    out = []
    for line in lines:
        out.append(f"> {line}")
        out += [render_reply(reply) for reply in console.send(who, line, lang=lang)]
    return "\n".join(out)
