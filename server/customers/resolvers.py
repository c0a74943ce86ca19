"""GraphQL queries and mutations of customers, credits and transfers."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.customers import service, wallet
from server.customers import types as t
from server.customers.rows import CustomerChanges
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="Customers of the current mode, newest first; `search` matches email, name, id.")
    async def customers(self, info: Info, first: int | None = None, after: str | None = None,
                        search: str | None = None, status: str | None = None,
                        email: str | None = None) -> Connection[t.Customer]:
        page = await service.list_customers(ctx_of(info), first_arg(first), after, email, search, status)
        return connection(page, t.Customer.from_row)

    @strawberry.field(description="One customer of the current mode.")
    async def customer(self, info: Info, id: strawberry.ID) -> t.Customer | None:
        return await one_or_none(t.Customer.from_row, service.get(ctx_of(info), str(id)))

    @strawberry.field(description="Transfers of the current mode, newest first; `customer` filters either side.")
    async def transfers(self, info: Info, first: int | None = None, after: str | None = None,
                        customer: str | None = None) -> Connection[t.Transfer]:
        page = await wallet.list_transfers(ctx_of(info), first_arg(first), after, customer)
        return connection(page, t.Transfer.from_row)

    @strawberry.field(description="One transfer of the current mode.")
    async def transfer(self, info: Info, id: strawberry.ID) -> t.Transfer | None:
        return await one_or_none(t.Transfer.from_row, wallet.get_transfer(ctx_of(info), str(id)))


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(description="Create a customer.")
    async def create_customer(self, info: Info, input: t.CreateCustomerInput) -> t.CustomerResult:
        row = await service.create(ctx_of(info), input.email, input.name, input.metadata)
        return t.CustomerPayload(customer=t.Customer.from_row(row))

    @strawberry.mutation(description="Change a customer's email, name, metadata or status.")
    async def update_customer(self, info: Info, id: strawberry.ID, input: t.UpdateCustomerInput) -> t.CustomerResult:
        changes = CustomerChanges(**{k: getattr(input, k) for k in ("email", "name", "metadata", "status")
                                     if getattr(input, k) is not strawberry.UNSET})
        row = await service.update(ctx_of(info), str(id), changes)
        return t.CustomerPayload(customer=t.Customer.from_row(row))

    @strawberry.mutation(description="Close a customer; every balance must be zero.")
    async def close_customer(self, info: Info, id: strawberry.ID) -> t.CustomerResult:
        row = await service.close(ctx_of(info), str(id))
        return t.CustomerPayload(customer=t.Customer.from_row(row))

    @strawberry.mutation(description="Add money to a customer's balance, once per transactionId.")
    async def credit_customer(self, info: Info, input: t.CreditCustomerInput) -> t.CreditResult:
        row, balance = await wallet.credit(ctx_of(info), input.customer_id, input.amount, input.currency,
                                           input.transaction_id)
        return t.CreditPayload(credit=t.Credit.from_row(row), balance=balance)

    @strawberry.mutation(description="Move money between customers, converting at the account's FX rates.")
    async def create_transfer(self, info: Info, input: t.CreateTransferInput) -> t.TransferResult:
        row = await wallet.transfer(ctx_of(info), input.from_customer, input.to_customer, input.amount,
                                    input.currency, input.to_currency, input.description)
        return t.TransferPayload(transfer=t.Transfer.from_row(row))
