"""Every ledger posting payments make, in one place, on the ledger's internal API.

Success: the processor's clearing account owes the gross; the fee (account
pricing: `fee_percent_bps` + `fee_fixed_minor`) goes to fees; the net to the
merchant balance. A refund moves its amount from the merchant balance back to
clearing (the fee is not returned), so refunding a whole payment leaves the
merchant owing the fee: the merchant balance may go below zero, and the
dashboard says so. A refund is never refused for the merchant balance.
"""

from __future__ import annotations

from server.context import Scope
from server.ledger import service as ledger
from server.payments.rows import Pricing


def fee_for(gross: int, percent_bps: int, fixed_minor: int) -> int:
    """Percentage rounded half up, plus the fixed part; never more than the gross."""
    percent = (gross * percent_bps + 5000) // 10000
    return min(gross, percent + fixed_minor)


async def record_payment(scope: Scope, payment_intent_id: str, gross: int, currency: str,
                         pricing: Pricing) -> int:
    """Post a captured payment; returns the fee. Must run in the caller's transaction."""
    fee = fee_for(gross, pricing.fee_percent_bps, pricing.fee_fixed_minor)
    await ledger.record_payment(scope, payment_intent_id, gross, fee, currency)
    return fee


async def record_refund(scope: Scope, refund_id: str, amount: int, currency: str) -> None:
    await ledger.record_refund(scope, refund_id, amount, currency)


async def reverse_refund(scope: Scope, refund_id: str, amount: int, currency: str) -> None:
    """The processor refused a refund we had posted: put the money back on the merchant balance."""
    clearing = await ledger.merchant_account(scope, "processor_clearing", currency)
    balance = await ledger.merchant_account(scope, "merchant_balance", currency)
    await ledger.transfer(scope, "refund_reversal", clearing, balance, amount, reference=refund_id)
