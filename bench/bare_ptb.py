"""The baseline for the cost of an update: a bare python-telegram-bot 22 echo bot — `updater(None)` behind one
aiohttp webhook route, one sendMessage per text update, nothing stored. Run as a child process by
bench/inbound.py against the same fake Telegram server as the service.

    python -m bench.bare_ptb PORT API_URL TOKEN
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat is not None and update.effective_message is not None:
        await context.bot.send_message(update.effective_chat.id, update.effective_message.text or "")


async def main(port: int, api_url: str, token: str) -> None:
    bot = (
        Application.builder()
        .token(token)
        .base_url(f"{api_url.rstrip('/')}/bot")
        .request(HTTPXRequest(connection_pool_size=64))
        .updater(None)
        .concurrent_updates(True)
        .build()
    )
    bot.add_handler(MessageHandler(filters.TEXT, echo))

    async def hook(request: web.Request) -> web.Response:
        await bot.update_queue.put(Update.de_json(await request.json(), bot.bot))
        return web.Response()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application()
    web_app.router.add_post("/telegram/webhook", hook)
    web_app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(web_app, access_log=None)
    async with bot:
        await bot.start()
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        await bot.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
