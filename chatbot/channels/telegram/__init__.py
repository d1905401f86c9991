"""The Telegram channel, built on python-telegram-bot's Application.

- `handlers`  updates in (private chats through the router, groups get a fixed "write to me privately"),
              replies out as messages with inline keyboards, one error handler;
- `render`    how a `Reply` becomes Bot API calls (text splitting, keyboards, attachments, edits);
- `sender`    the delivery worker's `Sender` for outbox rows;
- `runtime`   the channel runtime contract (`configured`, `serve`, `sender`): polling or webhook;
- `cli`       `python bot.py telegram`.
"""

from __future__ import annotations

from chatbot.core.messages import ChannelCaps

CHANNEL = "telegram"
TELEGRAM_CAPS = ChannelCaps(code=CHANNEL, numbered_buttons=False, can_edit=True, max_text=4096)
