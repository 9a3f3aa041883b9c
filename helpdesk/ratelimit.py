"""Rate limits shared by every worker: messages per second per sender, messages per minute per teacher.

GCRA (a leaky bucket kept as one timestamp per key): one Redis round trip, exact spacing, no bursts
beyond `burst`. Without Redis the same arithmetic runs in process memory.
"""
from __future__ import annotations

import threading
import time

# KEYS[1] = bucket key; ARGV = interval seconds, burst (count), ttl seconds, mode. Returns the wait in
# microseconds before this request may go (0 = now). Mode "reserve" always takes the slot, so callers that
# wait and then send keep the spacing exact across workers; mode "check" takes it only when there is no
# wait and returns -1 otherwise (flood control counts only the messages it lets through); mode "poll" also
# takes it only when there is no wait, but returns the wait otherwise, so a bulk sender knows when to look
# again without holding a future slot that a reply may need.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - interval * (tonumber(ARGV[2]) - 1)
if wait < 0 then wait = 0 end
if wait > 0 and ARGV[4] == 'check' then return -1 end
if wait > 0 and ARGV[4] == 'poll' then return math.max(1, math.ceil(wait * 1000000)) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'EX', tonumber(ARGV[3]))
return math.floor(wait * 1000000)
"""


class RateLimiter:
    def __init__(self, redis_connection=None, prefix: str = "helpdesk:rate:"):
        self.redis = redis_connection
        self.prefix = prefix
        self._local: dict[str, float] = {}
        self._lock = threading.Lock()
        self._script = redis_connection.register_script(_GCRA_LUA) if redis_connection is not None else None

    def reserve(self, key: str, per_second: float, burst: int = 1) -> float:
        """Reserve the next slot for `key`; return how many seconds to wait before using it."""
        interval = 1.0 / per_second
        if self._script is not None:
            micros = self._script(keys=[self.prefix + key], args=[interval, burst, _ttl(interval, burst), "reserve"])
            return int(micros) / 1_000_000
        with self._lock:
            now = time.monotonic()
            tat = max(self._local.get(key, now), now)
            self._local[key] = tat + interval
            return max(0.0, tat - now - interval * (burst - 1))

    def take_if_free(self, key: str, per_second: float) -> float:
        """Take `key`'s slot only if it is free now: 0.0 when taken, else the seconds until one may be free.

        The bulk lane's call. It never reserves a future slot, so a reply (which reserves) always gets the
        next slot however many bulk sends are waiting, and both lanes together still never exceed the rate.
        """
        interval = 1.0 / per_second
        if self._script is not None:
            micros = self._script(keys=[self.prefix + key], args=[interval, 1, _ttl(interval, 1), "poll"])
            return int(micros) / 1_000_000
        with self._lock:
            now = time.monotonic()
            tat = max(self._local.get(key, now), now)
            if tat > now:
                return tat - now
            self._local[key] = tat + interval
            return 0.0

    def allow(self, key: str, per_minute: int) -> bool:
        """True if one more event for `key` fits in `per_minute` (burst of the same size)."""
        interval = 60.0 / per_minute
        if self._script is not None:
            result = self._script(keys=[self.prefix + key],
                                  args=[interval, per_minute, _ttl(interval, per_minute), "check"])
            return int(result) >= 0
        with self._lock:
            now = time.monotonic()
            tat = max(self._local.get(key, now), now)
            if tat - now > interval * (per_minute - 1):
                return False
            self._local[key] = tat + interval
            return True


def _ttl(interval: float, burst: int) -> int:
    return max(2, int(interval * burst) + 2)
