"""Failed authentications per client address: sign-in and bearer tokens.

A fixed window per address, counted in this process (each gunicorn worker counts on its
own). `reserve` checks and counts in one step under a lock, so sixty parallel attempts
get exactly `limit` reviews, not as many as arrive before the first failure is written;
a success gives its reservation back.
"""

from __future__ import annotations

import threading
import time

MAX_TRACKED = 100_000  # addresses (or tokens) remembered at once; past it the oldest go


class FailureWindow:
    def __init__(self, limit: int, seconds: float):
        self.limit = limit
        self.seconds = seconds
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int]] = {}  # key -> (window end, count)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            return now + self.seconds, 0
        return entry

    def reserve(self, key: str) -> bool:
        """Count one attempt for `key`, unless it already has `limit` in this window."""
        now = time.monotonic()
        with self._lock:
            ends, count = self._current(key, now)
            if count >= self.limit:
                return False
            if len(self._entries) >= MAX_TRACKED and key not in self._entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                while len(self._entries) >= MAX_TRACKED:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (ends, count + 1)
            return True

    def release(self, key: str) -> None:
        """The attempt succeeded: it does not count as a failure."""
        now = time.monotonic()
        with self._lock:
            ends, count = self._current(key, now)
            if count > 1:
                self._entries[key] = (ends, count - 1)
            else:
                self._entries.pop(key, None)

    def blocked(self, key: str) -> bool:
        with self._lock:
            return self._current(key, time.monotonic())[1] >= self.limit

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()


class Remembered:
    """Keys remembered for a short while (tokens the API server just refused)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def add(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._until) >= MAX_TRACKED:
                self._until = {k: t for k, t in self._until.items() if t > now}
                while len(self._until) >= MAX_TRACKED:
                    self._until.pop(next(iter(self._until)))
            self._until[key] = now + self.seconds

    def __contains__(self, key: str) -> bool:
        with self._lock:
            until = self._until.get(key)
        return until is not None and until > time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self._until.clear()


SIGN_IN_ATTEMPTS = 10
SIGN_IN_WINDOW_SECONDS = 300
sign_in_failures = FailureWindow(SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW_SECONDS)
# Scripts retry more than people: 30 failed bearer tokens per address per 5 minutes.
bearer_failures = FailureWindow(30, 300)
refused_tokens = Remembered(30)


def reset() -> None:
    """Forget every count (tests)."""
    sign_in_failures.reset()
    bearer_failures.reset()
    refused_tokens.reset()
