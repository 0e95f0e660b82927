"""Network addresses: which are loopback, and which address a request came from.

Debug safety and throttling decide from these, never from the Host header, which any
client may set.
"""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = {"localhost"}


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 (IPv4-mapped too) and the name localhost."""
    host = address.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))
