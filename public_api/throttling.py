"""Per-client throttling of the public endpoint.

A fixed window per client address, counted in this process's memory (each
gunicorn worker counts on its own, as a LocMemCache would, without pickling a
counter twice per request). One increment per request, however high the rate,
unlike DRF's sliding-window history list.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from kmm.addresses import client_address

PERIOD_WORDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
MAX_CLIENTS_PER_WINDOW = 100_000  # past this many addresses in one window, start counting afresh


class _WindowCounts:
    """Requests per client in the current window; a new window forgets the old one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, client: str, window: int) -> int:
        with self._lock:
            if window != self._window or len(self._counts) >= MAX_CLIENTS_PER_WINDOW:
                self._window, self._counts = window, {}
            count = self._counts.get(client, 0) + 1
            self._counts[client] = count
            return count

    def reset(self) -> None:
        with self._lock:
            self._window, self._counts = -1, {}


counts = _WindowCounts()


class PublicRateThrottle(SimpleRateThrottle):
    scope = "public"

    def get_rate(self) -> str | None:
        rate: str = settings.KMM_PUBLIC_RATE
        return None if rate in ("", "off") else rate

    def get_ident(self, request: Request) -> str:
        """The client address, by the same rule as sign-in throttling (kmm.addresses)."""
        return client_address(request._request)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        count = counts.hit(self.get_ident(request), window)
        if count <= self.num_requests:
            return True
        self.wait_seconds = (window + 1) * self.duration - self.now
        return False

    def wait(self) -> float:
        return max(1.0, float(self.wait_seconds))

    def describe(self) -> str:
        return f"at most {self.num_requests} requests per {PERIOD_WORDS[self.duration]}"
