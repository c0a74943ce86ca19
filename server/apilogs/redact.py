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
SECRET_NAMES = (
    r"_?csrf(?:_?token)?|pass(?:word|wd|phrase)?|new_?password|current_?password|old_?password|"
    r"cvc2?|cvv2?|csc|cvn|card_?number|pan|pin|secret|client_?secret|api_?key|apikey|access_?token|"
    r"refresh_?token|token|authorization|private_?key|signing_?secret|webhook_?secret"
)
SECRET_FIELD = re.compile(rf"^(?:{SECRET_NAMES})$", re.IGNORECASE)
# A JSON text with no backslash spells every key as written, between quotes: a secret-named key shows as this.
SECRET_KEY_QUOTED = re.compile(rf'"(?:{SECRET_NAMES})"', re.IGNORECASE)
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
    if digits.isascii():  # in C: sums of bytes (CARD_RE's \d also matches other scripts' digits: the loop below)
        backwards = digits.encode("ascii")[::-1]
        kept, doubled = backwards[0::2], backwards[1::2]
        return (sum(kept) - 48 * len(kept) + sum(doubled.translate(_LUHN_DOUBLED))) % 10 == 0
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


# The byte of a digit n -> the Luhn sum's term for n in a doubled place (other bytes never reach it).
_LUHN_DOUBLED = bytes((2 * (c - 48) - 9 if 2 * (c - 48) > 9 else 2 * (c - 48)) if 48 <= c <= 57 else 0
                      for c in range(256))


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


def json_could_hold_secret(text: str) -> bool:
    """False when scrub_value would change nothing in the value JSON `text` holds.

    With no backslash in it, every key and string of the value is spelled in the text as it is, so a pre-test
    that finds nothing in the whole text finds nothing in any of them (a pattern that finds nothing in a text
    finds nothing in a piece of it): no secret-named key, no inline field, key, secret or digit run. Lower-cased
    ASCII is tested with plain substring searches, several times faster than the case-blind patterns; any
    other text with the patterns themselves (their case-blind matching reaches beyond ASCII).
    """
    if "\\" in text or "\x00" in text or "_test_" in text or "_live_" in text or "whsec_" in text or "_secret_" in text:
        return True
    if text.isascii():
        lower = text.lower()
        # Every INLINE_HINT match and every quoted SECRET_NAMES key holds one of these, once lower-cased.
        if ("pass" in lower or "cvc" in lower or "cvv" in lower or "csc" in lower or "cvn" in lower
                or "card" in lower or "secret" in lower or "token" in lower or "apikey" in lower or "api_key" in lower
                or "csrf" in lower or "authorization" in lower or "private" in lower or '"pan"' in lower
                or '"pin"' in lower):
            return True
    elif INLINE_HINT.search(text) is not None or SECRET_KEY_QUOTED.search(text) is not None:
        return True
    return has_digit_run(text)


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
    if has_digit_run(text):
        text = CARD_RE.sub(_card, text)
    return text


_DIGITS = b"0123456789"


def has_digit_run(text: str) -> bool:
    """DIGITS_HINT's test (13 digits, each pair apart by at most one space or dash); an ASCII text with fewer than
    13 digits in all is answered by counting them in C, without the pattern."""
    if len(text) < MIN_CARD_DIGITS:
        return False
    if text.isascii():
        data = text.encode("ascii")
        if len(data) - len(data.translate(None, _DIGITS)) < MIN_CARD_DIGITS:
            return False
    return DIGITS_HINT.search(text) is not None


def scrub_value(value: Any) -> Any:
    """JSON-shaped data: secret-named fields masked, every string scrubbed."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str):
                name, secret = _key(k)
                out[name] = MASK if secret and v not in (None, "") else scrub_value(v)
            else:
                out[k] = scrub_value(v)
        return out
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= CARD_MIN_INT:  # 13 digits or more
        return CARD_MASK if scrub_text(str(value)) == CARD_MASK else value
    return value


CARD_MIN_INT = 10 ** (MIN_CARD_DIGITS - 1)
_keys: dict[str, tuple[str, bool]] = {}  # JSON key -> (as logged, names a secret); keys found clean only


def _key(key: str) -> tuple[str, bool]:
    known = _keys.get(key)
    if known is not None:
        return known
    known = (scrub_text(key), SECRET_FIELD.match(key) is not None)
    if known[0] == key and len(key) <= SHORT_TEXT:
        if len(_keys) >= CLEAN_MAX:
            _keys.clear()
        _keys[key] = known
    return known


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


NOT_PARSED: Any = object()  # body_value's second item when the text it returns is not a JSON value's encoding


def body(raw: bytes, content_type: str, limit: int) -> str:
    """Redacted and truncated text of a request or response body."""
    return body_value(raw, content_type, limit)[0]


def body_value(raw: bytes, content_type: str, limit: int) -> tuple[str, Any]:
    """`body`, and the redacted JSON value whose msgspec encoding that text is (NOT_PARSED when it is not one:
    not JSON, read by `json` rather than msgspec, or truncated), so a reader of the text need not parse it again."""
    if not raw:
        return "", NOT_PARSED
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":  # an upload: its files are evidence, not log material
        return f"[multipart/form-data, {len(raw)} bytes: uploaded content is not logged]", NOT_PARSED
    text = raw.decode("utf-8", errors="replace")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    redacted: str | None = None
    value: Any = NOT_PARSED
    if kind.endswith("json") or text.lstrip()[:1] in ("{", "["):
        try:  # every string inside (GraphQL query text included) is scrubbed by scrub_value
            parsed, exact = json_read(text)
            # Without a backslash every key and string of the body is spelled in its text as it is: when the
            # text passes none of the pre-tests, scrub_value would return the value unchanged.
            if json_could_hold_secret(text):
                parsed = scrub_value(parsed)
            redacted = msgspec.json.encode(parsed).decode()
            if exact:
                value = parsed
        except (ValueError, RecursionError):  # JSON nested too deep to parse is still logged, as text
            redacted = None
    if redacted is None and kind == "application/x-www-form-urlencoded":
        pairs = [(k, MASK if SECRET_FIELD.match(leaf(k)) else v) for k, v in parse_qsl(text, keep_blank_values=True)]
        redacted = scrub_text(urlencode(pairs))
    if redacted is None:
        redacted = scrub_text(text)
    cut = truncate(redacted, limit)
    return cut, (value if cut is redacted else NOT_PARSED)


def json_value(text: str) -> Any:
    return json_read(text)[0]


def json_read(text: str) -> tuple[Any, bool]:
    """The value `text` holds, and whether msgspec read it (its msgspec encoding is then that value's text).
    msgspec reads JSON several times faster; what it refuses (NaN, a number beyond a float) json reads."""
    try:
        return msgspec.json.decode(text), True
    except msgspec.DecodeError:
        return json.loads(text), False


def truncate(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[:limit].decode("utf-8", errors="ignore")
    # A digit run cut in half may be the start of a card number: never keep a partial one.
    cut = TRAILING_DIGITS.sub("[REDACTED_DIGITS]", cut)
    return cut + TRUNCATED.format(total=len(data))
