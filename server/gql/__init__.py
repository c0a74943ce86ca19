"""Shared GraphQL building blocks: connections, errors, context access."""
