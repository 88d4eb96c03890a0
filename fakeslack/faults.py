"""Fault injection: make the fake misbehave the way Slack does, on purpose.

Each fault is small and independent so tests can stack them (e.g. latency plus a 429).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpFault:
    """An HTTP-level answer instead of a normal 200 (429 rate limit or a 5xx)."""

    status: int
    retry_after: int | None = None


class Faults:
    """Queued failures per API method plus an optional per-channel posting rate limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._errors: dict[str, deque[str]] = {}
        self._http: dict[str, deque[HttpFault]] = {}
        self._per_second: float | None = None
        self._last_post: dict[str, float] = {}
        self.latency: float = 0.0
        self._drops: dict[str, int] = {}
        self.answers_held: dict[str, float] = {}  # method -> seconds between doing and answering

    def drop_next(self, method: str, times: int = 1) -> None:
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + times

    def take_drop(self, method: str) -> bool:
        """Whether to drop this call's answer, consuming one drop."""
        with self._lock:
            if not self._drops.get(method):
                return False
            self._drops[method] -= 1
            return True

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        with self._lock:
            self._errors.setdefault(method, deque()).extend([error] * times)

    def inject_http(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        if status == 429 and retry_after is None:
            retry_after = 1  # Slack always tells a rate-limited client how long to wait
        with self._lock:
            self._http.setdefault(method, deque()).extend([HttpFault(status, retry_after)] * times)

    def rate_limit_per_channel(self, per_second: float | None) -> None:
        with self._lock:
            self._per_second = per_second
            self._last_post.clear()

    def reset(self) -> None:
        with self._lock:
            self._errors.clear()
            self._http.clear()
            self._per_second = None
            self._last_post.clear()
            self.latency = 0.0
            self.answers_held.clear()
            self._drops.clear()

    def take_error(self, method: str) -> str | None:
        """The queued Slack error for this call, consuming it."""
        with self._lock:
            queue = self._errors.get(method)
            return queue.popleft() if queue else None

    def take_http(self, method: str) -> HttpFault | None:
        """The queued HTTP fault for this call, consuming it."""
        with self._lock:
            queue = self._http.get(method)
            return queue.popleft() if queue else None

    def check_rate(self, channel: str) -> HttpFault | None:
        """A 429 if this channel was posted to sooner than the configured rate allows.

        Modelled as a minimum interval between accepted posts, which is how Slack's
        "about one message per second per channel" behaves for a steady sender.
        """
        with self._lock:
            if not self._per_second:
                return None
            interval = 1.0 / self._per_second
            now = self._clock()
            last = self._last_post.get(channel)
            if last is not None and now - last < interval:
                return HttpFault(429, max(1, math.ceil(interval - (now - last))))
            self._last_post[channel] = now
            return None
