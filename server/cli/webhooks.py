"""`paydeck listen`: the account's events, signed, to a local URL."""

from __future__ import annotations

import asyncio
import signal

import click


@click.command(help="Receive the account's events and forward them, signed (Standard Webhooks), to a local URL.")
@click.option("--forward-to", required=True, help="Local URL, e.g. http://localhost:3000/hooks.")
@click.option("--api-key", envvar="PAYDECK_API_KEY", required=True, help="Secret key (or PAYDECK_API_KEY).")
@click.option("--api-url", default=None, help="Paydeck's URL (default PAYDECK_PUBLIC_URL, else the running app).")
@click.option("--events", "types", default="*", help="Comma-separated event types; wildcards allowed.")
@click.option("--secret", default=None, help="Signing secret to use (default: a new one, printed).")
def listen(forward_to: str, api_key: str, api_url: str | None, types: str, secret: str | None) -> None:
    from server.urls import running_app_url
    from server.webhooks.listen import Listener

    async def go() -> None:
        listener = Listener(running_app_url(api_url), api_key, forward_to, secret=secret,
                            types=[t.strip() for t in types.split(",") if t.strip()])
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        try:
            await listener.run(stop)
        finally:
            await listener.aclose()

    asyncio.run(go())
