"""Customer balances: credits (the ledger seed's "add"), balance, history, transfers."""

from __future__ import annotations

import re

from server import clock, db, validation
from server.context import RequestContext, Scope
from server.customers import queries
from server.customers.rows import Credit, Transfer
from server.customers.serial import credit_json, transfer_json
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound, Unprocessable
from server.events.service import emit, emit_arguments
from server.fraud import service as fraud
from server.fraud.engine import Assessment
from server.idempotency import effects
from server.ids import new_id
from server.instants import parse_instant
from server.ledger import fx
from server.ledger import queries as ledger_queries
from server.ledger import service as ledger
from server.ledger.money import currency_code, minor_amount
from server.ledger.rows import Balance, BalanceChange, FxRate
from server.pagination import Page, decode_cursor
from server.permissions import read, write

TRANSACTION_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,255}$")
MAX_DESCRIPTION = 500


async def credit(ctx: RequestContext, customer_id: str, amount: object, currency: object, transaction_id: object,
                 amount_decimal: object = None) -> tuple[Credit, int]:
    """Add money to a customer's balance once per `transaction_id`. Returns the credit and the new balance.

    The values are untrusted and checked here.
    """
    scope = ctx.require(write("customers"))
    if not isinstance(transaction_id, str) or not TRANSACTION_ID.match(transaction_id):
        raise InvalidRequest("valid transaction id required: transaction_id must be 1-255 characters of letters, "
                             "digits, '_', '-', '.' or ':'", param="transaction_id")
    code = currency_code(currency)
    minor = minor_amount(amount, code, decimal_value=amount_decimal)
    step = effects.step("credit", customer_id)
    return await ledger.with_known_accounts(
        lambda: _credit_once(ctx, scope, step, customer_id, transaction_id, minor, code))


async def _credit_once(ctx: RequestContext, scope: Scope, step: effects.Step | None, customer_id: str,
                       transaction_id: str, minor: int, code: str) -> tuple[Credit, int]:
    made = Credit(id=new_id("cr"), account_id=scope.account_id, livemode=scope.livemode,
                  customer_id=customer_id, transaction_id=transaction_id, amount=minor, currency=code,
                  entry_id=new_id("je"), created=clock.now())
    if step is None:  # no Idempotency-Key to bind: the credit is one statement that commits on its own
        return made, await _credit_statement(ctx, scope, made)
    async with db.transaction():
        if done := await effects.recall(step):  # this request's credit committed before: return it
            return await _credit_made(scope, done["id"])
        balance = await _credit_statement(ctx, scope, made)
        await effects.bind(step, "credit", made.id)
    return made, balance


async def _credit_statement(ctx: RequestContext, scope: Scope, made: Credit) -> int:
    """The customer's check, the credit, its entry (funding to wallet) and its event in one SQL call, in the
    lock order of every other write (customer, then ledger accounts). Returns the wallet's balance after it."""
    wallet = ledger.known_account_id(scope, made.customer_id, "customer_wallet", made.currency)
    funding = ledger.known_account_id(scope, scope.account_id, "funding", made.currency)
    event = emit_arguments(ctx, scope, "credit.created", "credit", made.id, credit_json(made))
    with ledger.posting_errors():
        done = await queries.credit_customer(made, "credit", wallet, funding,
                                             (ledger.PURPOSES["customer_wallet"], ledger.PURPOSES["funding"]), event)
    if done.outcome == "no_customer":
        raise NotFound(f"no customer '{made.customer_id}'", param="id")
    if done.outcome == "customer_closed":
        raise Conflict("this customer is closed and cannot receive money", param="id",
                       code=ErrorCode.CUSTOMER_CLOSED)
    if done.outcome == "duplicate_transaction":
        raise Unprocessable("transaction was already processed", param="transaction_id",
                            code=ErrorCode.TRANSACTION_ALREADY_PROCESSED)
    assert done.outcome == "credited" and done.balance is not None and done.wallet_id and done.funding_id
    await ledger.remember_account_id(scope, made.customer_id, "customer_wallet", made.currency, done.wallet_id)
    await ledger.remember_account_id(scope, scope.account_id, "funding", made.currency, done.funding_id)
    return done.balance


async def _credit_made(scope: Scope, credit_id: str) -> tuple[Credit, int]:
    """A committed credit and the wallet balance right after it."""
    row = await queries.get_credit(scope, credit_id)
    assert row is not None
    balance = await ledger_queries.balance_after_entry(scope, row.entry_id, "customer_wallet")
    assert balance is not None
    return row, balance


async def balance(ctx: RequestContext, customer_id: str, at: object = None) -> list[Balance]:
    """Balance per currency, now or at `at` (untrusted: a Unix timestamp or an ISO 8601 time)."""
    scope = ctx.require(read("customers"))
    when = parse_instant(at, "at")
    if await queries.get_customer(scope, customer_id) is None:
        raise NotFound(f"no customer '{customer_id}'", param="id")
    return await ledger.balances(scope, customer_id, "customer_wallet", when)


async def balances_of(ctx: RequestContext, customer_ids: list[str]) -> list[list[Balance]]:
    """The balance now of each customer, in the order asked: a customer's nested field (the caller read them)."""
    return await ledger.current_balances(ctx.require(read("customers")), customer_ids, "customer_wallet")


async def history(ctx: RequestContext, customer_id: str, limit: int, cursor: str | None, gte: object = None,
                  lte: object = None) -> Page[BalanceChange]:
    scope = ctx.require(read("customers"))
    after = decode_cursor(cursor)
    start, end = parse_instant(gte, "created[gte]"), parse_instant(lte, "created[lte]")
    if await queries.get_customer(scope, customer_id) is None:
        raise NotFound(f"no customer '{customer_id}'", param="id")
    rows = await ledger.history(scope, customer_id, "customer_wallet", after, limit, start, end)
    return Page.from_rows(rows, limit)


def _customer_id(value: object, param: str) -> str:
    if not isinstance(value, str) or not value.startswith("cus_") or len(value) > 40:
        raise InvalidRequest(f"{param} must be a customer id (cus_…)", param=param)
    return value


async def transfer(ctx: RequestContext, from_customer: object, to_customer: object, amount: object,
                   currency: object, to_currency: object = None, description: object = None,
                   amount_decimal: object = None) -> Transfer:
    """Move money between customers, converting at the account's FX rate when currencies differ.

    The values are untrusted and checked here.
    """
    scope = ctx.require(write("transfers"))
    sender_id, receiver_id = _customer_id(from_customer, "from_customer"), _customer_id(to_customer, "to_customer")
    code = currency_code(currency)
    target_code = code if to_currency is None else currency_code(to_currency, "to_currency")
    minor = minor_amount(amount, code, decimal_value=amount_decimal)
    text = validation.text(description, "description", MAX_DESCRIPTION)
    if sender_id == receiver_id and code == target_code:
        raise InvalidRequest("to_customer must differ from from_customer", param="to_customer")
    rate = None if target_code == code else await fx.rate_for(scope, code, target_code)
    to_amount = minor if rate is None else fx.convert(minor, code, target_code, rate)
    if to_amount <= 0:
        raise InvalidRequest(f"amount is too small to convert to {target_code}", param="amount")
    step = effects.step("transfer", sender_id)
    if made := await _made_before(scope, step):
        return made
    transfer_id = new_id("tr")
    # Radar decides before anything is posted, with no transaction held (server/fraud).
    risk = await fraud.evaluate_transfer(scope, transfer_id, amount=minor, currency=code, from_customer=sender_id)
    if risk is not None and risk.outcome == "block":
        async with db.transaction():
            await fraud.record(ctx, scope, risk)  # the decision is kept; no transfer, nothing posted
        raise fraud.blocked(risk)
    made = Transfer(id=transfer_id, account_id=scope.account_id, livemode=scope.livemode,
                    from_customer=sender_id, to_customer=receiver_id, amount=minor, currency=code,
                    to_amount=to_amount, to_currency=target_code, rate=str(fx.effective_rate(rate)) if rate else None,
                    entry_id=new_id("je"), description=text, created=clock.now(),
                    risk=risk.summary() if risk else None)
    return await ledger.with_known_accounts(lambda: _transfer_once(ctx, scope, step, made, rate, risk))


async def _transfer_once(ctx: RequestContext, scope: Scope, step: effects.Step | None, made: Transfer,
                         rate: FxRate | None, risk: Assessment | None) -> Transfer:
    text = made.description
    async with db.transaction():
        if done := await effects.recall(step):  # this request's transfer committed meanwhile: return it
            found = await queries.get_transfer(scope, done["id"])
            assert found is not None
            return found
        await _check_parties(scope, made.from_customer, made.to_customer)
        if risk is not None:
            await fraud.record(ctx, scope, risk)
        await ledger.post(scope, "transfer", await _transfer_legs(scope, made, rate), reference=made.id,
                          description=text, entry_id=made.entry_id)
        await queries.insert_transfer(made)
        await emit(ctx, scope, "transfer.created", "transfer", made.id, transfer_json(made))
        await fraud.open_review(ctx, scope, "transfer", made.id, made.risk)
        await effects.bind(step, "transfer", made.id)
    return made


async def _made_before(scope: Scope, step: effects.Step | None) -> Transfer | None:
    """The transfer this request's Idempotency-Key committed before, if any (its retry returns it)."""
    if step is None:  # no key: nothing to look for, and no transaction to open for it
        return None
    async with db.transaction():
        if done := await effects.recall(step):
            made = await queries.get_transfer(scope, done["id"])
            assert made is not None
            return made
    return None


async def _check_parties(scope: Scope, sender_id: str, receiver_id: str) -> None:
    """Both customers exist (share-locked, in id order); the sender is active and the receiver not closed."""
    found = await queries.lock_customers(scope, [sender_id, receiver_id])
    for param, cid in (("from_customer", sender_id), ("to_customer", receiver_id)):
        if cid not in found:
            raise NotFound(f"no customer '{cid}'", param=param)
    sender, receiver = found[sender_id], found[receiver_id]
    if sender.status != "active":
        raise Conflict(f"customer {sender_id} is {sender.status} and cannot send money",
                       param="from_customer", code=ErrorCode.of_customer_status(sender.status))
    if receiver.status == "closed":
        raise Conflict(f"customer {receiver_id} is closed and cannot receive money", param="to_customer",
                       code=ErrorCode.CUSTOMER_CLOSED)


async def _transfer_legs(scope: Scope, made: Transfer, rate: FxRate | None) -> list[ledger.Leg]:
    """Wallet to wallet; a conversion passes through the account's fx ledger account of each currency."""
    code, target_code = made.currency, made.to_currency
    # New ledger accounts are created in a fixed order too, so two first-time transfers
    # in opposite directions cannot wait on each other's inserts.
    wallets = {pair: await ledger.wallet_id(scope, *pair)
               for pair in sorted({(made.from_customer, code), (made.to_customer, target_code)})}
    source, target = wallets[(made.from_customer, code)], wallets[(made.to_customer, target_code)]
    if rate is None:
        return [ledger.Leg(source, code, -made.amount), ledger.Leg(target, code, made.amount)]
    fx_accounts = {c: await ledger.merchant_account_id(scope, "fx", c) for c in sorted((code, target_code))}
    fx_from, fx_to = fx_accounts[code], fx_accounts[target_code]
    return [ledger.Leg(source, code, -made.amount), ledger.Leg(fx_from, code, made.amount),
            ledger.Leg(fx_to, target_code, -made.to_amount), ledger.Leg(target, target_code, made.to_amount)]


async def get_transfer(ctx: RequestContext, transfer_id: str) -> Transfer:
    scope = ctx.require(read("transfers"))
    row = await queries.get_transfer(scope, transfer_id)
    if row is None:
        raise NotFound(f"no transfer '{transfer_id}'", param="id")
    return row


async def list_transfers(ctx: RequestContext, limit: int, cursor: str | None,
                         customer: str | None = None) -> Page[Transfer]:
    scope = ctx.require(read("transfers"))
    return Page.from_rows(await queries.list_transfers(scope, decode_cursor(cursor), limit, customer), limit)
