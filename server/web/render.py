"""Jinja2 rendering: a whole page, or for an HTMX request just the block that changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import format_currency, get_currency_precision
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from litestar import Request, Response
from litestar.connection import ASGIConnection

from server import clock
from server.paths import WEB

TEMPLATES = WEB / "templates"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def money(amount: int | None, currency: str, locale: str = "en_US") -> str:
    if amount is None:
        return ""
    exponent = get_currency_precision(currency.upper())
    return format_currency(amount / (10**exponent), currency.upper(), locale=locale)


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def reltime(value: Any) -> str:
    when = _parse_time(value)
    if when is None:
        return "—"
    seconds = (clock.now() - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)}{unit}"
            break
    else:
        text = f"{int(seconds)}s"
    return f"in {text}" if future else f"{text} ago"


def exact_time(value: Any) -> str:
    when = _parse_time(value)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else ""


def local_time(value: Any, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time on the local clock of an IANA zone (a report's interval, say)."""
    when = _parse_time(value)
    try:
        return when.astimezone(ZoneInfo(zone)).strftime(fmt) if when else ""
    except (ZoneInfoNotFoundError, ValueError):
        return exact_time(value)


env.filters.update(money=money, reltime=reltime, exact_time=exact_time, local_time=local_time)


def is_htmx(connection: ASGIConnection) -> bool:
    return connection.headers.get("hx-request") == "true" and connection.headers.get("hx-boosted") != "true"


def render_page(request: Request | ASGIConnection, template: str, context: dict[str, Any] | None = None, *,
                block: str | None = None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = {"request": request, **(context or {})}
    if block and is_htmx(request):
        html = render_block(env, template, block, **data)
    else:
        html = env.get_template(template).render(**data)
    return Response(html, status_code=status, media_type="text/html", headers=headers)
