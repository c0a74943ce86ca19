"""The processor client on the payment path (httpcore's keep-alive pool): answers, refusals and silence, against
the real simulator the tests run."""

from __future__ import annotations

import secrets

import pytest

from server import embedded
from server.payments.processor import HttpProcessor, ProcessorError, ProcessorTimeout, processor

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


async def test_a_charge_is_made_once_per_key_over_kept_alive_connections():
    key = f"pi_client_{secrets.token_hex(6)}"
    first = await processor().charge(key, amount=1234, currency="USD", card=CARD, capture=True, reference=key)
    again = await processor().charge(key, amount=1234, currency="USD", card=CARD, capture=True, reference=key)

    assert first.status == "succeeded" and first.amount_captured == 1234 and first.card is not None
    assert again.id == first.id, "the same key answers the first charge"


async def test_a_refusal_is_a_processor_error_with_its_reason():
    with pytest.raises(ProcessorError, match="no such charge"):
        await processor().capture(f"k_{secrets.token_hex(6)}", "ch_missing", 100)


async def test_nobody_listening_is_a_timeout_not_a_failure():
    silent = HttpProcessor(f"http://127.0.0.1:{embedded.free_port()}", timeout=2)
    with pytest.raises(ProcessorTimeout, match="unreachable"):
        await silent.charge("k", amount=1, currency="USD", card=CARD, capture=True, reference="pi_x")
