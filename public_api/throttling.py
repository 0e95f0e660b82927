"""Per-client throttling of the public endpoint.

A fixed window per client address, counted in Django's cache (LocMemCache: per
process, so each gunicorn worker counts on its own). One increment per
request, however high the rate, unlike DRF's sliding-window history list.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

PERIOD_WORDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class PublicRateThrottle(SimpleRateThrottle):
    scope = "public"

    def get_rate(self) -> str | None:
        rate: str = settings.KMM_PUBLIC_RATE
        return None if rate in ("", "off") else rate

    def get_ident(self, request: Request) -> str:
        """DRF's rule (REMOTE_ADDR, or X-Forwarded-For under NUM_PROXIES), read from META.

        DRF's own reads request.headers, which copies every header on each request.
        """
        meta = request._request.META
        remote: str = meta.get("REMOTE_ADDR", "")
        forwarded = meta.get("HTTP_X_FORWARDED_FOR")
        proxies = api_settings.NUM_PROXIES
        if not proxies or not forwarded:
            return remote
        addresses = forwarded.split(",")
        return str(addresses[-min(proxies, len(addresses))]).strip()

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"kmm-public-throttle:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            count = self.cache.incr(key)  # one cache operation in the common case
        except ValueError:  # the first request of this client in this window
            self.cache.add(key, 1, self.duration + 1)
            return True
        if count <= self.num_requests:
            return True
        self.wait_seconds = (window + 1) * self.duration - self.now
        return False

    def wait(self) -> float:
        return max(1.0, float(self.wait_seconds))

    def describe(self) -> str:
        return f"at most {self.num_requests} requests per {PERIOD_WORDS[self.duration]}"
