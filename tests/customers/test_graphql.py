"""The GraphQL surface behaves as REST does: same rules, same codes."""

from __future__ import annotations

from tests.customers.helpers import api
from tests.factories import login

CREDIT = ("mutation($input: CreditCustomerInput!) { creditCustomer(input: $input) { __typename "
          "... on CreditPayload { balance credit { id } } ... on Error { code field message } } }")
TRANSFER = ("mutation($input: CreateTransferInput!) { createTransfer(input: $input) { __typename "
            "... on TransferPayload { transfer { id toAmount } } ... on Error { code field } } }")


async def _gql(a, query: str, variables: dict) -> dict:
    resp = await a.http.post("/graphql", json={"query": query, "variables": variables}, headers=a.headers)
    return resp.json()


class TestGraphQLParity:
    async def test_credit_then_duplicate_then_bad_amount(self, http):
        a = await api(http)
        c = await a.customer()
        base = {"customerId": c["id"], "amount": 5_000_000_000, "currency": "USD", "transactionId": "g_tx"}
        first = (await _gql(a, CREDIT, {"input": base}))["data"]["creditCustomer"]
        assert first["__typename"] == "CreditPayload" and first["balance"] == 5_000_000_000  # beyond 32-bit Int
        again = (await _gql(a, CREDIT, {"input": base}))["data"]["creditCustomer"]
        assert again["code"] == "transaction_already_processed"
        assert again["message"] == "transaction was already processed"
        bad = (await _gql(a, CREDIT, {"input": {**base, "amount": -1, "transactionId": "g_tx2"}}))["data"]
        assert bad["creditCustomer"]["field"] == "amount"
        missing = (await _gql(a, CREDIT, {"input": {**base, "customerId": "cus_nope", "transactionId": "g3"}}))
        assert missing["data"]["creditCustomer"]["__typename"] == "NotFoundError"

    async def test_transfer_insufficient_funds_and_balances_history_on_the_customer(self, http):
        a = await api(http)
        alice, bob = await a.customer(), await a.customer()
        await a.credit(alice["id"], 300)
        poor = await _gql(a, TRANSFER, {"input": {"fromCustomer": bob["id"], "toCustomer": alice["id"],
                                                  "amount": 1, "currency": "USD"}})
        assert poor["data"]["createTransfer"]["code"] == "insufficient_funds"
        ok = await _gql(a, TRANSFER, {"input": {"fromCustomer": alice["id"], "toCustomer": bob["id"],
                                                "amount": 100, "currency": "USD"}})
        assert ok["data"]["createTransfer"]["transfer"]["toAmount"] == 100
        read = await _gql(a, "query($id: ID!) { customer(id: $id) { balances { amount currency } "
                             "history(first: 1) { nodes { type amount } pageInfo { hasNextPage } } } }",
                          {"id": alice["id"]})
        customer = read["data"]["customer"]
        assert customer["balances"] == [{"amount": 200, "currency": "USD"}]
        assert customer["history"]["nodes"] == [{"type": "transfer", "amount": -100}]
        assert customer["history"]["pageInfo"]["hasNextPage"] is True


class TestTestData:
    async def test_delete_all_test_data_removes_ledger_rows_but_live_history_stays_immutable(self, http, base_url):
        from server import db

        a = await api(http)
        c = await a.customer()
        await a.credit(c["id"], 100)
        owner = await login(base_url, a.account.user["email"])
        result = await owner.graphql('mutation { deleteTestData(confirm: "DELETE") { __typename } }')
        assert "errors" not in result, result
        left = await db.fetchrow("SELECT (SELECT count(*) FROM postings WHERE account_id = $1) + "
                                 "(SELECT count(*) FROM ledger_accounts WHERE account_id = $1) AS n",
                                 a.account.account["id"])
        assert left["n"] == 0
        await owner.client.aclose()
