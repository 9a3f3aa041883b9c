"""Rate limits shared by every worker: messages per second per sender, messages per minute per teacher.

GCRA (a leaky bucket kept as one timestamp per key): one Redis round trip, exact spacing, no bursts
beyond `burst`. Without Redis the same arithmetic runs in process memory.
"""
from __future__ import annotations

import threading
import time

# KEYS[1] = bucket key; ARGV = interval seconds, burst (count), ttl seconds. Returns the wait in
# microseconds before this request may go (0 = now); the slot is reserved either way, so callers that
# wait and then send keep the spacing exact across workers.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - interval * (burst - 1)
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], tostring(tat + interval), 'EX', tonumber(ARGV[3]))
return math.floor(wait * 1000000)
"""

# Same as above but does not reserve when over the limit: for flood control we only count
# messages that are let through.
_CHECK_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > interval * (burst - 1) then return 0 end
redis.call('SET', KEYS[1], tostring(tat + interval), 'EX', tonumber(ARGV[3]))
return 1
"""


class RateLimiter:
    def __init__(self, redis_connection=None, prefix: str = "helpdesk:rate:"):
        self.redis = redis_connection
        self.prefix = prefix
        self._local: dict[str, float] = {}
        self._lock = threading.Lock()
        if redis_connection is not None:
            self._reserve = redis_connection.register_script(_RESERVE_LUA)
            self._check = redis_connection.register_script(_CHECK_LUA)

    def reserve(self, key: str, per_second: float, burst: int = 1) -> float:
        """Reserve the next slot for `key`; return how many seconds to wait before using it."""
        interval = 1.0 / per_second
        if self.redis is not None:
            micros = self._reserve(keys=[self.prefix + key], args=[interval, burst, _ttl(interval, burst)])
            return int(micros) / 1_000_000
        with self._lock:
            now = time.monotonic()
            tat = max(self._local.get(key, now), now)
            self._local[key] = tat + interval
            return max(0.0, tat - now - interval * (burst - 1))

    def allow(self, key: str, per_minute: int) -> bool:
        """True if one more event for `key` fits in `per_minute` (burst of the same size)."""
        interval = 60.0 / per_minute
        if self.redis is not None:
            ok = self._check(keys=[self.prefix + key], args=[interval, per_minute, _ttl(interval, per_minute)])
            return bool(int(ok))
        with self._lock:
            now = time.monotonic()
            tat = max(self._local.get(key, now), now)
            if tat - now > interval * (per_minute - 1):
                return False
            self._local[key] = tat + interval
            return True


def _ttl(interval: float, burst: int) -> int:
    return max(2, int(interval * burst) + 2)
