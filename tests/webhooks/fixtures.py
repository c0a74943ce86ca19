"""Fixtures of the webhook tests, shared with the browser tests (registered as a pytest plugin)."""

from __future__ import annotations

import pytest

from server.settings import get_settings
from tests.factories import new_account, user_ctx


@pytest.fixture
def allow_private(server):
    """Receivers live on 127.0.0.1: let webhooks reach private addresses for this test."""
    settings = get_settings()
    before = settings.allow_private_webhook_urls
    settings.allow_private_webhook_urls = True
    yield
    settings.allow_private_webhook_urls = before


@pytest.fixture
async def shop(server):
    account = await new_account(name="Hook Shop")
    account.ctx = user_ctx(account.account["id"], account.user["id"])  # type: ignore[attr-defined]
    return account
