"""Stripe's form encoding: `application/x-www-form-urlencoded` bodies with bracket notation, both ways.

The official Stripe SDKs send every write as a form body whose keys carry the structure:

    metadata[order]=6735&expand[0]=customer&expand[1]=latest_charge
    &payment_method_data[card][number]=4242424242424242&items[0][price]=price_1

`decode` turns such a body (or a query string) into nested dicts and lists; `encode` is the
inverse, producing exactly what the Python SDK (stripe 16.1, `stripe._encode._api_encode` plus
`urlencode` with brackets left readable) produces, for tests and for the Node SDK's shape.

Decoding rules, chosen to be strict where a guess could change a payment:

- every leaf is a string: the form format has no types, and the compatibility layer's schema
  coerces (`amount`, `capture`, ...) where it knows the parameter's type;
- `a[b]=v` makes an object; `a[]=v` appends to a list (as older SDKs and Stripe's own URLs do);
  `a[0]=v&a[1]=w` makes a list, since the SDKs always index arrays. Indices must run from 0
  without gaps, and a list may not mix indices, names and `[]`;
- keys under a free-form map keep digit keys as keys: `metadata[0]=x` is `{"metadata": {"0": "x"}}`.
  The maps are named by `maps` (by default any parameter called `metadata`, at any depth);
- a key given twice, a key that is both a value and an object, an unbalanced or empty
  bracket, a missing name, text after a bracket, invalid percent-encoding, or a body over the
  limits (`max_keys` pairs, `max_depth` bracket levels, `max_index`) is refused with a
  `FormError`: an `InvalidRequest` (HTTP 400) whose `param` names the offending parameter as sent.

An empty value is kept as the empty string: Stripe uses `metadata[key]=` to delete a key and
`description=` to unset a field, so "" must reach the service layer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from server.errors import InvalidRequest

MAX_KEYS = 1000
MAX_DEPTH = 10
MAX_INDEX = 999
MAX_KEY_LENGTH = 500
DEFAULT_MAPS = frozenset({"metadata"})

_KEY = re.compile(r"(?P<name>[^\[\]]+)(?P<brackets>(?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_APPEND = object()


class FormError(InvalidRequest):
    """A form body that cannot be decoded; `param` is the parameter as it was sent."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message, param=param or None)


def decode(body: str | bytes, *, maps: Collection[str] = DEFAULT_MAPS, max_keys: int = MAX_KEYS,
           max_depth: int = MAX_DEPTH, max_index: int = MAX_INDEX) -> dict[str, Any]:
    """Decode a form body or query string in Stripe's bracket notation into dicts and lists."""
    root: dict[str, Any] = {}
    for raw_key, value in _pairs(body, max_keys):
        path = _parse_key(raw_key, max_depth)
        _insert(root, path, value, raw_key, maps, max_index)
    return _finish(root, maps, None, "")


def _pairs(body: str | bytes, max_keys: int) -> Iterable[tuple[str, str]]:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError("the form body is not valid UTF-8") from None
    pieces = [piece for piece in body.split("&") if piece]
    if len(pieces) > max_keys:
        raise FormError(f"a request may carry at most {max_keys} parameters, this one has {len(pieces)}")
    for piece in pieces:
        raw_key, _, raw_value = piece.partition("=")
        try:
            key = unquote_plus(raw_key, errors="strict")
        except UnicodeDecodeError:
            raise FormError(f"the parameter name {raw_key!r} is not valid UTF-8 once decoded", raw_key) from None
        try:
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise FormError(f"the value of {key} is not valid UTF-8 once decoded", key) from None
        yield key, value


def _parse_key(key: str, max_depth: int) -> list[str | object]:
    if len(key) > MAX_KEY_LENGTH:
        raise FormError(f"a parameter name is at most {MAX_KEY_LENGTH} characters", key[:MAX_KEY_LENGTH])
    match = _KEY.fullmatch(key)
    if match is None:
        raise FormError(_malformed_reason(key), key)
    segments: list[str | object] = [match["name"]]
    for segment in _SEGMENT.findall(match["brackets"]):
        segments.append(segment if segment != "" else _APPEND)
    if len(segments) - 1 > max_depth:
        raise FormError(f"{key} nests {len(segments) - 1} levels deep; at most {max_depth} are accepted", key)
    if _APPEND in segments[:-1]:
        raise FormError(f"{key}: [] may only end a parameter name; index list items instead, like items[0][price]",
                        key)
    return segments


def _malformed_reason(key: str) -> str:
    if key == "":
        return "a parameter has no name"
    if key.startswith("["):
        return f"{key} has no name before its first ["
    depth = 0
    for position, char in enumerate(key):
        if char == "[":
            if depth:
                return f"{key} opens a [ inside another at character {position + 1}"
            depth = 1
        elif char == "]":
            if not depth:
                return f"{key} closes a ] that was never opened at character {position + 1}"
            depth = 0
        elif not depth and "[" in key[:position]:
            return f"{key} has text after a closing ] at character {position + 1}"
    return f"{key} has a [ that is never closed"


def _insert(root: dict[str, Any], path: list[str | object], value: str, raw_key: str, maps: Collection[str],
            max_index: int) -> None:
    node: dict[Any, Any] = root
    for depth, segment in enumerate(path):
        where = _display(path[: depth + 1])
        if segment is _APPEND:
            node.setdefault(_APPEND, []).append(value)
            return
        assert isinstance(segment, str)
        in_list_position = depth > 0 and path[depth - 1] not in maps
        if in_list_position and _INDEX.fullmatch(segment) and int(segment) > max_index:
            raise FormError(f"{where}: list indices go up to {max_index}", raw_key)
        existing = node.get(segment)
        if depth == len(path) - 1:
            if existing is not None:
                kind = "twice" if isinstance(existing, str) else "both as a value and as an object or list"
                raise FormError(f"{where} is given {kind}", raw_key)
            node[segment] = value
            return
        if isinstance(existing, str):
            raise FormError(f"{where} is given both as a value and as an object or list", raw_key)
        if existing is None:
            existing = node[segment] = {}
        node = existing


def _finish(node: dict[Any, Any], maps: Collection[str], name: str | None, where: str) -> Any:
    """Turn an inserted node into its final dict or list (`name` is None for the body itself)."""
    appended = node.pop(_APPEND, None)
    if appended is not None:
        if node:
            raise FormError(f"{where} mixes [] with named or indexed items", f"{where}[]")
        return appended
    children = {key: value if isinstance(value, str) else _finish(value, maps, key, f"{where}[{key}]" if where else key)
                for key, value in node.items()}
    indices = [key for key in node if _INDEX.fullmatch(key)]
    if name is None or name in maps or not indices:
        return children
    if len(indices) != len(node):
        named = next(key for key in node if not _INDEX.fullmatch(key))
        raise FormError(f"{where} mixes list indices with names like {named}", f"{where}[{named}]")
    ordered = sorted(int(key) for key in indices)
    if ordered != list(range(len(ordered))):
        gap = next(i for i, index in enumerate(ordered) if index != i)
        raise FormError(f"{where} has list indices {', '.join(map(str, ordered))}: indices run from 0 without "
                        f"gaps, and {gap} is missing", f"{where}[{ordered[gap]}]")
    return [children[str(index)] for index in ordered]


def _display(path: list[str | object]) -> str:
    head, *rest = path
    return str(head) + "".join("[]" if segment is _APPEND else f"[{segment}]" for segment in rest)


def encode(params: Mapping[str, Any]) -> str:
    """Form-encode like the Stripe SDKs: objects as [key], lists indexed [0], booleans "true"/"false",
    None and empty containers omitted, and every bracket left unescaped (keys and values alike)."""
    body = "&".join(f"{quote_plus(key)}={quote_plus(value)}" for key, value in _flatten(params, ""))
    return body.replace("%5B", "[").replace("%5D", "]")


def _flatten(value: Any, prefix: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    elif value is None:
        return
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    else:
        yield prefix, str(value)
