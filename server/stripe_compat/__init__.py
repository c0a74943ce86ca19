"""The Stripe-compatible API surface: request and response shapes the official Stripe SDKs expect."""
