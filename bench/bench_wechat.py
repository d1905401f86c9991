"""WeChat callback benchmark: signed, AES-encrypted callbacks through the real server, router and database.

    .venv/bin/python bench/bench_wechat.py [--callbacks 400] [--concurrency 10] [--users 200] [--db URL]

Half the callbacks open /language, half answer "1" (a numbered option), from `--users` followers.
A fake WeChat API on loopback takes customer-service sends. Printed: callbacks per second, latency
p50/p95/max, and how many missed the passive-reply deadline (answered "success", sent afterwards).
WeChat allows 5 s per callback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.app import App
from chatbot.channels.wechat.options import WeChatOptions
from chatbot.channels.wechat.sender import WeChatSender
from chatbot.channels.wechat.server import CallbackServer, start_site
from chatbot.config import Settings
from chatbot.demo import seed_demo
from db.migrate import upgrade
from db.session import make_engine, make_session_factory, transaction
from tests.channels.wechat.fakes import AES_KEY, APP_ID, SECRET, TOKEN, FakeWeChatApi, FakeWeChatServer

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


async def run(url: str, callbacks: int, concurrency: int, users: int) -> None:
    api = FakeWeChatApi()
    api_runner = web.AppRunner(api.web_app(), access_log=None)
    await api_runner.setup()
    api_site = web.TCPSite(api_runner, "127.0.0.1", 0)
    await api_site.start()
    api.base_url = f"http://127.0.0.1:{api_site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    settings = Settings(
        database_url=url,
        wechat_token=TOKEN,
        wechat_app_id=APP_ID,
        wechat_secret=SECRET,
        wechat_aes_key=AES_KEY,
        wechat_api_base_url=api.base_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = App(settings)
    options = WeChatOptions(_env_file=None)  # type: ignore[call-arg]
    server = CallbackServer(
        app, options, WeChatSender(app.session_factory, settings, options, lambda: NOW), lambda: NOW
    )
    runner, port = await start_site(server, "127.0.0.1", 0)
    latencies: list[float] = []
    late = 0
    async with aiohttp.ClientSession() as http:
        fake = FakeWeChatServer(f"http://127.0.0.1:{port}{options.path}", http, safe=True)
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            nonlocal late
            async with gate:
                started = time.perf_counter()
                xml = fake.text_xml(f"oBench{index % users:022d}", "/language" if index % 2 == 0 else "1")
                reply = fake.open_reply(*await fake.post(xml))
                latencies.append(time.perf_counter() - started)
                late += reply is None

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(callbacks)))
        elapsed = time.perf_counter() - began
    await server.drain()
    await runner.cleanup()
    await api_runner.cleanup()
    latencies.sort()

    def ms(q: float) -> str:
        return f"{latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000:.0f} ms"

    print(
        f"{url.split(':', 1)[0]}: {callbacks} callbacks, concurrency {concurrency}: "
        f"{callbacks / elapsed:.1f}/s, p50 {ms(0.5)}, p95 {ms(0.95)}, max {latencies[-1] * 1000:.0f} ms, "
        f"late (sent as customer-service messages) {late}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--db", help="database URL (default: a new SQLite file); it is migrated and seeded")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench-wechat.db"
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        seed_demo(session, NOW)
    engine.dispose()
    asyncio.run(run(url, args.callbacks, args.concurrency, args.users))


if __name__ == "__main__":
    main()
