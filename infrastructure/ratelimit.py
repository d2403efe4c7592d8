"""Fixed-window rate limits per client IP: in memory for one process, in Redis across processes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    async def hit(self, key: str, limit: int, window: int) -> Verdict:
        now = int(time.time())
        window_start = now - now % window
        with self._lock:
            start, count = self._counts.get(key, (window_start, 0))
            if start != window_start:
                start, count = window_start, 0
            count += 1
            self._counts[key] = (start, count)
            if len(self._counts) > 100_000:  # forget windows that are over
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window_start}
        return Verdict(count <= limit, limit, max(0, limit - count), window_start + window - now)


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "consult:rl:"):
        from redis import asyncio as aioredis

        # A burst of requests waits for one of a bounded set of connections instead of failing with
        # "Too many connections" (a 500) once the default pool is exhausted.
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=10)
        self.redis = aioredis.Redis(connection_pool=pool)
        self.prefix = prefix

    async def hit(self, key: str, limit: int, window: int) -> Verdict:
        now = int(time.time())
        window_start = now - now % window
        name = f"{self.prefix}{key}:{window_start}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window + 5)
        count = int((await pipe.execute())[0])
        return Verdict(count <= limit, limit, max(0, limit - count), window_start + window - now)
