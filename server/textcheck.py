"""Text that no handler can store: found once, named by its field.

PostgreSQL `text` cannot hold NUL (U+0000), and a string holding an unpaired
surrogate (valid in JSON as "\\ud800", or what a byte that is not UTF-8 becomes)
cannot be encoded at all: either one reaching a query used to be a 500. Every
surface checks its input with these helpers before a handler sees it: the
request guard (query, path and JSON bodies), dashboard forms, and GraphQL
documents and variables.
"""

from __future__ import annotations

import math
from typing import Any

from server.errors import ErrorCode, InvalidRequest

MAX_JSON_DEPTH = 64  # far beyond any body or GraphQL variables the API reads; a flood of brackets is refused


def problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid UTF-8 text"
    return None


def printable(name: str) -> str:
    """A field name fit for a message, even when the name itself is the bad text."""
    return name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace").replace("\x00", "\\u0000")


def check(text: str, param: str) -> None:
    if reason := problem(text):
        shown = printable(param)
        raise InvalidRequest(f"{shown} {reason}", param=shown, code=ErrorCode.PARAMETER_INVALID)


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def check_tree(value: Any, root: str = "", *, text: bool = True, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Walk decoded JSON without recursion: depth at most `max_depth`,
    numbers finite, and (with `text`) every key and string storable.

    Fields are named by their path: `metadata.note`, `items[2].name`.
    """
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if text:
                check(item, path or "body")
        elif isinstance(item, float) and not math.isfinite(item):
            shown = printable(path) or "body"
            raise InvalidRequest(f"{shown} is out of range", param=shown, code=ErrorCode.PARAMETER_INVALID)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                shown = printable(path.split(".", 1)[0].split("[", 1)[0]) or "body"
                raise InvalidRequest(f"{shown} is nested too deeply: at most {max_depth} levels of objects and "
                                     "arrays are accepted", param=shown, code=ErrorCode.PARAMETER_INVALID)
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                child_path = _child(path, key)
                if text and isinstance(key, str):
                    check(key, child_path)
                stack.append((child, child_path, depth + 1))
