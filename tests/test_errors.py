"""Every machine-readable error code is a member of `server.errors.ErrorCode`.

Read from the source with `ast` (nothing is imported for the scan): a `code=` argument,
a `code = ...` class attribute or a `"code": ...` dict entry whose value is a string
literal or an f-string is a free-typed code that clients could see and we could
misspell. Every error class's default code must be a member too.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from server.errors import ErrorCode, PaydeckError
from tests.test_import_cycles import module_files

ROOT = Path(__file__).resolve().parent.parent


def _is_text(node: ast.AST | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def free_codes(tree: ast.AST) -> list[int]:
    """Lines where a code is written as a string instead of an ErrorCode member."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code" and _is_text(node.value):
            lines.append(node.value.lineno)
        elif isinstance(node, ast.Assign) and _is_text(node.value) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
            lines.append(node.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code" and _is_text(value):
                    lines.append(value.lineno)
    return sorted(lines)


def test_no_error_code_is_a_free_string():
    found = []
    for name, path in module_files().items():
        if name == "server.errors" or name.startswith("server.apilogs.seed"):  # seed: made-up demo log lines
            continue
        found += [f"{path.relative_to(ROOT)}:{line}" for line in free_codes(ast.parse(path.read_text()))]
    assert not found, f"use a server.errors.ErrorCode member, not a string, for these codes: {found}"


def test_the_scan_finds_each_way_of_writing_a_free_code():
    source = '''
raise Conflict("x", code="made_up")
raise Conflict("x", code=f"made_{up}")
class E(PaydeckError):
    code = "made_up"
body = {"code": "made_up"}
fine = Conflict("x", code=ErrorCode.CONFLICT)
'''
    assert free_codes(ast.parse(source)) == [2, 3, 5, 6]


def test_every_error_class_defaults_to_a_member():
    for name in module_files():
        if not name.endswith(".__main__"):  # running a command is not importing a module
            importlib.import_module(name)
    classes, todo = [], [PaydeckError]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo += cls.__subclasses__()
    assert len(classes) > 10
    for cls in classes:
        assert isinstance(cls.code, ErrorCode), f"{cls.__module__}.{cls.__name__}.code is {cls.code!r}"


def test_dynamic_codes_are_members():
    assert ErrorCode.of_http(404) is ErrorCode.HTTP_404
    assert ErrorCode.of_http(418) is ErrorCode.HTTP_ERROR
    assert ErrorCode.of_customer_status("suspended") is ErrorCode.CUSTOMER_SUSPENDED
    assert ErrorCode.of_customer_status("closed") is ErrorCode.CUSTOMER_CLOSED


async def test_an_error_response_carries_the_member_value(http):
    resp = await http.get("/v1/no-such-route", headers={"Authorization": "Bearer sk_test_nope"})
    assert resp.json()["error"]["code"] in set(ErrorCode)
