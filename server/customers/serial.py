"""The one JSON shape of customers, credits, transfers and balance changes: REST bodies and event snapshots."""

from __future__ import annotations

from typing import Any

from server.customers.rows import Credit, Customer, Transfer
from server.ledger.rows import BalanceChange


def customer_json(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "object": "customer", "email": customer.email, "name": customer.name,
            "metadata": customer.metadata, "status": customer.status, "livemode": customer.livemode,
            "created": int(customer.created.timestamp()), "updated": int(customer.updated.timestamp())}


def credit_json(credit: Credit, balance: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": credit.id, "object": "credit", "customer": credit.customer_id, "amount": credit.amount,
        "currency": credit.currency, "transaction_id": credit.transaction_id, "entry": credit.entry_id,
        "livemode": credit.livemode, "created": int(credit.created.timestamp())}
    if balance is not None:
        data["current_balance"] = balance
    return data


def transfer_json(transfer: Transfer) -> dict[str, Any]:
    return {"id": transfer.id, "object": "transfer", "from_customer": transfer.from_customer,
            "to_customer": transfer.to_customer, "amount": transfer.amount, "currency": transfer.currency,
            "to_amount": transfer.to_amount, "to_currency": transfer.to_currency, "rate": transfer.rate,
            "entry": transfer.entry_id, "description": transfer.description, "livemode": transfer.livemode,
            "created": int(transfer.created.timestamp())}


def balance_change_json(change: BalanceChange) -> dict[str, Any]:
    return {"id": change.id, "object": "balance_transaction", "type": change.kind, "entry": change.entry_id,
            "amount": change.amount, "currency": change.currency, "balance_after": change.balance_after,
            "reference": change.reference, "description": change.description,
            "created": int(change.created.timestamp()), "created_at": change.created.isoformat()}
