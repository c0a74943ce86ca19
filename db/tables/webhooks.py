"""Webhook endpoints, the fan-out markers of events, deliveries and their attempts."""

from piccolo.columns import JSONB, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class WebhookEndpoint(Table, tablename="webhook_endpoints"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    url = Varchar(length=2048)
    description = Varchar(length=500, default="")
    enabled_events = JSONB(default=[])
    status = Varchar(length=20, default="enabled")  # enabled | disabled
    ordered = Boolean(default=False)  # one delivery at a time, in event order
    signature_scheme = Varchar(length=20, default="standard")  # standard (Standard Webhooks) | stripe
    disabled_reason = Varchar(length=200, null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)
    secret = Varchar(length=100)
    previous_secret = Varchar(length=100, null=True, default=None)
    previous_secret_expires_at = Timestamptz(null=True, default=None)
    failing_since = Timestamptz(null=True, default=None)
    created = Timestamptz()
    updated = Timestamptz()


class WebhookFanout(Table, tablename="webhook_fanouts"):
    """One row per event whose deliveries exist: the anti-join that finds new committed events."""

    event_id = Varchar(length=40, primary_key=True)
    created = Timestamptz()


class WebhookFanoutState(Table, tablename="webhook_fanout_state"):
    """Events with ids below `low_id` all have fan-out markers (see docs/webhooks.md)."""

    name = Varchar(length=40, primary_key=True)
    low_id = Varchar(length=40)


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    """One event (or test event) to one endpoint; its id is the `webhook-id` header on every attempt."""

    id = Varchar(length=40, primary_key=True)
    seq = BigSerial()  # creation order: an ordered endpoint receives its deliveries in this order
    account_id = Varchar(length=40)
    livemode = Boolean()
    endpoint_id = Varchar(length=40)
    event_id = Varchar(length=40)
    event_type = Varchar(length=80)
    payload = Text()
    status = Varchar(length=20)  # pending | succeeded | failed | skipped
    is_test = Boolean(default=False)
    auto_retry = Boolean(default=True)
    attempt_count = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    last_attempt_at = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Varchar(length=500, null=True, default=None)
    created = Timestamptz()


class WebhookAttempt(Table, tablename="webhook_attempts"):
    """Every HTTP attempt of a delivery, kept: what was sent and what came back."""

    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    delivery_id = Varchar(length=40)
    endpoint_id = Varchar(length=40)
    attempt_number = Integer()
    url = Varchar(length=2048)
    request_headers = JSONB(default={})
    response_status = Integer(null=True, default=None)
    response_headers = JSONB(default={})
    response_body = Text(default="")
    duration_ms = Integer(default=0)
    error = Varchar(length=500, null=True, default=None)
    outcome = Varchar(length=20)  # succeeded | failed
    created = Timestamptz()
