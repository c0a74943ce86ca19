"""`paydeck listen`: events of the key's account and mode reach a local receiver, signed with the session secret."""

from __future__ import annotations

from standardwebhooks import Webhook

from server.webhooks.listen import Listener
from tests.factories import new_account
from tests.support import eventually
from tests.webhooks.helpers import emit
from tests.webhooks.receiver import receiver


async def test_listen_forwards_new_events_signed(base_url):
    account, other = await new_account(), await new_account()
    key = account.keys["secret_test"]
    before = await emit(account)  # already there when listen starts: not forwarded
    lines: list[str] = []
    async with receiver() as rec:
        listener = Listener(base_url, key, rec.url, types=["customer.*"], out=lines.append)
        try:
            await listener.start()
            wanted = await emit(account, "customer.updated")
            await emit(account, "payment_intent.created")   # filtered out by --events
            await emit(other)                                # another account
            await emit(account, livemode=True)               # another mode

            async def forwarded():
                await listener.poll_once()
                return rec.requests

            [got] = await eventually(forwarded, message="a forwarded event")
            body = Webhook(listener.secret).verify(got.body, got.headers)
            assert body["id"] == wanted and body["id"] != before
            assert any(wanted in line and "[200]" in line for line in lines)
        finally:
            await listener.aclose()
