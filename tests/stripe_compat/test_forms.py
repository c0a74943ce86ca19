"""Stripe's form encoding: decoded exactly as the official SDK (stripe 16.1) sends it; refused clearly if malformed."""

from __future__ import annotations

import json
import string
from urllib.parse import urlencode, urlsplit

import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from server.errors import InvalidRequest
from server.stripe_compat.forms import MAX_KEY_LENGTH, FormError, decode, encode

DECODED = [
    ("", {}),
    ("amount=2000&currency=usd", {"amount": "2000", "currency": "usd"}),
    ("metadata[order_id]=6735", {"metadata": {"order_id": "6735"}}),
    ("expand[]=customer&expand[]=latest_charge", {"expand": ["customer", "latest_charge"]}),
    ("expand[0]=customer&expand[1]=latest_charge", {"expand": ["customer", "latest_charge"]}),
    ("expand[1]=latest_charge&expand[0]=customer", {"expand": ["customer", "latest_charge"]}),
    ("payment_method_data[card][number]=4242424242424242&payment_method_data[card][exp_month]=12",
     {"payment_method_data": {"card": {"number": "4242424242424242", "exp_month": "12"}}}),
    ("items[0][price]=price_1&items[0][quantity]=2&items[1][price]=price_2",
     {"items": [{"price": "price_1", "quantity": "2"}, {"price": "price_2"}]}),
    ("line_items[0][price_data][product_data][metadata][sku]=A-1&line_items[0][price_data][unit_amount]=500",
     {"line_items": [{"price_data": {"product_data": {"metadata": {"sku": "A-1"}}, "unit_amount": "500"}}]}),
    ("a[0][0]=x&a[0][1]=y&a[1][0]=z", {"a": [["x", "y"], ["z"]]}),
    ("metadata[0]=first&metadata[7]=eighth", {"metadata": {"0": "first", "7": "eighth"}}),
    ("customer[metadata][2024]=yes", {"customer": {"metadata": {"2024": "yes"}}}),
    ("metadata[key]=&description=", {"metadata": {"key": ""}, "description": ""}),
    ("flag", {"flag": ""}),
    ("a=1&&b=2&", {"a": "1", "b": "2"}),
    ("q=a+b%2Bc%26d%3De&name=Jos%C3%A9", {"q": "a b+c&d=e", "name": "José"}),
    ("metadata[note]=a%26b%3Dc+[x]", {"metadata": {"note": "a&b=c [x]"}}),
    ("metadata%5Bencoded%5D=1&created%5Bgte%5D=100", {"metadata": {"encoded": "1"}, "created": {"gte": "100"}}),
    ("invoice_settings[01]=leading+zero", {"invoice_settings": {"01": "leading zero"}}),
    (b"amount=100&metadata[k]=v", {"amount": "100", "metadata": {"k": "v"}}),
    ("name=José".encode(), {"name": "José"}),
]


@pytest.mark.parametrize(("body", "expected"), DECODED)
def test_decode(body, expected):
    assert decode(body) == expected


# (body, the parameter named, a phrase of the message)
REFUSED = [
    ("a[b=1", "a[b", "a[b has a [ that is never closed"),
    ("a]=1", "a]", "closes a ] that was never opened"),
    ("[a]=1", "[a]", "has no name before its first ["),
    ("a[b]c=1", "a[b]c", "has text after a closing ]"),
    ("a[[b]]=1", "a[[b]]", "opens a [ inside another"),
    ("=1", None, "a parameter has no name"),
    ("amount=1&amount=2", "amount", "amount is given twice"),
    ("metadata[k]=1&metadata[k]=2", "metadata[k]", "metadata[k] is given twice"),
    ("card=1&card[number]=4242", "card[number]", "card is given both as a value and as an object or list"),
    ("card[number]=4242&card=1", "card", "card is given both as a value and as an object or list"),
    ("items[0][price]=a&items[2][price]=b", "items[2]", "indices run from 0 without gaps, and 1 is missing"),
    ("items[1]=a", "items[1]", "0 is missing"),
    ("items[0]=a&items[x]=b", "items[x]", "items mixes list indices with names like x"),
    ("expand[]=a&expand[0]=b", "expand[]", "expand mixes [] with named or indexed items"),
    ("items[][price]=a", "items[][price]", "[] may only end a parameter name"),
    ("items[1000]=a", "items[1000]", "list indices go up to 999"),
    ("a=%ff", "a", "the value of a is not valid UTF-8"),
    ("%ff=1", "%ff", "is not valid UTF-8"),
    ("a" + "[b]" * 11 + "=1", "a" + "[b]" * 11, "nests 11 levels deep; at most 10"),
    ("k" * (MAX_KEY_LENGTH + 1) + "=1", "k" * MAX_KEY_LENGTH, f"at most {MAX_KEY_LENGTH} characters"),
    ("&".join(f"metadata[k{i}]=v" for i in range(1001)), None, "at most 1000 parameters"),
    (b"name=\xff", None, "not valid UTF-8"),
]


@pytest.mark.parametrize(("body", "param", "message"), REFUSED)
def test_malformed_bodies_are_refused_naming_the_parameter(body, param, message):
    with pytest.raises(FormError) as caught:
        decode(body)
    assert caught.value.param == param
    assert message in caught.value.message
    assert isinstance(caught.value, InvalidRequest) and caught.value.status == 400


def test_limits_are_adjustable():
    assert decode("a[b][c]=1", max_depth=2) == {"a": {"b": {"c": "1"}}}
    with pytest.raises(FormError, match="at most 1 are accepted"):
        decode("a[b][c]=1", max_depth=1)
    with pytest.raises(FormError, match="at most 2 parameters"):
        decode("a=1&b=2&c=3", max_keys=2)
    with pytest.raises(FormError, match="up to 9"):
        decode("a[10]=x", max_index=9)
    assert decode("settings[0]=x", maps={"settings"}) == {"settings": {"0": "x"}}


def sdk_encode(params: dict) -> str:
    """The body stripe 16.1 sends: its own encoder, then brackets made readable as its requestor does."""
    return urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")


SDK_PARAMS = [
    ({"amount": 2000, "currency": "usd", "capture_method": "manual"},
     {"amount": "2000", "currency": "usd", "capture_method": "manual"}),
    ({"metadata": {"order_id": "6735", "note": "a&b=c [x] 100%"}, "description": None},
     {"metadata": {"order_id": "6735", "note": "a&b=c [x] 100%"}}),
    ({"expand": ["customer", "latest_charge"]}, {"expand": ["customer", "latest_charge"]}),
    ({"automatic_payment_methods": {"enabled": True}, "confirm": False, "off_session": True},
     {"automatic_payment_methods": {"enabled": "true"}, "confirm": "false", "off_session": "true"}),
    ({"payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                                         "exp_year": 2030, "cvc": "123"}}},
     {"payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": "12",
                                                          "exp_year": "2030", "cvc": "123"}}}),
    ({"items": [{"price": "price_1", "quantity": 2}, {"price": "price_2", "metadata": {"0": "zero"}}]},
     {"items": [{"price": "price_1", "quantity": "2"}, {"price": "price_2", "metadata": {"0": "zero"}}]}),
    ({"shipping": {"name": "Zoë Ünal", "address": {"line1": "1 Rue de l'Église", "postal_code": "75001"}}},
     {"shipping": {"name": "Zoë Ünal", "address": {"line1": "1 Rue de l'Église", "postal_code": "75001"}}}),
    ({"metadata": {"cleared": ""}, "receipt_email": ""}, {"metadata": {"cleared": ""}, "receipt_email": ""}),
    ({"matrix": [["a", "b"], ["c"]]}, {"matrix": [["a", "b"], ["c"]]}),
    ({"metadata": {}, "expand": []}, {}),
]


@pytest.mark.parametrize(("params", "expected"), SDK_PARAMS)
def test_decodes_what_the_sdk_encoder_sends_and_encodes_the_same(params, expected):
    assert decode(sdk_encode(params)) == expected
    assert encode(params) == sdk_encode(params)


class RecordingHTTPClient(stripe.HTTPClient):
    """The SDK's own transport seam: keeps each request instead of sending it anywhere."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, str | None]] = []

    def request(self, method, url, headers, post_data=None):
        self.requests.append((method, url, post_data))
        return json.dumps({"id": "pi_123", "object": "payment_intent"}), 200, {}

    def close(self) -> None:
        pass


def test_decodes_the_requests_the_sdk_itself_builds():
    transport = RecordingHTTPClient()
    client = stripe.StripeClient("sk_test_123", http_client=transport, max_network_retries=0)
    client.v1.payment_intents.create({
        "amount": 2000, "currency": "usd", "metadata": {"order": "6735", "note": "a&b=c [x]"},
        "expand": ["customer", "latest_charge"], "automatic_payment_methods": {"enabled": True},
        "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12}},
    })
    client.v1.payment_intents.list({"limit": 3, "created": {"gte": 100}, "expand": ["data.customer"]})

    (post, _url, body), (get, url, _none) = transport.requests
    assert (post, get) == ("post", "get")
    assert decode(body) == {
        "amount": "2000", "currency": "usd", "metadata": {"order": "6735", "note": "a&b=c [x]"},
        "expand": ["customer", "latest_charge"], "automatic_payment_methods": {"enabled": "true"},
        "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": "12"}},
    }
    assert decode(urlsplit(url).query) == {"limit": "3", "created": {"gte": "100"}, "expand": ["data.customer"]}


# Any params the SDK can send (keys without brackets; digit keys only in metadata, where they stay keys).
names = st.text(alphabet=string.ascii_letters + "_-. é&=+%/", min_size=1, max_size=12).filter(
    lambda key: not key.isdigit())
leaves = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
                   st.integers(-10**12, 10**12))
metadata = st.dictionaries(st.one_of(names, st.from_regex(r"[0-9]{1,3}", fullmatch=True)), leaves,
                           min_size=1, max_size=4)


def tree(children):
    return st.one_of(st.lists(children, min_size=1, max_size=3),
                     st.dictionaries(names, st.one_of(children, st.booleans()), min_size=1, max_size=3))


values = st.recursive(leaves, tree, max_leaves=12)
params = st.builds(lambda fields, meta: {**fields, **({"metadata": meta} if meta else {})},
                   st.dictionaries(names.filter(lambda key: key != "metadata"), st.one_of(values, st.booleans()),
                                   min_size=1, max_size=5),
                   st.one_of(st.none(), metadata))


def as_sent(value):
    """What a value becomes on the wire: strings, with booleans in lower case."""
    if isinstance(value, dict):
        return {str(k): as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_sent(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@settings(max_examples=300, deadline=None)
@given(params)
def test_round_trips_anything_the_sdk_encodes(generated):
    body = sdk_encode(generated)
    assert decode(body) == as_sent(generated)
    assert encode(generated) == body
