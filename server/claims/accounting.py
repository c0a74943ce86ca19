"""Every ledger entry claims make: holds on a customer's balance, releases, and paying the claim over.

    hold      claim_hold     party's customer_wallet -held  → party's claim_hold +held
    release   claim_release  party's claim_hold -held       → party's customer_wallet +held
    pay over  claim_refund (to the sender) / claim_reversal (back to the receiver):
              party's claim_hold -held, party's customer_wallet -more, merchant_balance -rest
              → the other party's customer_wallet (through the fx accounts when the currencies differ)

A hold takes what the party's wallet has, up to the claimed amount (a wallet never goes below
zero). When the claim is paid over, the party's wallet gives what it has by then towards what was
not held, and the merchant balance (the wallet's operator, which may go below zero) pays the rest,
so the winner always gets the full claimed amount. The holding party is the receiver while a claim
is open, or the sender during the appeal of a refund (the money is with the sender then).
"""

from __future__ import annotations

from dataclasses import dataclass

from server import db
from server.claims.rows import TransferClaim
from server.claims.rules import RECEIVER, SENDER
from server.context import Scope
from server.errors import PaymentRequired
from server.ledger import service as ledger
from server.ledger.rows import LedgerAccount

HOLD, RELEASE, REFUND, REVERSAL = "claim_hold", "claim_release", "claim_refund", "claim_reversal"
TRIES = 3  # a wallet spent from while we post is read again


@dataclass(frozen=True)
class Side:
    """One party of a claim: its customer, currency and the claimed amount in that currency."""

    customer: str
    currency: str
    amount: int


def side(claim: TransferClaim, party: str) -> Side:
    if party == RECEIVER:
        return Side(claim.receiver, claim.to_currency, claim.to_amount)
    return Side(claim.sender, claim.currency, claim.amount)


async def _accounts(scope: Scope, party: Side) -> tuple[LedgerAccount, LedgerAccount]:
    """The party's wallet and claim hold, created in a fixed order (as transfers create wallets)."""
    made = {purpose: await ledger.ledger_account(scope, ledger.CUSTOMER, party.customer, purpose, party.currency)
            for purpose in sorted(("customer_wallet", "claim_hold"))}
    return made["customer_wallet"], made["claim_hold"]


async def hold(scope: Scope, claim: TransferClaim, party: str) -> int:
    """Move what the party's wallet has, up to the claimed amount, onto its hold; what was held."""
    who = side(claim, party)
    for _ in range(TRIES):
        wallet, held = await _accounts(scope, who)
        amount = min(who.amount, max(wallet.balance, 0))
        if amount == 0:
            return 0
        try:
            async with db.transaction():  # a savepoint: a wallet spent meanwhile undoes only this try
                await ledger.transfer(scope, HOLD, wallet, held, amount, reference=claim.id)
            return amount
        except PaymentRequired:
            continue
    return 0


async def release(scope: Scope, claim: TransferClaim) -> None:
    """The hold goes back to the wallet of the party that holds it."""
    if claim.held_party is None or claim.amount_held == 0:
        return
    wallet, held = await _accounts(scope, side(claim, claim.held_party))
    await ledger.transfer(scope, RELEASE, held, wallet, claim.amount_held, reference=claim.id)


async def pay_over(scope: Scope, claim: TransferClaim, kind: str) -> None:
    """The holding party pays the claimed amount to the other: hold first, then its wallet, then the merchant."""
    assert claim.held_party is not None
    source = side(claim, claim.held_party)
    target = _other(claim, claim.held_party)
    for _ in range(TRIES):
        wallet, held = await _accounts(scope, source)
        merchant = await ledger.merchant_account(scope, "merchant_balance", source.currency)
        more = min(source.amount - claim.amount_held, max(wallet.balance, 0))
        rest = source.amount - claim.amount_held - more
        legs = [ledger.Leg(held.id, source.currency, -claim.amount_held), ledger.Leg(wallet.id, source.currency, -more),
                ledger.Leg(merchant.id, source.currency, -rest)]
        legs += await _to(scope, source, target)
        try:
            async with db.transaction():
                await ledger.post(scope, kind, [leg for leg in legs if leg.amount], reference=claim.id)
            return
        except PaymentRequired:
            continue
    raise PaymentRequired(f"could not pay claim {claim.id} over: the balances kept changing; retry")


def _other(claim: TransferClaim, party: str) -> Side:
    return side(claim, SENDER if party == RECEIVER else RECEIVER)


async def _to(scope: Scope, source: Side, target: Side) -> list[ledger.Leg]:
    """Legs that credit the target's wallet with its amount, converting through the fx accounts."""
    wallet = await ledger.wallet(scope, target.customer, target.currency)
    if source.currency == target.currency:
        return [ledger.Leg(wallet.id, target.currency, source.amount)]
    fx = {c: await ledger.merchant_account(scope, "fx", c) for c in sorted((source.currency, target.currency))}
    return [ledger.Leg(fx[source.currency].id, source.currency, source.amount),
            ledger.Leg(fx[target.currency].id, target.currency, -target.amount),
            ledger.Leg(wallet.id, target.currency, target.amount)]
