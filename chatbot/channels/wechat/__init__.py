"""The WeChat channel: Official Account (服务号) or WeCom (企业微信) self-built app callbacks.

- server.py   the callback endpoint (aiohttp): passive replies, late replies as customer-service messages;
- callback.py reading a callback: handshake, signature/AES checks (wechatpy), the update as an Incoming;
- updates.py  processing an update once (de-duplication) and composing its reply, with owed messages;
- sender.py   outbox delivery: customer-service messages in the 48-hour window, templates outside;
- api.py      wechatpy's client with a configurable base URL and a DB-shared access_token;
- render.py   buttons as numbered options ("回复 1：…"), splitting to WeChat's size limit;
- runtime.py / cli.py  the serve loop and Sender, and `python bot.py wechat`;
- channel.py  the channel type the registry lists.
"""
