"""Exact sliding-window velocity in Redis: counts, amount sums and distinct partners per key.

For each payment evaluated, `record_and_count` records it under each of its keys (card
fingerprint, customer, email, IP address) and returns, for every key and every window (1 minute,
1 hour, 24 hours, 7 days):

- how many evaluations were recorded for the key, and the sum of their amounts;
- how many distinct values of each other key were seen with it (distinct cards per IP, ...).

All of it in **one round trip**: a Lua script records and measures atomically, so concurrent
evaluations never miss each other. There is no cap: the count is the count.

**Window convention.** A window of length W evaluated at `now` holds the events stamped `t` with
`now - W < t <= now`. An event exactly 60 s old is outside the 1-minute window; one stamped at
`now` (the one being evaluated included) is inside. `now` is passed explicitly, in milliseconds,
so tests move time and so every app server's evaluation uses one clock reading.

**Storage**, per account, mode, key kind and (hashed) value, all sharing one Redis Cluster hash
tag per account and mode:

- a sorted set of events, member `"<event_id>|<amount>"`, score = the time it was recorded.
  Recording is idempotent per event id (`ZADD NX`): an evaluation retried while its event is
  still kept (7 days and the margin below) is not counted twice;
- a companion hash holding, per window, a running amount sum and the window start it is valid
  for. Each evaluation slides that start to `now - W`, subtracting the events that left (or
  adding back, if `now` went back), so a sum costs O(log n + events that moved) instead of a
  scan of the whole week. Counts are `ZCOUNT`, O(log n);
- per pair of keys, a sorted set of the partner values seen, scored by when each was last seen:
  distinct partners in a window are a `ZCOUNT`.

Entries older than the longest window plus `KEEP_MARGIN_MS` are trimmed on every evaluation and
idle keys expire after the same time. The margin lets `now` step back (clock skew between app
servers) by up to an hour without losing exactness; events stamped after `now` are not counted.

Values are hashed (BLAKE2b, 128 bits) before they become key names, so emails and IP addresses
are not readable from Redis keys; emails are lower-cased and IP addresses written canonically
first, so `Buyer@x.com` and `buyer@x.com` are one email.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from server.fraud.signals import (
    VELOCITY_KEYS,
    VELOCITY_WINDOWS,
    amount_signal,
    attempts_signal,
    distinct_signal,
)

KINDS: tuple[str, ...] = tuple(key.kind for key in VELOCITY_KEYS)
WINDOWS_MS: tuple[int, ...] = tuple(window.milliseconds for window in VELOCITY_WINDOWS)
KEEP_MARGIN_MS = 3_600_000
KEEP_MS = max(WINDOWS_MS) + KEEP_MARGIN_MS
_scripts: WeakKeyDictionary[Redis, AsyncScript] = WeakKeyDictionary()

_SCRIPT = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local amount = tonumber(ARGV[3])
local n_kinds = tonumber(ARGV[4])
local n_windows = tonumber(ARGV[5])
local keep = tonumber(ARGV[6])
local windows = {}
for i = 1, n_windows do windows[i] = tonumber(ARGV[6 + i]) end
local partners_from = 7 + n_windows

local function fmt(x) return string.format('%.0f', x) end

-- Sum of the amounts of the events stamped in (low, high].
local function total(key, low, high)
  local sum = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. low, high)) do
    sum = sum + tonumber(string.match(m, '|(%-?%d+)$'))
  end
  return sum
end

local out = {}
for k = 1, n_kinds do
  local events, sums = KEYS[2 * k - 1], KEYS[2 * k]
  -- Slide each window's running sum to start at now - W, before this event is added.
  local running = {}
  for i = 1, n_windows do
    local start = now - windows[i]
    local cursor = redis.call('HGET', sums, 'c' .. i)
    if not cursor then
      running[i] = total(events, fmt(start), '+inf')
    else
      cursor = tonumber(cursor)
      running[i] = tonumber(redis.call('HGET', sums, 's' .. i))
      if start > cursor then
        running[i] = running[i] - total(events, fmt(cursor), fmt(start))
      elseif start < cursor then
        running[i] = running[i] + total(events, fmt(start), fmt(cursor))
      end
    end
  end
  local fresh = redis.call('ZADD', events, 'NX', now, member)
  local later = total(events, fmt(now), '+inf')
  for i = 1, n_windows do
    local start = now - windows[i]
    if fresh == 1 then running[i] = running[i] + amount end
    redis.call('HSET', sums, 'c' .. i, fmt(start), 's' .. i, fmt(running[i]))
    out[#out + 1] = redis.call('ZCOUNT', events, '(' .. fmt(start), fmt(now))
    out[#out + 1] = running[i] - later
  end
  redis.call('ZREMRANGEBYSCORE', events, '-inf', fmt(now - keep))
  redis.call('PEXPIRE', events, keep)
  redis.call('PEXPIRE', sums, keep)
end

for j = 2 * n_kinds + 1, #KEYS do
  local partners = KEYS[j]
  local partner = ARGV[partners_from + j - 2 * n_kinds - 1]
  local seen = redis.call('ZSCORE', partners, partner)
  if not seen or tonumber(seen) < now then redis.call('ZADD', partners, now, partner) end
  for i = 1, n_windows do
    out[#out + 1] = redis.call('ZCOUNT', partners, '(' .. fmt(now - windows[i]), fmt(now))
  end
  redis.call('ZREMRANGEBYSCORE', partners, '-inf', fmt(now - keep))
  redis.call('PEXPIRE', partners, keep)
end
return out
"""


@dataclass(frozen=True)
class VelocityEvent:
    """One evaluation to record: a unique id, its amount (an integer, e.g. USD cents) and its keys.

    `keys` maps a key kind ("card", "customer", "email", "ip_address") to its value; a kind that
    is absent or None is neither recorded nor reported.
    """

    event_id: str
    amount: int
    keys: Mapping[str, str | None]
    # A retried evaluation must reuse its event id *and* amount: the pair is the stored member.


@dataclass(frozen=True)
class WindowTotals:
    count: int
    amount: int


@dataclass(frozen=True)
class VelocityCounts:
    """`totals[kind][window_suffix]` and `distinct[(counted_kind, kind)][window_suffix]`."""

    totals: Mapping[str, Mapping[str, WindowTotals]]
    distinct: Mapping[tuple[str, str], Mapping[str, int]]

    def signals(self, amount_scale: float = 100) -> dict[str, int | float]:
        """The catalogue's velocity signals; amounts are divided by `amount_scale` (cents -> USD)."""
        values: dict[str, int | float] = {}
        for kind, windows in self.totals.items():
            for suffix, totals in windows.items():
                values[attempts_signal(kind, suffix)] = totals.count
                values[amount_signal(kind, suffix)] = totals.amount / amount_scale
        for (counted, kind), counts in self.distinct.items():
            for suffix, count in counts.items():
                values[distinct_signal(counted, kind, suffix)] = count
        return values


def normalise(kind: str, value: str) -> str:
    """One spelling per value: emails lower-cased, IP addresses canonical, others trimmed."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "ip_address":
        try:
            return ipaddress.ip_address(value).compressed
        except ValueError:
            return value
    return value


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


async def record_and_count(redis: Redis, account_id: str, livemode: bool, event: VelocityEvent,
                           now_ms: int) -> VelocityCounts:
    """Record `event` at `now_ms` under each of its keys and return every window's figures."""
    unknown = set(event.keys) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown velocity key kinds: {sorted(unknown)}")
    if not isinstance(event.amount, int) or isinstance(event.amount, bool):
        raise ValueError("a velocity amount is an integer")
    present = {kind: _digest(normalise(kind, value)) for kind in KINDS
               if (value := event.keys.get(kind)) not in (None, "")}
    prefix = f"velocity:{{{account_id}:{'live' if livemode else 'test'}}}"
    kinds = list(present)
    pairs = [(counted, kind) for kind in kinds for counted in kinds if counted != kind]
    keys = [name for kind in kinds for name in (f"{prefix}:{kind}:{present[kind]}",
                                                f"{prefix}:{kind}:{present[kind]}:sums")]
    keys += [f"{prefix}:{counted}_for_{kind}:{present[kind]}" for counted, kind in pairs]
    args: list[str | int] = [now_ms, f"{event.event_id}|{event.amount}", event.amount, len(kinds),
                             len(WINDOWS_MS), KEEP_MS, *WINDOWS_MS, *(present[counted] for counted, _kind in pairs)]
    reply = [int(x) for x in await _script(redis)(keys=keys, args=args)]
    return _unpack(reply, kinds, pairs)


def _script(redis: Redis) -> AsyncScript:
    """The script bound to this client; it runs as EVALSHA, loading itself once per Redis server."""
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = redis.register_script(_SCRIPT)
    return script


def _unpack(reply: list[int], kinds: list[str], pairs: list[tuple[str, str]]) -> VelocityCounts:
    suffixes = [window.suffix for window in VELOCITY_WINDOWS]
    position = 0
    totals: dict[str, dict[str, WindowTotals]] = {}
    for kind in kinds:
        totals[kind] = {}
        for suffix in suffixes:
            totals[kind][suffix] = WindowTotals(reply[position], reply[position + 1])
            position += 2
    distinct: dict[tuple[str, str], dict[str, int]] = {}
    for pair in pairs:
        distinct[pair] = dict(zip(suffixes, reply[position:position + len(suffixes)], strict=True))
        position += len(suffixes)
    return VelocityCounts(totals, distinct)
