"""Realistic merchant history, day by day: customers, payments, refunds, credits, transfers, API requests.

Pure generation (no database): `days()` yields one `Day` of rows at a time, in the column order of each
table, and the journal entries that moved the money, so a writer (`backfill.py`) can COPY them and post
the entries through the ledger's bulk path without holding months of history in memory.

What makes it look real: volume grows slowly over the period, weekends are quieter, payments follow
the local day (a lunch and an evening peak, quiet nights), most succeed and the rest decline with the
simulator's codes, a few are captured later or partly, a few are abandoned; some get refunded days
later; customers come back; wallets are credited and send money to each other; every object has the
API requests that made it, with realistic latencies and the odd client error.
"""

from __future__ import annotations

import json
import math
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server import clock
from server.apilogs.records import API_VERSION, search_lexemes
from server.ids import new_id
from server.payments.accounting import fee_for
from server.payments.cards import DECLINE_MESSAGES

PI_COLUMNS = ("id", "account_id", "livemode", "status", "amount", "currency", "capture_method", "amount_capturable",
              "amount_received", "amount_refunded", "fee", "customer_id", "description", "metadata", "client_secret",
              "card_brand", "card_last4", "card_exp_month", "card_exp_year", "card_country", "card_fingerprint",
              "processor_key", "processor_charge_id", "failure_code", "failure_message", "disputed",
              "cancellation_reason", "created", "updated")
REFUND_COLUMNS = ("id", "account_id", "livemode", "payment_intent_id", "amount", "currency", "reason", "status",
                  "processor_refund_id", "created")
CUSTOMER_COLUMNS = ("id", "account_id", "livemode", "email", "name", "metadata", "status", "created", "updated")
CREDIT_COLUMNS = ("id", "account_id", "livemode", "customer_id", "transaction_id", "amount", "currency", "entry_id",
                  "created")
TRANSFER_COLUMNS = ("id", "account_id", "livemode", "from_customer", "to_customer", "amount", "currency", "to_amount",
                    "to_currency", "rate", "entry_id", "description", "created")

# currency -> (share of payments, median amount in minor units)
CURRENCIES = {"USD": (0.70, 4_500), "EUR": (0.14, 4_000), "GBP": (0.08, 3_500), "JPY": (0.06, 5_000),
              "KWD": (0.02, 14_000)}
WEEKDAY = (1.0, 1.02, 1.04, 1.06, 1.12, 0.78, 0.66)  # Monday .. Sunday
GROWTH = (0.8, 1.1)  # volume at the first and the last day of a history
MEAN_FACTOR = sum(WEEKDAY) / 7 * sum(GROWTH) / 2  # what the day factors average to over whole weeks
HOURS = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.1, 1.3, 1.4, 1.6, 1.9, 1.7, 1.4, 1.3, 1.3, 1.4, 1.6, 1.9,
         2.0, 1.7, 1.1, 0.5)
DECLINES = {"generic_decline": 4, "insufficient_funds": 4, "incorrect_cvc": 2, "expired_card": 1.5, "fraudulent": 1}
CARDS = (("visa", "4242", "US", 60), ("mastercard", "4444", "GB", 25), ("amex", "0005", "US", 8), ("visa", "1881",
                                                                                                    "DE", 7))
ITEMS = ("Espresso beans", "Ceramic mug", "Pour-over kit", "Gift card", "Tea sampler", "Monthly subscription",
         "Grinder", "Cold brew bottle")
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Margaret", "Linus",
         "Katherine", "Tim", "Hedy", "John")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Hamilton",
        "Torvalds", "Johnson", "Berners-Lee", "Lamarr", "McCarthy")
ERRORS = ((400, "invalid_request_error", "parameter_invalid", 5), (404, "invalid_request_error", "resource_missing", 3),
          (409, "invalid_request_error", "payment_intent_unexpected_state", 1),
          (429, "rate_limit_error", "rate_limited", 1), (500, "api_error", "internal_error", 0.15))

Move = tuple[str, str, str, int]  # owner ('' for the merchant), purpose, currency, signed amount


@dataclass(frozen=True)
class Payment:
    """One payment to write: created `at`; `received` is what was captured when it succeeded."""

    at: datetime
    amount: int
    currency: str
    status: str = "succeeded"  # succeeded | failed | canceled | requires_payment_method
    received: int = 0  # 0: the whole amount
    decline_code: str | None = None
    manual: bool = False
    refundable: bool = True  # may get a refund later (at the history's refund share)
    disputed: bool = False  # the cardholder disputed it (payment_intents.disputed)


@dataclass(frozen=True)
class Entry:
    """A journal entry to post: what `ledger.bulk.DatedEntry` needs, with ledger accounts named, not looked up."""

    kind: str
    created: datetime
    reference: str
    moves: tuple[Move, ...]
    id: str = ""


@dataclass
class Day:
    customers: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)
    refunds: list[tuple] = field(default_factory=list)
    credits: list[tuple] = field(default_factory=list)
    transfers: list[tuple] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    requests: list[tuple] = field(default_factory=list)  # api_request_logs rows (apilogs.records.COLUMNS)


@dataclass(frozen=True)
class Shape:
    """How much happens per day, on average over the period."""

    payments_per_day: float = 120.0
    customers_per_day: float = 14.0
    credits_per_day: float = 4.0
    transfers_per_day: float = 3.0
    reads_per_payment: float = 0.6  # GET requests besides the writes
    refund_share: float = 0.06
    with_requests: bool = True


@dataclass
class History:
    """The generator's state: who exists, what wallets hold, refunds still to come."""

    account_id: str
    livemode: bool
    zone: ZoneInfo
    pricing: dict[str, int]  # fee_percent_bps, fee_fixed_minor
    key_ids: list[str]
    shape: Shape = field(default_factory=Shape)
    rng: random.Random = field(default_factory=lambda: random.Random(90))
    requests_from: datetime | None = None  # API requests only from here on (the log retention window)
    customers: list[str] = field(default_factory=list)
    wallets: dict[tuple[str, str], int] = field(default_factory=dict)
    later: list[tuple[datetime, tuple, Entry]] = field(default_factory=list)  # refunds dated on later days
    now: datetime = field(default_factory=clock.now)  # nothing happens from here on

    def days(self, first: date, last: date, now: datetime) -> Iterator[Day]:
        """Each local day from `first` to `last`, nothing at or after `now`."""
        self.now = now
        span = max(1, (last - first).days)
        day = first
        while day <= last:
            growth = GROWTH[0] + (GROWTH[1] - GROWTH[0]) * (day - first).days / span
            yield self._day(day, growth, now)
            day += timedelta(days=1)

    # --- one day -------------------------------------------------------------------------------

    def _day(self, day: date, growth: float, now: datetime) -> Day:
        out = Day()
        factor = growth * WEEKDAY[day.weekday()] * self.rng.uniform(0.9, 1.1)
        kinds = ((self._customer, self.shape.customers_per_day), (self._payment, self.shape.payments_per_day),
                 (self._credit, self.shape.credits_per_day), (self._transfer, self.shape.transfers_per_day))
        counts = [self._poisson(mean * factor) for _, mean in kinds]
        times = self._times(day, sum(counts), now)
        makers = [make for (make, _), n in zip(kinds, counts, strict=True) for _ in range(n)]
        self.rng.shuffle(makers)
        for make, at in zip(makers, times, strict=False):  # one stream in time order: money exists before it moves
            make(out, at, now)
        self.due_refunds(out, datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone))
        return out

    def due_refunds(self, out: Day, before: datetime) -> None:
        """Move the refunds dated before `before` (made by earlier payments) into `out`, in time order."""
        due = [item for item in self.later if item[0] < before]
        self.later = [item for item in self.later if item[0] >= before]
        for at, row, entry in sorted(due, key=lambda item: item[0]):
            out.refunds.append(row)
            out.entries.append(entry)
            self._request(out, at, "POST", "/v1/refunds", 200, 180, [row[0], row[3]])

    def _times(self, day: date, count: int, now: datetime) -> list[datetime]:
        start = datetime.combine(day, time(0), tzinfo=self.zone)
        hours = self.rng.choices(range(24), HOURS, k=count)
        times = sorted(start + timedelta(hours=h, seconds=self.rng.uniform(0, 3600)) for h in hours)
        # Distinct moments: two entries of one wallet never share one, so their order is their time order.
        moments: list[datetime] = []
        for t in (t.astimezone(UTC) for t in times):
            if moments and t <= moments[-1]:
                t = moments[-1] + timedelta(microseconds=1)
            if t < now:
                moments.append(t)
        return moments

    def _poisson(self, mean: float) -> int:
        if mean > 50:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # --- objects -------------------------------------------------------------------------------

    def _customer(self, out: Day, at: datetime, now: datetime) -> str:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        cid = new_id("cus", _ms(at))
        email = f"{first}.{last}.{secrets.token_hex(2)}@example.com".lower().replace(" ", "")
        out.customers.append((cid, self.account_id, self.livemode, email, f"{first} {last}", {}, "active", at, at))
        self.customers.append(cid)
        self._request(out, at, "POST", "/v1/customers", 200, 35, [cid])
        return cid

    def _payment(self, out: Day, at: datetime, now: datetime) -> None:
        currency = self.rng.choices(list(CURRENCIES), [s for s, _ in CURRENCIES.values()])[0]
        amount = max(50, int(self.rng.lognormvariate(math.log(CURRENCIES[currency][1]), 0.7)))
        manual = self.rng.random() < 0.08
        roll = self.rng.random()
        status = ("requires_payment_method" if roll < 0.04 else "failed" if roll < 0.12
                  else "canceled" if manual and roll < 0.15 else "succeeded")
        received = amount if status == "succeeded" else 0
        if manual and received and self.rng.random() < 0.3:
            received = self.rng.randint(amount // 2, amount)
        failure = self.rng.choices(list(DECLINES), list(DECLINES.values()))[0] if status == "failed" else None
        self.payment(out, Payment(at, amount, currency, status, received, failure, manual), now)

    def payment(self, out: Day, spec: Payment, now: datetime) -> str:
        """One payment intent as `spec` describes it, its ledger entry, its refunds to come, its requests."""
        at, amount, currency, status = spec.at, spec.amount, spec.currency, spec.status
        customer = self.rng.choice(self.customers) if self.customers and self.rng.random() < 0.6 else None
        pi_id = new_id("pi", _ms(at))
        brand, last4, country, _ = self.rng.choices(CARDS, [c[3] for c in CARDS])[0]
        card = status != "requires_payment_method"
        received = (spec.received or amount) if status == "succeeded" else 0
        fee = fee_for(received, self.pricing["fee_percent_bps"], self.pricing["fee_fixed_minor"]) if received else 0
        failure = spec.decline_code or "generic_decline" if status == "failed" else None
        settled = at + timedelta(seconds=self.rng.uniform(0.4, 3.0))
        refunded = self._refunds(pi_id, at, settled, received, currency, now) if received and spec.refundable else 0
        out.payments.append((
            pi_id, self.account_id, self.livemode, status, amount, currency,
            "manual" if spec.manual else "automatic", 0, received, refunded, fee, customer, self.rng.choice(ITEMS),
            {}, f"{pi_id}_secret_{secrets.token_hex(9)}", brand if card else None, last4 if card else None,
            12 if card else None, 2031 if card else None, country if card else None,
            secrets.token_hex(8) if card else None, f"{pi_id}_hist" if card else None,
            f"ch_{pi_id[3:]}" if card and status != "failed" else None, failure,
            DECLINE_MESSAGES.get(failure or "") if failure else None, spec.disputed and status == "succeeded",
            "requested_by_customer" if status == "canceled" else None, at, settled))
        if received:
            out.entries.append(Entry("payment", settled, pi_id, (
                ("", "processor_clearing", currency, -received), ("", "merchant_balance", currency, received - fee),
                ("", "fees", currency, fee))))
        self._payment_requests(out, pi_id, at, settled, status, spec.manual, failure)
        return pi_id

    def _refunds(self, pi_id: str, at: datetime, settled: datetime, received: int, currency: str,
                 now: datetime) -> int:
        if self.rng.random() >= self.shape.refund_share:
            return 0
        when = settled + timedelta(hours=self.rng.uniform(1, 24 * 10))
        if when >= now:
            return 0
        amount = received if self.rng.random() < 0.6 else self.rng.randint(1, received)
        re_id = new_id("re", _ms(when))
        row = (re_id, self.account_id, self.livemode, pi_id, amount, currency, "requested_by_customer", "succeeded",
               f"pr_{re_id[3:]}", when)
        self.later.append((when, row, Entry("refund", when, re_id, (
            ("", "merchant_balance", currency, -amount), ("", "processor_clearing", currency, amount)))))
        return amount

    def _credit(self, out: Day, at: datetime, now: datetime) -> None:
        if not self.customers:
            return
        who = self.rng.choice(self.customers)
        currency = "USD" if self.rng.random() < 0.85 else "EUR"
        amount = self.rng.choice((1_000, 2_000, 2_500, 5_000, 10_000, 20_000))
        credit_id, entry_id = new_id("cr", _ms(at)), new_id("je", _ms(at))
        transaction = f"topup_{secrets.token_hex(6)}"
        out.credits.append((credit_id, self.account_id, self.livemode, who, transaction, amount, currency, entry_id,
                            at))
        out.entries.append(Entry("credit", at, transaction, (("", "funding", currency, -amount),
                                                             (who, "customer_wallet", currency, amount)), entry_id))
        self.wallets[(who, currency)] = self.wallets.get((who, currency), 0) + amount
        self._request(out, at, "POST", f"/v1/customers/{who}/credits", 202, 40, [credit_id, who])

    def _transfer(self, out: Day, at: datetime, now: datetime) -> None:
        funded = [(k, v) for k, v in self.wallets.items() if v >= 100]
        if not funded or len(self.customers) < 2:
            return
        (sender, currency), held = self.rng.choice(funded)
        receiver = self.rng.choice([c for c in self.customers[-200:] if c != sender] or [None])
        if receiver is None:
            return
        amount = self.rng.randint(100, held)
        transfer_id, entry_id = new_id("tr", _ms(at)), new_id("je", _ms(at))
        out.transfers.append((transfer_id, self.account_id, self.livemode, sender, receiver, amount, currency, amount,
                              currency, None, entry_id, "", at))
        out.entries.append(Entry("transfer", at, transfer_id, ((sender, "customer_wallet", currency, -amount),
                                                               (receiver, "customer_wallet", currency, amount)),
                                 entry_id))
        self.wallets[(sender, currency)] -= amount
        self.wallets[(receiver, currency)] = self.wallets.get((receiver, currency), 0) + amount
        self._request(out, at, "POST", "/v1/transfers", 200, 60, [transfer_id, sender, receiver])

    # --- API requests ----------------------------------------------------------------------------

    def _payment_requests(self, out: Day, pi_id: str, at: datetime, settled: datetime, status: str, manual: bool,
                          failure: str | None) -> None:
        self._request(out, at - timedelta(milliseconds=40), "POST", "/v1/payment_intents", 200, 40, [pi_id])
        if status == "requires_payment_method":
            return
        confirm = f"/v1/payment_intents/{pi_id}/confirm"
        self._request(out, settled - timedelta(milliseconds=300), "POST", confirm, 200, 320, [pi_id])
        if manual:
            action = "cancel" if status == "canceled" else "capture"
            self._request(out, settled + timedelta(hours=self.rng.uniform(0.1, 20)), "POST",
                          f"/v1/payment_intents/{pi_id}/{action}", 200, 260, [pi_id])
        reads = self._poisson(self.shape.reads_per_payment)
        for _ in range(reads):
            path = self.rng.choice((f"/v1/payment_intents/{pi_id}", "/v1/balance", "/v1/events",
                                    "/v1/payment_intents"))
            self._request(out, settled + timedelta(seconds=self.rng.uniform(1, 600)), "GET", path, 200, 18, [pi_id])

    def _request(self, out: Day, at: datetime, method: str, path: str, status: int, median_ms: float,
                 object_ids: list[str]) -> None:
        if (not self.shape.with_requests or not self.key_ids or at >= self.now
                or (self.requests_from and at < self.requests_from)):
            return
        error_type = code = message = None
        if self.rng.random() < 0.035:
            status, error_type, code, _ = self.rng.choices(ERRORS, [e[3] for e in ERRORS])[0]
            message = code.replace("_", " ")
            object_ids = []
        duration = round(self.rng.lognormvariate(math.log(median_ms), 0.45), 3)
        body = json.dumps({"error": {"type": error_type, "code": code, "message": message}} if error_type
                          else {"id": object_ids[0] if object_ids else None, "livemode": self.livemode})
        request_id = new_id("req", _ms(at))
        request_body = "" if method == "GET" else "{}"
        out.requests.append((
            request_id, self.account_id, self.livemode, "api", None, self.rng.choice(self.key_ids),
            "secret", method, path, None, None, {},
            {"content-type": "application/json", "authorization": "[REDACTED]", "user-agent": "paydeck-python/1.4"},
            request_body, status, {"content-type": "application/json"}, body,
            error_type, code, message, at, duration, API_VERSION, None, False, "203.0.113.7", object_ids,
            search_lexemes(request_id, path, None, message, request_body, body)))


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
