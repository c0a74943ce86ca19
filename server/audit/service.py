"""The audit log: security-relevant actions, readable by admins."""

from __future__ import annotations

from typing import Any

from server import clock
from server.audit import queries
from server.context import RequestContext
from server.ids import new_id


async def record(ctx: RequestContext | None, account_id: str, action: str, target_type: str, target_id: str,
                 details: dict[str, Any] | None = None, livemode: bool | None = None) -> None:
    """Write one audit entry; call inside the transaction of the change it records."""
    principal = ctx.principal if ctx else None
    await queries.insert({
        "id": new_id("aud"), "account_id": account_id, "livemode": livemode,
        "actor_user_id": principal.user_id if principal else None,
        "actor_key_id": principal.key_id if principal else None,
        "action": action, "target_type": target_type, "target_id": target_id, "details": details or {},
        "ip_address": ctx.ip_address if ctx else None, "created": clock.now(),
    })
