"""Webhooks: endpoints, signed Standard Webhooks deliveries, retries, health and debugging tools."""
