"""Network addresses: which are loopback, and which address a request came from.

Debug safety and throttling decide from these, never from the Host header, which any
client may set.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

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


def client_address(request: HttpRequest) -> str:
    """The client's address, for throttles: the connection's own address, or, behind
    KMM_NUM_PROXIES proxies (an ingress: the chart sets 1), the address the outermost of
    them saw, read from the right of X-Forwarded-For. Entries further left are the client's
    own claims, so a forged header changes nothing."""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR", ""))
    proxies = settings.KMM_NUM_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [a.strip() for a in str(forwarded).split(",")]
    return addresses[-min(proxies, len(addresses))] or remote
