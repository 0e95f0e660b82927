"""Per-client throttling of the public endpoint.

A fixed window per client address, counted in Django's cache (LocMemCache: per
process, so each gunicorn worker counts on its own). One increment per
request, however high the rate, unlike DRF's sliding-window history list.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

PERIOD_WORDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class PublicRateThrottle(SimpleRateThrottle):
    scope = "public"

    def get_rate(self) -> str | None:
        rate: str = settings.KMM_PUBLIC_RATE
        return None if rate in ("", "off") else rate

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"kmm-public-throttle:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        key = f"{self.get_cache_key(request, view)}:{window}"
        if self.cache.add(key, 1, self.duration + 1):
            return True
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's key expired between add and incr
            self.cache.set(key, 1, self.duration + 1)
            return True
        if count <= self.num_requests:
            return True
        self.wait_seconds = (window + 1) * self.duration - self.now
        return False

    def wait(self) -> float:
        return max(1.0, float(self.wait_seconds))

    def describe(self) -> str:
        return f"at most {self.num_requests} requests per {PERIOD_WORDS[self.duration]}"
