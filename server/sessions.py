"""Server-side dashboard sessions in Redis.

The cookie holds a random id; Redis holds the session under a hash of it, so
a leaked Redis dump cannot be replayed as cookies. A new id is issued at
login (the old one is destroyed), the session expires after an idle period
and, whatever the activity, after an absolute lifetime. Each session carries
its own CSRF token.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from litestar.datastructures import Cookie

from server.infra import redis
from server.settings import get_settings
from server.urls import secure_cookies

COOKIE = "paydeck_session"
CSRF_COOKIE = "paydeck_csrf"


@dataclass
class Session:
    user_id: str
    account_id: str
    livemode: bool
    csrf: str
    created_at: float
    last_seen: float
    id: str = ""


def _key(session_id: str) -> str:
    return "session:" + hashlib.sha256(session_id.encode()).hexdigest()


def cookie_options(max_age: int | None = None) -> dict[str, Any]:
    settings = get_settings()
    return {"httponly": True, "secure": secure_cookies(settings), "samesite": "lax", "path": "/",
            "max_age": max_age}


def cookie(session: Session) -> Cookie:
    """The session cookie, kept for the session's absolute lifetime."""
    return Cookie(key=COOKIE, value=session.id, **cookie_options(max_age=get_settings().session_absolute_hours * 3600))


async def create(user_id: str, account_id: str, livemode: bool = False, replaces: str | None = None) -> Session:
    if replaces:
        await destroy(replaces)
    now = time.time()
    session = Session(user_id, account_id, livemode, secrets.token_urlsafe(32), now, now,
                      secrets.token_urlsafe(32))
    await _save(session)
    return session


async def _save(session: Session) -> None:
    settings = get_settings()
    data = asdict(session)
    data.pop("id")
    await redis().set(_key(session.id), json.dumps(data), ex=settings.session_idle_minutes * 60)


async def load(session_id: str | None) -> Session | None:
    if not session_id or len(session_id) > 128:
        return None
    raw = await redis().get(_key(session_id))
    if raw is None:
        return None
    session = Session(**json.loads(raw), id=session_id)
    settings = get_settings()
    now = time.time()
    if now - session.created_at > settings.session_absolute_hours * 3600:
        await destroy(session_id)
        return None
    if now - session.last_seen > 30:  # sliding idle window, refreshed at most twice a minute
        session.last_seen = now
        await _save(session)
    return session


async def update(session: Session, **changes: Any) -> None:
    for key, value in changes.items():
        setattr(session, key, value)
    await _save(session)


async def destroy(session_id: str) -> None:
    await redis().delete(_key(session_id))


def csrf_matches(expected: str | None, given: object) -> bool:
    # Compared as bytes: compare_digest refuses non-ASCII str, and a forged token may be anything
    # (even a file part of a multipart form).
    if not (expected and isinstance(given, str) and given):
        return False
    return secrets.compare_digest(expected.encode(), given.encode())
