"""IP to country offline, from the registry data bundled in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.fraud.geoip import country_of

# Addresses whose registry assignment has been stable for many years: Google's and Cloudflare's
# public resolvers (ARIN and APNIC), RIPE NCC's own network, WIDE and Osaka University in Japan.
KNOWN = [
    ("8.8.8.8", "US"),
    ("1.1.1.1", "AU"),
    ("193.0.6.139", "NL"),
    ("133.1.1.1", "JP"),
    ("2001:4860:4860::8888", "US"),
    ("2001:67c:2e8:22::c100:68b", "NL"),
    ("::ffff:8.8.8.8", "US"),
    (" 8.8.8.8 ", "US"),
]

NO_COUNTRY = ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.1.1",
              "fe80::1", "fc00::1", "224.0.0.1", "ff02::1", "0.0.0.0", "::", "255.255.255.255",
              "192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1", "", "not an ip", "8.8.8", "8.8.8.8/32",
              "999.1.1.1", "8.8.8.8:443"]


@pytest.mark.parametrize(("ip", "country"), KNOWN)
def test_public_addresses_resolve_to_their_registered_country(ip, country):
    assert country_of(ip) == country


@pytest.mark.parametrize("ip", NO_COUNTRY)
def test_private_special_and_invalid_addresses_have_no_country(ip):
    assert country_of(ip) is None


OFFLINE_PROBE = "import socket\ntry: socket.create_connection(('1.1.1.1', 53), 1)\nexcept OSError: print('offline')"
LOOKUP = "from server.fraud.geoip import country_of as c; print(c('8.8.8.8'), c('2001:4860:4860::8888'))"


def test_lookups_work_with_no_network_at_all():
    """Run in a fresh network namespace, where every connection fails, as on an offline server."""
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-rn", sys.executable, "-c", OFFLINE_PROBE],
                           capture_output=True, text=True) if unshare else None
    if probe is None or probe.stdout.strip() != "offline":
        pytest.skip("cannot create a network namespace without network here")
    result = subprocess.run([unshare, "-rn", sys.executable, "-c", LOOKUP], capture_output=True, text=True,
                            cwd=Path(__file__).parents[2], timeout=60)
    assert result.stdout.split() == ["US", "US"], result.stderr


def test_answers_are_iso_country_codes():
    import ipaddress
    import random

    rng = random.Random(7)
    for _ in range(5000):
        code = country_of(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        assert code is None or (len(code) == 2 and code.isascii() and code.isupper() and code not in {"EU", "AP"})
