"""Attempt counters of the per-account and per-phone throttles (`application.throttles`): in
memory for one process, in Redis (atomic scripts) across processes. A key's window starts with its
first attempt and lasts `window` seconds."""

from __future__ import annotations

import threading
import time

TAKE = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return 0 end
return 1
"""
GIVE_BACK = """
local count = redis.call('DECR', KEYS[1])
if count <= 0 then redis.call('DEL', KEYS[1]) end
return count
"""


class MemoryAttempts:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, window: int) -> bool:
        now = time.monotonic()
        with self._lock:
            count, ends = self._counts.get(key, (0, now + window))
            if ends <= now:
                count, ends = 0, now + window
            count += 1
            self._counts[key] = (count, ends)
            if len(self._counts) > 100_000:  # forget windows that are over
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return count <= limit

    def give_back(self, key: str) -> None:
        with self._lock:
            found = self._counts.get(key)
            if found is None:
                return
            count, ends = found
            if count <= 1:
                del self._counts[key]
            else:
                self._counts[key] = (count - 1, ends)


class RedisAttempts:
    def __init__(self, url: str, prefix: str = "consult:attempts:"):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self._take = self.redis.register_script(TAKE)
        self._give_back = self.redis.register_script(GIVE_BACK)

    def take(self, key: str, limit: int, window: int) -> bool:
        return bool(self._take(keys=[self.prefix + key], args=[limit, window]))

    def give_back(self, key: str) -> None:
        self._give_back(keys=[self.prefix + key])
