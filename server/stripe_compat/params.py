"""A compat request's parameters: read from a form or JSON body (or the query string), checked against what
the endpoint takes, and coerced where the form format has no types.

Stripe refuses a parameter it does not know with a 400 naming it (`Received unknown parameter: foo`); so do
we, at any depth (`payment_method_data[card][colour]`). An endpoint's parameters are a `Spec`: a dict from
name to `None` (a leaf), `ANY` (a free-form value such as `metadata`) or a nested `Spec`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from server import textcheck
from server.errors import ErrorCode, InvalidRequest, UnsupportedMediaType
from server.stripe_compat import forms

ANY = "any"
Spec = dict[str, Any]
MAX_BODY_DEPTH = 12
FORM = "application/x-www-form-urlencoded"


async def read(request: Request) -> dict[str, Any]:
    """The parameters: the query string for GET and DELETE, otherwise the body (form or JSON)."""
    if request.method in ("GET", "DELETE"):
        data = forms.decode(request.scope.get("query_string", b""))
    else:
        data = _body(await request.body(), request.headers.get("content-type"))
    textcheck.check_tree(data, max_depth=MAX_BODY_DEPTH)
    return data


def _body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    if not raw.strip():
        return {}
    kind = (content_type or FORM).split(";", 1)[0].strip().lower()
    if kind == FORM:
        return forms.decode(raw)
    if kind == "application/json" or kind.endswith("+json"):
        try:
            data = msgspec.json.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            raise InvalidRequest("the request body is not valid JSON", param="body",
                                 code=ErrorCode.PARAMETER_INVALID) from None
        if not isinstance(data, dict):
            raise InvalidRequest("a JSON body must be an object", param="body", code=ErrorCode.PARAMETER_INVALID)
        return data
    raise UnsupportedMediaType(f"Content-Type '{content_type}' is not supported: send "
                               f"'{FORM}' (what the Stripe SDKs send) or 'application/json'", param="Content-Type")


def check(data: dict[str, Any], spec: Spec, prefix: str = "") -> None:
    """Refuse the first parameter `spec` does not name, as Stripe does."""
    for name, value in data.items():
        where = f"{prefix}[{name}]" if prefix else name
        if name not in spec:
            raise InvalidRequest(f"Received unknown parameter: {where}", param=where, code=ErrorCode.PARAMETER_UNKNOWN)
        inner = spec[name]
        if isinstance(inner, dict):
            if not isinstance(value, dict):
                raise InvalidRequest(f"Invalid object: {where} must be an object", param=where,
                                     code=ErrorCode.PARAMETER_INVALID)
            check(value, inner, where)


def take(data: dict[str, Any], spec: Spec) -> dict[str, Any]:
    check(data, spec)
    return data


def string(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"Missing required param: {name}.", param=name, code=ErrorCode.PARAMETER_MISSING)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"Invalid string: {name} must be a string", param=name, code=ErrorCode.PARAMETER_INVALID)
    return value


def integer(data: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    """An integer sent as form text ("2000") or as a JSON number; anything else names `name`."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"Missing required param: {name}.", param=name, code=ErrorCode.PARAMETER_MISSING)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) <= 20:
        return int(value.strip(), 10)
    raise InvalidRequest(f"Invalid integer: {name} must be an integer", param=name, code=ErrorCode.PARAMETER_INVALID)


def boolean(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise InvalidRequest(f"Invalid boolean: {name} must be true or false", param=name,
                         code=ErrorCode.PARAMETER_INVALID)


def strings(data: dict[str, Any], name: str) -> list[str] | None:
    """A list of strings (`expand[0]=a&expand[1]=b`, `expand[]=a`, or a JSON array)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):  # bracket keys under a name with no list position: keep the values in order
        value = list(value.values())
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"Invalid array: {name} must be a list of strings", param=name,
                             code=ErrorCode.PARAMETER_INVALID)
    return value


def metadata(data: dict[str, Any]) -> dict[str, Any] | None:
    """`metadata[k]=v` of a create; `metadata=` is no metadata."""
    value = data.get("metadata")
    if value is None:
        return None
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("Invalid object: metadata must be an object of strings", param="metadata",
                             code=ErrorCode.PARAMETER_INVALID)
    return value


def metadata_changes(data: dict[str, Any], current: dict[str, str]) -> dict[str, Any] | None:
    """`metadata[k]=v` of an update, as Stripe reads it: `metadata[k]=` removes k and `metadata=` removes
    every key (the services remove a key given as null)."""
    value = data.get("metadata")
    if value == "":
        return {key: None for key in current}
    found = metadata(data)
    return None if found is None else {k: (None if v == "" else v) for k, v in found.items()}
