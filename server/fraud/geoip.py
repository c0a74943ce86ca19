"""The country of an IP address, offline: `country_of("8.8.8.8") == "US"`.

Built on the `iptocc` package (MIT or Apache-2.0), whose wheel embeds a table of the five Regional
Internet Registries' published delegations: no network at run time, no database file to
download or ship, no API key, and IPv4 and IPv6 in one in-memory lookup.
Other candidates were weighed: `geoip2fast` bundles MaxMind GeoLite2-derived data, whose licence
adds conditions to redistribution; `IP2Location` ships no data at all.

What the answer means: the country a registry *assigned* the block to, not where the device
is. Registry data agrees with commercial geolocation for about 95 % of IPv4 addresses, which is
what a fraud signal comparing card country with IP country needs; it is not street-level.
The data is as fresh as the installed `iptocc` version (the project refreshes it nightly);
upgrading the pin refreshes the table.

None is returned for anything that has no country: private, loopback, link-local,
shared (CGNAT), multicast, reserved and unallocated addresses, text that is not an address,
and registry codes that are not countries ("EU", "AP"). An IPv4-mapped IPv6 address
(`::ffff:8.8.8.8`) is looked up as its IPv4 address.
"""

from __future__ import annotations

import ipaddress

from iptocc import country_code

NOT_COUNTRIES = frozenset({"EU", "AP", "ZZ"})


def country_of(ip: str) -> str | None:
    """The ISO 3166-1 alpha-2 country a public IP address is registered to, or None."""
    address = _public_address(ip)
    if address is None:
        return None
    code = country_code(str(address))
    if not code or code in NOT_COUNTRIES:
        return None
    return code


def _public_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address if address.is_global and not address.is_multicast else None
