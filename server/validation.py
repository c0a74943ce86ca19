"""Validation of untrusted values shared by every domain: each check once, each refusal a 400 naming the field.

Amounts and currencies are checked by `server.ledger.money`, points in time by
`server.instants.parse_instant`; this module holds the rest that several domains
accept: metadata, email addresses and bounded text.

Metadata follows Stripe: an object of at most 50 keys (1 to 40 characters), whose
values are strings of at most 500 characters. Numbers are accepted and kept as
their text (`3` is stored as `"3"`); anything else, booleans included (`true`
would come back as the string `"True"`), is refused naming the key:
`metadata[paid]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from server.errors import InvalidRequest

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_EMAIL = 320
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def metadata(value: object, param: str = "metadata") -> dict[str, str]:
    """Key-value pairs to store: `{}` for none; strings kept, numbers as text, anything else a 400."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > MAX_METADATA_KEYS:
        raise InvalidRequest(f"{param} must be an object of at most {MAX_METADATA_KEYS} keys", param=param)
    clean: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY:
            raise InvalidRequest(f"{param} keys are strings of 1 to {MAX_METADATA_KEY} characters", param=param)
        clean[key] = metadata_value(item, f"{param}[{key}]")
    return clean


def metadata_value(value: object, param: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidRequest(f"{param} must be a string (or a number, stored as text), "
                             f"not {_json_kind(value)}", param=param)
    text = str(value)
    if len(text) > MAX_METADATA_VALUE:
        raise InvalidRequest(f"{param} must be at most {MAX_METADATA_VALUE} characters", param=param)
    return text


def merged_metadata(current: Mapping[str, str], changes: object, param: str = "metadata") -> dict[str, str]:
    """`current` updated with `changes`, where a null value removes its key (Stripe's update semantics)."""
    if changes is None:
        return dict(current)
    if not isinstance(changes, Mapping):
        raise InvalidRequest(f"{param} must be an object", param=param)
    merged: dict[str, object] = {**current, **changes}
    return metadata({k: v for k, v in merged.items() if v is not None}, param)


def email(value: object, param: str = "email") -> str:
    """A plausible email address, trimmed (case kept: the part before @ may be case-sensitive)."""
    text = value.strip() if isinstance(value, str) else ""
    if not EMAIL.match(text) or len(text) > MAX_EMAIL:
        raise InvalidRequest(f"{param} must be a valid email address", param=param)
    return text


def optional_email(value: object, param: str = "email") -> str | None:
    """An email address, or None for none given (null or an empty string)."""
    return None if value is None or value == "" else email(value, param)


def text(value: object, param: str, max_length: int, *, strip: bool = False) -> str:
    """A string of at most `max_length` characters ("" for none given)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidRequest(f"{param} must be a string of at most {max_length} characters", param=param)
    return value.strip() if strip else value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__
