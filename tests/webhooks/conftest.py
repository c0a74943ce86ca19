from tests.webhooks.fixtures import allow_private, shop

__all__ = ["allow_private", "shop"]
