"""The outbox: an event exists and is published only if its transaction commits, and only after."""

from __future__ import annotations

import asyncio

import pytest

from server import db
from server.events.service import emit
from tests.events.helpers import WSClient, emit_event, nudging, scope_of
from tests.factories import new_account
from tests.support import eventually

QUERY = "subscription { events { id type } }"


def key(account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.keys['secret_test']}"}


class Boom(Exception):
    pass


async def subscribed(ws: WSClient, scope) -> list[str]:
    """Emit markers until the subscription demonstrably receives; returns the markers."""
    markers: list[str] = []

    async def nudge():
        markers.append(await emit_event(scope, "test.marker", "test"))

    await eventually(nudging(lambda: any(m in ws.ids() for m in markers), nudge))
    return markers


class TestRollback:
    async def test_a_rolled_back_change_emits_and_publishes_nothing(self, http, base_url):
        account = await new_account()
        scope = scope_of(account)
        async with WSClient(base_url, key(account), QUERY) as ws:
            await subscribed(ws, scope)
            # when a change and its event roll back
            rolled_back: list[str] = []
            with pytest.raises(Boom):
                async with db.transaction():
                    rolled_back.append(await emit(None, scope, "customer.created", "customer", "cus_x", {}))
                    raise Boom
            # and a later change commits
            after = await emit_event(scope, "customer.updated")
            await eventually(lambda: after in ws.ids())
        # then the rolled-back event was never stored nor published
        assert rolled_back[0] not in ws.ids()
        assert (await http.get(f"/v1/events/{rolled_back[0]}", headers=key(account))).status_code == 404

    async def test_emit_outside_a_transaction_is_refused(self):
        account = await new_account()
        with pytest.raises(RuntimeError, match="inside the transaction"):
            await emit(None, scope_of(account), "customer.created", "customer", "cus_x", {})


class TestCommitOrder:
    async def test_published_only_after_commit_even_when_commits_land_out_of_order(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        async with WSClient(base_url, key(account), QUERY) as ws:
            await subscribed(ws, scope)
            # given a transaction that emits first (lower seq and id) but stays open
            release, emitted = asyncio.Event(), asyncio.Event()
            slow: list[str] = []

            async def slow_change():
                async with db.transaction():
                    slow.append(await emit(None, scope, "customer.created", "customer", "cus_slow", {}))
                    emitted.set()
                    await release.wait()

            task = asyncio.create_task(slow_change())
            await emitted.wait()
            # when later events commit and are published
            fast = await emit_event(scope, "customer.updated")
            await eventually(lambda: fast in ws.ids())
            # then the open transaction's event has not been published
            assert slow[0] not in ws.ids()
            # and once it commits it is published, though its id and seq are older than what went out before it
            release.set()
            await task
            await eventually(lambda: slow[0] in ws.ids())
            seqs = {r["id"]: r["seq"] for r in await db.fetch(
                "SELECT id, seq FROM events WHERE id = ANY($1::varchar[])", [slow[0], fast])}
            assert seqs[slow[0]] < seqs[fast]
        assert len(ws.ids()) == len(set(ws.ids()))
