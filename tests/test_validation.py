"""Shared validation: metadata, email and text are checked the same way by every domain."""

from __future__ import annotations

import pytest

from server import validation
from server.errors import InvalidRequest
from tests.payments.helpers import merchant


def test_metadata_keeps_strings_and_numbers_as_text():
    assert validation.metadata({"order": "A-1", "count": 3, "ratio": 0.5}) == {
        "order": "A-1", "count": "3", "ratio": "0.5"}
    assert validation.metadata(None) == {}


@pytest.mark.parametrize("value", [True, False, None, {"a": "b"}, ["a"]])
def test_metadata_refuses_other_values_naming_the_key(value):
    with pytest.raises(InvalidRequest) as refused:
        validation.metadata({"paid": value})
    assert refused.value.param == "metadata[paid]"


@pytest.mark.parametrize("value", [["a"], "text", {"": "x"}, {"k" * 41: "x"}, {f"k{i}": "x" for i in range(51)},
                                   {"long": "x" * 501}])
def test_metadata_refuses_bad_shapes(value):
    with pytest.raises(InvalidRequest) as refused:
        validation.metadata(value)
    assert refused.value.param and refused.value.param.startswith("metadata")


def test_merged_metadata_removes_keys_set_to_null():
    assert validation.merged_metadata({"a": "1", "b": "2"}, {"a": None, "c": 3}) == {"b": "2", "c": "3"}


def test_email_is_trimmed_and_checked():
    assert validation.email("  Jenny@Example.com ") == "Jenny@Example.com"
    assert validation.optional_email("") is None
    for bad in ("jenny", "jenny@", "a b@c.d", 42, None):
        with pytest.raises(InvalidRequest):
            validation.email(bad)


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/payment_intents", {"amount": 1000, "currency": "usd"}),
    ("/v1/customers", {"name": "Jenny"}),
])
async def test_every_api_refuses_a_boolean_metadata_value_naming_the_key(http, path, body):
    m = await merchant(http)
    refused = await m.post(path, {**body, "metadata": {"vip": True}})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "metadata[vip]"
    kept = await m.post(path, {**body, "metadata": {"vip": "yes", "visits": 3}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["metadata"] == {"vip": "yes", "visits": "3"}
