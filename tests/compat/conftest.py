"""The official `stripe` package (pinned in requirements.txt) pointed at the test server's /stripe/v1."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import stripe

from tests.factories import new_account

T = TypeVar("T")


async def sdk(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous SDK call the way an integration does, off the event loop that serves the app."""
    return await asyncio.to_thread(functools.partial(call, *args, **kwargs))


@pytest.fixture
async def merchant(server):
    return await new_account(name="Stripe Migrant")


@pytest.fixture
def client(server, merchant) -> stripe.StripeClient:
    """A StripeClient whose only changes are the base address and the key."""
    return stripe.StripeClient(merchant.keys["secret_test"], base_addresses={"api": f"{server}/stripe"},
                               max_network_retries=0)
