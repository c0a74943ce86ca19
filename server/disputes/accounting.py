"""Every ledger entry disputes make, in one place, each a balanced entry of its own (reference: the dispute).

    opened (chargeback)   dispute_withdrawal     merchant_balance -amount  → dispute_hold +amount
                          dispute_fee            merchant_balance -fee     → dispute_hold +fee
    won                   dispute_reinstatement  dispute_hold -amount      → merchant_balance +amount
    lost                  dispute_loss           dispute_hold -amount      → processor_clearing +amount
    won or lost           dispute_fee_collected  dispute_hold -fee         → fees +fee
    lost, protected       seller_protection      platform_protection -amount → merchant_balance +amount

The merchant balance may go below zero (a dispute is never refused for it); the dispute hold may
not, and holds exactly the amount and fee of the open chargebacks. A lost dispute's money goes back
to the cardholder the way a refund does, through the processor's clearing account. The fee is kept
whatever the outcome (Stripe's rule in most countries): it pays for the network's handling, not for
the verdict. `platform_protection` is the platform's own account, which pays for covered losses and
so runs below zero by what seller protection has paid out.
"""

from __future__ import annotations

from server.context import Scope
from server.disputes.rows import Dispute
from server.ledger import service as ledger

WITHDRAWAL, FEE, REINSTATEMENT, LOSS, FEE_COLLECTED, PROTECTION = (
    "dispute_withdrawal", "dispute_fee", "dispute_reinstatement", "dispute_loss", "dispute_fee_collected",
    "seller_protection")
# The entries that move the disputed amount on the merchant balance (the fee apart): analytics' witness.
AMOUNT_KINDS = (WITHDRAWAL, REINSTATEMENT, PROTECTION)


async def _move(scope: Scope, kind: str, source: str, target: str, dispute: Dispute, amount: int) -> None:
    if amount:
        accounts = {p: await ledger.merchant_account(scope, p, dispute.currency) for p in sorted({source, target})}
        await ledger.transfer(scope, kind, accounts[source], accounts[target], amount, reference=dispute.id)


async def withdraw(scope: Scope, dispute: Dispute) -> None:
    """The amount and the fee leave the merchant balance for the hold."""
    await _move(scope, WITHDRAWAL, "merchant_balance", "dispute_hold", dispute, dispute.amount)
    await _move(scope, FEE, "merchant_balance", "dispute_hold", dispute, dispute.fee)


async def reinstate(scope: Scope, dispute: Dispute) -> None:
    """Won: the amount comes back; the fee is collected."""
    await _move(scope, REINSTATEMENT, "dispute_hold", "merchant_balance", dispute, dispute.amount)
    await _move(scope, FEE_COLLECTED, "dispute_hold", "fees", dispute, dispute.fee)


async def lose(scope: Scope, dispute: Dispute) -> None:
    """Lost: the amount goes to the cardholder's side (the processor's clearing); the fee is collected."""
    await _move(scope, LOSS, "dispute_hold", "processor_clearing", dispute, dispute.amount)
    await _move(scope, FEE_COLLECTED, "dispute_hold", "fees", dispute, dispute.fee)


async def cover(scope: Scope, dispute: Dispute) -> None:
    """Seller protection: the platform gives the merchant back the amount of a covered loss."""
    await _move(scope, PROTECTION, "platform_protection", "merchant_balance", dispute, dispute.amount)
