"""Requests per minute per token: one token bucket per principal, in this instance's memory.

A bucket holds up to `limits.requests_per_minute` requests and refills at that
many per minute, so a script may burst up to the limit and then keeps to the
rate. Only a token that authenticated gets a bucket (an unknown token is a 401
first), so garbage tokens cost no memory: there are at most as many buckets as
customers and operators in the config. Each instance counts its own requests; with
several instances behind a balancer the service as a whole allows that many times
more (docs/api.md, "Limits").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiohttp import web

from sitewatch.clock import Clock
from sitewatch.model import Principal


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    """The monotonic time `tokens` was counted at."""


class RequestLimiter:
    """Admit each principal's requests up to its rate; say how long to wait past it."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60
        self._clock = clock
        self._buckets: dict[Principal, _Bucket] = {}

    def admit(self, who: Principal) -> int | None:
        """Take one request from `who`'s bucket: None if admitted, else seconds to wait (>= 1)."""
        now = self._clock.monotonic()
        bucket = self._buckets.get(who)
        if bucket is None:
            bucket = self._buckets[who] = _Bucket(self._capacity, now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self._per_second))

    @property
    def principals(self) -> int:
        """Count the buckets held (one per principal that has called)."""
        return len(self._buckets)


LIMITER = web.AppKey("limiter", RequestLimiter)
