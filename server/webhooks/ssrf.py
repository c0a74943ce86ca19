"""SSRF protection: webhook URLs may not reach private, loopback or link-local addresses.

Checked twice: when an endpoint is created or changed (`check_url`), and at
connect time for every address the host name resolves to (`GuardedBackend`,
the network backend of the delivery client), so DNS that changes after
creation (rebinding) is caught too. Literal IPs in odd forms (decimal
`2130706433`, octal `0177.0.0.1`, hex) are normalised with the C library's
`inet_aton` rules, which are the rules a connecting client would use.
`PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS=true` lifts the address check (local
development only).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from server.errors import ErrorCode, InvalidRequest
from server.settings import get_settings

MAX_URL = 2048
CGNAT = ipaddress.ip_network("100.64.0.0/10")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    """The target resolved to an address webhooks may not reach."""


def literal_ip(host: str) -> IP | None:
    """The address a host written as an IP literal means, in any of its spellings; None for names."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def blocked_reason(ip: IP) -> str | None:
    """Why webhooks may not reach `ip`, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            reason = blocked_reason(mapped)
            return f"IPv4-mapped {reason}" if reason else None
    checks = [("loopback", ip.is_loopback), ("link-local", ip.is_link_local), ("unspecified", ip.is_unspecified),
              ("multicast", ip.is_multicast), ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT),
              ("private", ip.is_private), ("reserved", ip.is_reserved), ("non-public", not ip.is_global)]
    for name, hit in checks:
        if hit:
            return f"{name} address {ip}"
    return None


async def resolve(host: str, port: int) -> list[IP]:
    ip = literal_ip(host)
    if ip is not None:
        return [ip]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedAddress(f"could not resolve host '{host}': {exc.strerror}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_addresses(host: str, port: int, allow_private: bool) -> list[IP]:
    """Every resolved address of host, or BlockedAddress naming the first one refused."""
    addresses = await resolve(host, port)
    if not addresses:
        raise BlockedAddress(f"host '{host}' resolved to no address")
    if not allow_private:
        for ip in addresses:
            if reason := blocked_reason(ip):
                raise BlockedAddress(f"'{host}' resolves to a blocked {reason}; webhooks only reach public addresses")
    return addresses


async def check_url(url: str, livemode: bool, allow_private: bool) -> str:
    """Validate a webhook URL for an endpoint; returns it normalised or raises InvalidRequest."""
    url = (url or "").strip()
    if not url:
        raise InvalidRequest("url is required", param="url")
    if len(url) > MAX_URL:
        raise InvalidRequest(f"url must be at most {MAX_URL} characters", param="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidRequest("url must start with https:// (or http:// in test mode)", param="url")
    if livemode and parts.scheme != "https":
        raise InvalidRequest("live-mode webhook URLs must use https", param="url")
    if parts.username or parts.password:
        raise InvalidRequest("url must not contain credentials", param="url")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidRequest("url has an invalid port", param="url") from None
    if not host:
        raise InvalidRequest("url needs a host", param="url")
    try:
        await check_addresses(host, port or (443 if parts.scheme == "https" else 80), allow_private)
    except BlockedAddress as exc:
        raise InvalidRequest(str(exc), param="url", code=ErrorCode.URL_NOT_ALLOWED) from None
    return url


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked one: no window for DNS rebinding."""

    def __init__(self, allow_private: bool | None = None) -> None:
        self._allow_private = allow_private  # None: read the setting at every connect
        self.inner = httpcore.AnyIOBackend()

    @property
    def allow_private(self) -> bool:
        if self._allow_private is not None:
            return self._allow_private
        return get_settings().allow_private_webhook_urls

    async def connect_tcp(  # httpcore's interface, hence the `timeout` parameter
            self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
            local_address: str | None = None,
            socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        addresses = await check_addresses(host, port, self.allow_private)
        error: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(str(ip), port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the checking network backend underneath."""

    def __init__(self, allow_private: bool | None, max_connections: int = 200) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=max_connections, max_keepalive_connections=50,
            keepalive_expiry=30.0, network_backend=GuardedBackend(allow_private))


def delivery_client(allow_private: bool | None = None, timeout: float = 15.0) -> httpx.AsyncClient:
    """The one HTTP client deliveries use: no redirects, no proxies from the environment, checked targets."""
    return httpx.AsyncClient(transport=GuardedTransport(allow_private), follow_redirects=False,
                             timeout=httpx.Timeout(timeout), trust_env=False)
