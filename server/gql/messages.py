"""graphql-core's coercion messages, said for people.

"Variable '$input' has invalid value at .amount: Int cannot represent non
32-bit signed integer value: 99999999999" is right but meant for developers.
Pages show `for_people(...)`: "amount must be a whole number from
-2147483648 to 2147483647", naming the form field (snake_case).
"""

from __future__ import annotations

import re

VARIABLE_ERROR = re.compile(
    r"Variable '\$(?P<var>\w+)' has invalid value(?: at \.?(?P<at>[\w.\[\]]+))?: (?P<reason>.*)", re.S)
REQUIRED_FIELD = re.compile(r"to include required field '(?P<field>\w+)'")
PHRASES = (
    ("32-bit", "must be a whole number from -2147483648 to 2147483647"),
    ("Int cannot represent", "must be a whole number"),
    ("Float cannot represent", "must be a number"),
    ("out of range", "is out of range: give a time between years 1 and 9999 (UTC)"),
    ("cannot represent a DateTime", "must be a date and time"),
    ("does not exist in", "is not one of the allowed values"),
    ("String cannot represent", "must be text"),
    ("Boolean cannot represent", "must be true or false"),
    ("not to be null", "is required"),
)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def for_people(message: str) -> tuple[str, str | None]:
    """(message, field) for a GraphQL error caused by a variable; other messages come back unchanged."""
    match = VARIABLE_ERROR.match(message)
    if match is None:
        return message, None
    reason = match.group("reason")
    path = match.group("at")
    field = snake(path.split(".")[-1].split("[")[0]) if path else snake(match.group("var"))
    if required := REQUIRED_FIELD.search(reason):
        field = snake(required.group("field"))
        return f"{field} is required", field
    phrase = next((said for marker, said in PHRASES if marker in reason), "is not valid")
    return f"{field} {phrase}", field
