"""The processor adapter: the interface payments use, and its HTTP implementation.

Every call carries an idempotency key, so a retried call never charges,
captures or refunds twice. A call that times out raises `ProcessorTimeout`;
the caller leaves its object pending and the reconciler asks later.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpcore
import httpx
import msgspec

from server import db, embedded
from server.settings import get_settings


class ChargeCard(msgspec.Struct, frozen=True):
    """What the processor reports about the card it charged."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    country: str | None
    fingerprint: str


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    """The processor's answer about a charge: made, authorized, declined, captured, canceled or void."""

    id: str | None = None
    status: str  # succeeded, authorized, declined, canceled, void
    amount_captured: int = 0
    decline_code: str | None = None
    card: ChargeCard | None = None
    disputed: bool = False


class ProcessorRefund(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str


class ProcessorDispute(msgspec.Struct, frozen=True, kw_only=True):
    """What the processor reports about a dispute: opened, or changed (each change numbered by `seq`)."""

    id: str
    charge: str
    reference: str | None = None  # the charge's reference: our payment intent
    amount: int
    currency: str | None = None
    reason: str
    status: str  # Stripe's dispute statuses
    seq: int


class DisputeFeed(msgspec.Struct, frozen=True, kw_only=True):
    """Disputes changed after a sequence number, oldest change first; `feed` names the processor's memory."""

    feed: str
    data: list[ProcessorDispute]
    has_more: bool = False


Answer = TypeVar("Answer", Charge, ProcessorRefund, ProcessorDispute, DisputeFeed)


class ProcessorTimeout(Exception):
    """No answer in time: the outcome is unknown, not a failure."""


class ProcessorError(Exception):
    """The processor refused the call (4xx) or is unreachable before sending it."""


class Processor(Protocol):
    async def charge(self, key: str, *, amount: int, currency: str, card: dict[str, Any], capture: bool,
                     reference: str) -> Charge: ...

    async def resolve(self, key: str) -> Charge: ...

    async def capture(self, key: str, charge_id: str, amount: int) -> Charge: ...

    async def cancel(self, key: str, charge_id: str) -> Charge: ...

    async def refund(self, key: str, charge_id: str, amount: int) -> ProcessorRefund: ...


_JSON = msgspec.json.Encoder()


class HttpProcessor:
    """Talks to the simulator (or anything speaking its small API) over HTTP."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._pool: httpcore.AsyncConnectionPool | None = None
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}

    def pool(self) -> httpcore.AsyncConnectionPool:
        """The keep-alive connections of the calls on the payment path: httpcore's pool without httpx's request
        and response models on top (about a fifth less client CPU per call: BENCHMARKS.md "Payments", perf-pay3)."""
        if self._pool is None:
            self._pool = httpcore.AsyncConnectionPool(max_connections=200, max_keepalive_connections=100)
        return self._pool

    def client(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                             limits=httpx.Limits(max_connections=200, max_keepalive_connections=100))
        return self._client

    async def _post(self, path: str, key: str, body: dict[str, Any], answer: type[Answer]) -> Answer:
        db.forbid_transaction("a processor call")  # no connection or row lock held while we wait on it
        try:
            resp = await self.pool().request(
                "POST", self.base_url + path, content=_JSON.encode(body), extensions={"timeout": self._timeouts},
                headers=[(b"Content-Type", b"application/json"), (b"Idempotency-Key", key.encode())])
        except httpcore.TimeoutException as exc:
            raise ProcessorTimeout(str(exc) or "timed out") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise ProcessorTimeout(f"processor unreachable: {exc}") from None
        if resp.status >= 500:
            raise ProcessorTimeout(f"processor answered {resp.status}")
        if resp.status >= 400:
            raise ProcessorError(resp.content[:300].decode(errors="replace"))
        try:
            return msgspec.json.decode(resp.content, type=answer)
        except msgspec.DecodeError as exc:  # not an answer we can apply: the outcome is unknown
            raise ProcessorTimeout(f"processor answered what we cannot read: {exc}") from None

    async def charge(self, key: str, *, amount: int, currency: str, card: dict[str, Any], capture: bool,
                     reference: str) -> Charge:
        return await self._post("/v1/charges", key, {"amount": amount, "currency": currency, "card": card,
                                                     "capture": capture, "reference": reference}, Charge)

    async def resolve(self, key: str) -> Charge:
        return await self._post(f"/v1/charges/by-key/{key}/resolve", key, {}, Charge)

    async def capture(self, key: str, charge_id: str, amount: int) -> Charge:
        return await self._post(f"/v1/charges/{charge_id}/capture", key, {"amount": amount}, Charge)

    async def cancel(self, key: str, charge_id: str) -> Charge:
        return await self._post(f"/v1/charges/{charge_id}/cancel", key, {}, Charge)

    async def refund(self, key: str, charge_id: str, amount: int) -> ProcessorRefund:
        return await self._post("/v1/refunds", key, {"charge": charge_id, "amount": amount}, ProcessorRefund)

    async def open_dispute(self, key: str, charge_id: str, *, reason: str, amount: int | None,
                           inquiry: bool) -> ProcessorDispute:
        """Test mode: have the cardholder dispute a charge (the processor's test helper)."""
        return await self._post(f"/v1/charges/{charge_id}/disputes", key,
                                {"reason": reason, "amount": amount, "inquiry": inquiry}, ProcessorDispute)

    async def submit_dispute_evidence(self, key: str, dispute_id: str, evidence: dict[str, str]) -> ProcessorDispute:
        return await self._post(f"/v1/disputes/{dispute_id}/evidence", key, {"evidence": evidence}, ProcessorDispute)

    async def close_dispute(self, key: str, dispute_id: str) -> ProcessorDispute:
        return await self._post(f"/v1/disputes/{dispute_id}/close", key, {}, ProcessorDispute)

    async def dispute_feed(self, *, after: int, limit: int) -> DisputeFeed:
        """Disputes opened or changed after sequence number `after`."""
        db.forbid_transaction("a processor call")
        try:
            resp = await self.client().get("/v1/disputes", params={"after": after, "limit": limit})
        except httpx.TransportError as exc:
            raise ProcessorTimeout(f"processor unreachable: {exc}") from None
        if resp.status_code != 200:
            raise ProcessorTimeout(f"processor answered {resp.status_code}")
        try:
            return msgspec.json.decode(resp.content, type=DisputeFeed)
        except msgspec.DecodeError as exc:
            raise ProcessorTimeout(f"processor answered what we cannot read: {exc}") from None

    async def charges_for(self, reference: str) -> list[dict[str, Any]]:
        resp = await self.client().get("/v1/charges", params={"reference": reference})
        resp.raise_for_status()
        return resp.json()


_processor: HttpProcessor | None = None


def processor() -> HttpProcessor:
    global _processor
    settings = get_settings()
    url = settings.processor_url
    if not url:
        raise RuntimeError("PAYDECK_PROCESSOR_URL is not set and no simulator was started")
    if _processor is None or _processor.base_url != url.rstrip("/"):
        _processor = HttpProcessor(url, settings.processor_timeout_seconds)
    return _processor


def start_simulator(data_dir: Path):
    """Start the simulator as its own process on a free port; returns an EmbeddedProcess.

    Its charges, refunds and answers are kept in `data_dir/processor.sqlite3`,
    so a restart (of it or of the app) forgets no charge it made.
    """
    settings = get_settings()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_file = data_dir / "processor.secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(16))
        secret_file.chmod(0o600)
    port = embedded.free_port()
    args = [sys.executable, "-m", "server.payments.simulator", "--port", str(port),
            "--secret", secret_file.read_text().strip(), "--state", str(data_dir / "processor.sqlite3"),
            "--timeout-delay", str(settings.processor_timeout_delay),
            "--latency-ms", str(settings.processor_latency_ms),
            "--dispute-decision-seconds", str(settings.dispute_decision_seconds)]
    url = f"http://127.0.0.1:{port}"
    sim = embedded.EmbeddedProcess("processor simulator", args, port, url, data_dir / "processor.log",
                                   stop_signal=signal.SIGTERM, ready=lambda me: embedded.http_ready(me.url)).start()
    os.environ["PAYDECK_PROCESSOR_URL"] = url  # for child processes
    settings.processor_url = url
    return sim
