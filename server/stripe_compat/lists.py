"""Stripe's list objects: `{"object": "list", "data", "has_more", "url"}`, paged with `limit`,
`starting_after` and `ending_before` (object ids), newest first.

Paydeck's services page forward from an id (keyset on id, newest first), which is `starting_after`
exactly. `ending_before` (the page just newer than an object) is found by walking forward from the
newest object in pages of 100 until the object is reached, keeping the last `limit` seen: correct,
and its cost grows with how far from the newest the object is (docs/stripe-compat.md says so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.errors import ErrorCode, InvalidRequest
from server.pagination import MAX_LIMIT, Page, id_of, parse_limit
from server.stripe_compat import params

LIST_PARAMS: params.Spec = {"limit": None, "starting_after": None, "ending_before": None, "expand": params.ANY}
Fetch = Callable[[int, str | None], Awaitable[Page[Any]]]  # (limit, after id) -> a page of the service


async def page(data: dict[str, Any], fetch: Fetch, convert: Callable[[Any], dict[str, Any]],
               url: str) -> dict[str, Any]:
    limit = parse_limit(data.get("limit") or None)
    after = params.string(data, "starting_after") or None
    before = params.string(data, "ending_before") or None
    if after and before:
        raise InvalidRequest("You may only specify one of these parameters: ending_before, starting_after.",
                             param="ending_before", code=ErrorCode.PARAMETER_INVALID)
    if before:
        items, has_more = await _before(fetch, before, limit)
    else:
        found = await fetch(limit, after)
        items, has_more = found.items, found.has_more
    return {"object": "list", "data": [convert(item) for item in items], "has_more": has_more, "url": url}


async def _before(fetch: Fetch, before: str, limit: int) -> tuple[list[Any], bool]:
    seen: list[Any] = []
    after: str | None = None
    while True:
        found = await fetch(MAX_LIMIT, after)
        for item in found.items:
            if id_of(item) == before:
                return seen[-limit:], len(seen) > limit
            seen.append(item)
            del seen[:-(limit + 1)]  # keep only what the answer needs
        if not found.has_more or not found.items:
            return [], False  # the object is not in this list (another account's, or gone): nothing before it
        after = id_of(found.items[-1])
