"""GraphQL types of customers, their balances, history, credits and transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.customers import rows, wallet
from server.gql.common import (
    ConflictError,
    Connection,
    InsufficientFundsError,
    NotFoundError,
    UnprocessableError,
    ValidationError,
    connection,
    ctx_of,
    first_arg,
)
from server.gql.loaders import loaders_of
from server.ledger.rows import BalanceChange
from server.ledger.types import Long, Money


@strawberry.type(description="One change of a customer's balance: a posting of a journal entry.")
class BalanceTransaction:
    id: str = strawberry.field(description="`pst_…`")
    type: str = strawberry.field(description="The entry's kind: credit, transfer, …")
    entry: str = strawberry.field(description="The journal entry, `je_…`.")
    amount: Long = strawberry.field(description="Signed change in minor units.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    balance_after: Long = strawberry.field(description="Balance right after.")  # type: ignore[valid-type]
    reference: str | None = strawberry.field(description="The credit's transaction_id or the transfer id.")
    description: str = strawberry.field(description="Free text given with the change.")
    created: datetime = strawberry.field(description="When it was posted.")

    @classmethod
    def from_row(cls, row: BalanceChange) -> BalanceTransaction:
        return cls(id=row.id, type=row.kind, entry=row.entry_id, amount=row.amount, currency=row.currency,
                   balance_after=row.balance_after, reference=row.reference, description=row.description,
                   created=row.created)


@strawberry.type(description="A customer: a wallet holder with a balance per currency.")
class Customer:
    id: str = strawberry.field(description="`cus_…`")
    email: str | None = strawberry.field(description="Email address, if given.")
    name: str = strawberry.field(description="Name.")
    metadata: JSON = strawberry.field(description="Your key-value pairs.")
    status: str = strawberry.field(description="active, suspended (cannot send money) or closed.")
    livemode: bool = strawberry.field(description="The mode it lives in.")
    created: datetime = strawberry.field(description="When it was created.")
    updated: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="Balance per currency; `at` gives the balance at that moment.")
    async def balances(self, info: Info, at: datetime | None = None) -> list[Money]:
        if at is None:  # now: read with every other customer's in the list
            rows = await loaders_of(info).balances_of_customer.load(self.id)
        else:
            rows = await wallet.balance(ctx_of(info), self.id, at)
        return [Money(amount=r.available, currency=r.currency) for r in rows]

    @strawberry.field(description="Balance history, newest first (keyset pagination).")
    async def history(self, info: Info, first: int | None = None, after: str | None = None,
                      created_gte: datetime | None = None,
                      created_lte: datetime | None = None) -> Connection[BalanceTransaction]:
        page = await wallet.history(ctx_of(info), self.id, first_arg(first), after, created_gte, created_lte)
        return connection(page, BalanceTransaction.from_row)

    @classmethod
    def from_row(cls, row: rows.Customer) -> Customer:
        return cls(id=row.id, email=row.email, name=row.name, metadata=JSON(row.metadata), status=row.status,
                   livemode=row.livemode, created=row.created, updated=row.updated)


@strawberry.type(description="Money added to a customer's balance once per transaction id.")
class Credit:
    id: str = strawberry.field(description="`cr_…`")
    customer_id: str = strawberry.field(description="The customer credited.")
    amount: Long = strawberry.field(description="Minor units.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    transaction_id: str = strawberry.field(description="Your id; a second credit with it is refused.")
    created: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_row(cls, row: rows.Credit) -> Credit:
        return cls(id=row.id, customer_id=row.customer_id, amount=row.amount, currency=row.currency,
                   transaction_id=row.transaction_id, created=row.created)


@strawberry.type(description="Money moved from one customer to another, possibly converted.")
class Transfer:
    id: str = strawberry.field(description="`tr_…`")
    from_customer: str = strawberry.field(description="Sender.")
    to_customer: str = strawberry.field(description="Receiver.")
    amount: Long = strawberry.field(description="Debited, in minor units of `currency`.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="Sender's currency.")
    to_amount: Long = strawberry.field(description="Credited, in `toCurrency`.")  # type: ignore[valid-type]
    to_currency: str = strawberry.field(description="Receiver's currency.")
    rate: str | None = strawberry.field(description="Effective FX rate applied, if converted.")
    description: str = strawberry.field(description="Free text.")
    created: datetime = strawberry.field(description="When it happened.")

    @classmethod
    def from_row(cls, row: rows.Transfer) -> Transfer:
        return cls(id=row.id, from_customer=row.from_customer, to_customer=row.to_customer, amount=row.amount,
                   currency=row.currency, to_amount=row.to_amount, to_currency=row.to_currency, rate=row.rate,
                   description=row.description, created=row.created)


@strawberry.input(description="A new customer.")
class CreateCustomerInput:
    email: str | None = strawberry.field(default=None, description="Email address.")
    name: str | None = strawberry.field(default=None, description="Name.")
    metadata: JSON | None = strawberry.field(default=None, description="Key-value pairs (strings).")


@strawberry.input(description="Changes to a customer; omitted fields stay.")
class UpdateCustomerInput:
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email address.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Name.")
    metadata: JSON | None = strawberry.field(default=strawberry.UNSET, description="Merged; null removes a key.")
    status: str | None = strawberry.field(default=strawberry.UNSET, description="active or suspended.")


@strawberry.input(description="Add money to a customer's balance.")
class CreditCustomerInput:
    customer_id: str = strawberry.field(description="The customer.")
    amount: Long = strawberry.field(description="Minor units, > 0.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    transaction_id: str = strawberry.field(description="Your id for this credit; used once only.")


@strawberry.input(description="Move money between customers.")
class CreateTransferInput:
    from_customer: str = strawberry.field(description="Sender.")
    to_customer: str = strawberry.field(description="Receiver.")
    amount: Long = strawberry.field(description="Minor units of `currency`, > 0.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="Sender's currency.")
    to_currency: str | None = strawberry.field(default=None, description="Receiver's currency, if different.")
    description: str | None = strawberry.field(default=None, description="Free text.")


@strawberry.type(description="The customer after the change.")
class CustomerPayload:
    customer: Customer = strawberry.field(description="The customer.")


@strawberry.type(description="The credit and the customer's balance in its currency after it.")
class CreditPayload:
    credit: Credit = strawberry.field(description="The credit.")
    balance: Long = strawberry.field(description="Current balance in the credit's currency.")  # type: ignore[valid-type]


@strawberry.type(description="The transfer.")
class TransferPayload:
    transfer: Transfer = strawberry.field(description="The transfer.")


CustomerResult = Annotated[CustomerPayload | ValidationError | NotFoundError | ConflictError,
                           strawberry.union("CustomerResult")]
CreditResult = Annotated[CreditPayload | ValidationError | NotFoundError | ConflictError | UnprocessableError,
                         strawberry.union("CreditResult")]
TransferResult = Annotated[TransferPayload | ValidationError | NotFoundError | ConflictError |
                           InsufficientFundsError, strawberry.union("TransferResult")]
