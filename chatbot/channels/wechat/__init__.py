"""The WeChat channel: Official Account (服务号) or WeCom (企业微信) self-built app callbacks.

- server.py   the callback endpoint: handshake, signature/AES checks (wechatpy), de-duplication,
              passive replies, late replies as customer-service messages;
- sender.py   outbox delivery: customer-service messages in the 48-hour window, templates outside;
- api.py      wechatpy's client with a configurable base URL and a DB-shared access_token;
- render.py   buttons as numbered options ("回复 1：…"), splitting to WeChat's size limit;
- runtime.py / cli.py  the channel runtime contract and `python bot.py wechat`.
"""

from __future__ import annotations

from chatbot.channels import register_channel
from chatbot.channels.wechat.server import WECHAT_CAPS


@register_channel("wechat")
class WeChatChannel:
    caps = WECHAT_CAPS


__all__ = ["WECHAT_CAPS", "WeChatChannel"]
