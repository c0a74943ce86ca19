"""Redaction: secrets never reach the log table or the search index.

Applied to every header, query parameter, path and body before a record is
stored. What is removed:

- Authorization, Cookie, Set-Cookie, CSRF and similar headers (the value, not the name);
- API keys (`sk_/pk_/rk_` + mode + …), webhook secrets (`whsec_…`) and payment
  client secrets (`…_secret_…`) wherever they appear, keeping only the prefix;
- card numbers: runs of 13–19 digits, with or without spaces or dashes, that pass Luhn;
- the values of fields named like passwords, CVCs, secrets, tokens and card numbers,
  in JSON, form bodies, query strings and GraphQL arguments.

Bodies are then cut at `apilog_body_max_bytes` with a visible marker.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

MASK = "[REDACTED]"
CARD_MASK = "[REDACTED_CARD]"
TRUNCATED = "…[truncated by Paydeck: {total} bytes in all]"

SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrf-token", "x-api-key", "api-key",
    "webhook-secret", "x-webhook-secret",
})
SECRET_FIELD = re.compile(
    r"^(?:_?csrf(?:_?token)?|pass(?:word|wd|phrase)?|new_?password|current_?password|old_?password|"
    r"cvc2?|cvv2?|csc|cvn|card_?number|pan|pin|secret|client_?secret|api_?key|apikey|access_?token|"
    r"refresh_?token|token|authorization|private_?key|signing_?secret|webhook_?secret)$",
    re.IGNORECASE,
)
KEY_RE = re.compile(r"\b((?:sk|pk|rk)_(?:test|live)_)[0-9A-Za-z]+")
WHSEC_RE = re.compile(r"\b(whsec_)[A-Za-z0-9+/=_-]+")
CLIENT_SECRET_RE = re.compile(r"(_secret_)[A-Za-z0-9]+")
CARD_RE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
# `password: "x"`, `"cvc" : "123"`, `password=x` in text that is not JSON or a form (GraphQL literals, logs).
INLINE_RE = re.compile(
    r"""(?P<name>["']?\b(?:pass(?:word|wd)?|new_?password|cvc2?|cvv2?|csc|card_?number|client_?secret|"""
    r"""secret|api_?key|token)["']?\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,&)}\]]+)""",
    re.IGNORECASE,
)
INLINE_HINT = re.compile(r"pass|cvc|cvv|csc|card|secret|api_?key|token", re.IGNORECASE)
DIGITS_HINT = re.compile(r"\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d")
TRAILING_DIGITS = re.compile(r"[\d][\d -]{5,}$")
MIN_CARD_DIGITS = 13  # the shortest card number CARD_RE looks for


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")  # not re.sub: its pattern lookup was 12% of a build
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return CARD_MASK
    return match.group(0)


def _inline(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('name')}{quote}{MASK}{quote}"


def scrub_text(text: str) -> str:
    """Remove keys, secrets, card numbers and inline secret fields from free text.

    Each pattern runs only when a cheap substring test says it could match.
    Short strings (JSON keys, header values, ids) repeat from request to
    request; the ones found clean are remembered (never one that held a secret).
    """
    if not text or text in _clean:
        return text
    scrubbed = _scrub(text)
    if scrubbed == text and len(text) <= SHORT_TEXT:
        if len(_clean) >= CLEAN_MAX:
            _clean.clear()
        _clean.add(text)
    return scrubbed


SHORT_TEXT = 64  # clean strings up to this length are remembered
CLEAN_MAX = 16_384
_clean: set[str] = set()


def _scrub(text: str) -> str:
    if "\x00" in text:  # PostgreSQL text and jsonb cannot hold NUL
        text = text.replace("\x00", "\ufffd")
    if "_test_" in text or "_live_" in text:
        text = KEY_RE.sub(lambda m: m.group(1) + MASK, text)
    if "whsec_" in text:
        text = WHSEC_RE.sub(lambda m: m.group(1) + MASK, text)
    if "_secret_" in text:
        text = CLIENT_SECRET_RE.sub(lambda m: m.group(1) + MASK, text)
    if (":" in text or "=" in text) and INLINE_HINT.search(text):  # an inline field has a ':' or '='
        text = INLINE_RE.sub(_inline, text)
    if len(text) >= MIN_CARD_DIGITS and DIGITS_HINT.search(text):
        text = CARD_RE.sub(_card, text)
    return text


def scrub_value(value: Any) -> Any:
    """JSON-shaped data: secret-named fields masked, every string scrubbed."""
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k:
                (MASK if isinstance(k, str) and SECRET_FIELD.match(k) and v not in (None, "") else scrub_value(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 13:
        return CARD_MASK if scrub_text(str(value)) == CARD_MASK else value
    return value


def headers(raw: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        lower = name.lower()
        masked = MASK if lower in SECRET_HEADERS or SECRET_FIELD.match(lower.replace("-", "_")) else scrub_text(value)
        out[lower] = f"{out[lower]}, {masked}" if lower in out else masked
    return out


def query_params(query_string: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        masked = MASK if SECRET_FIELD.match(name) else scrub_text(value)
        name = scrub_text(name)
        if name in out:
            out[name] = [*out[name], masked] if isinstance(out[name], list) else [out[name], masked]
        else:
            out[name] = masked
    return out


def leaf(name: str) -> str:
    """The field a form key in bracket notation names: `payment_method_data[card][cvc]` is `cvc`."""
    return name.rstrip("]").rsplit("[", 1)[-1] if name.endswith("]") else name


def body(raw: bytes, content_type: str, limit: int) -> str:
    """Redacted and truncated text of a request or response body."""
    if not raw:
        return ""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":  # an upload: its files are evidence, not log material
        return f"[multipart/form-data, {len(raw)} bytes: uploaded content is not logged]"
    text = raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    redacted: str | None = None
    if kind.endswith("json") or text.lstrip()[:1] in ("{", "["):
        try:  # every string inside (GraphQL query text included) is scrubbed by scrub_value
            redacted = msgspec.json.encode(scrub_value(json_value(text))).decode()
        except (ValueError, RecursionError):  # JSON nested too deep to parse is still logged, as text
            redacted = None
    if redacted is None and kind == "application/x-www-form-urlencoded":
        pairs = [(k, MASK if SECRET_FIELD.match(leaf(k)) else v) for k, v in parse_qsl(text, keep_blank_values=True)]
        redacted = scrub_text(urlencode(pairs))
    if redacted is None:
        redacted = scrub_text(text)
    return truncate(redacted, limit)


def json_value(text: str) -> Any:
    """msgspec reads JSON several times faster; what it refuses (NaN, a number beyond a float) json reads."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def truncate(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[:limit].decode("utf-8", errors="ignore")
    # A digit run cut in half may be the start of a card number: never keep a partial one.
    cut = TRAILING_DIGITS.sub("[REDACTED_DIGITS]", cut)
    return cut + TRUNCATED.format(total=len(data))
