"""A Redis cache that treats an unreachable Redis as a cache miss.

The cache only holds copies (store rules, page fragments) and counters (log-in
failures, self-service attempts), so when Redis is down the web answers from
the database instead of failing every page; due tasks keep being written to the
database and go out when Redis is back.

While Redis is down:

- every read is a miss and every write is skipped (counters start again from 1:
  the log-in lock-out and the self-service limit are not enforced);
- after one failure the process does not try Redis again for `RETRY_AFTER_SECONDS`,
  so a page that reads the cache twenty times does not wait twenty times;
- keys it could not delete or overwrite are remembered (up to `MAX_PENDING`) and
  deleted as soon as Redis answers again, so a store rule changed during the
  outage does not come back with its old value from a Redis that was only
  unreachable, not restarted.
"""

import functools
import io
import logging
import pickle
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.utils.functional import lazy
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_DOWN = (RedisConnectionError, RedisTimeoutError)


class ResilientRedisCache(RedisCache):
    RETRY_AFTER_SECONDS = 5.0
    MAX_PENDING = 1000

    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._pending: set[str] = set()  # full keys to delete once Redis answers again
        self._state_lock = threading.Lock()

    # ------------------------------------------------------------ outage bookkeeping

    def _skipping(self) -> bool:
        return time.monotonic() < self._down_until

    def _remember(self, keys, version) -> None:
        with self._state_lock:
            for key in keys:
                if len(self._pending) < self.MAX_PENDING:
                    self._pending.add(self.make_and_validate_key(key, version=version))

    def _went_down(self, operation: str) -> None:
        with self._state_lock:
            self._down_until = time.monotonic() + self.RETRY_AFTER_SECONDS
        logger.warning(
            "cache %s skipped: Redis unreachable; not tried again for %ss",
            operation,
            self.RETRY_AFTER_SECONDS,
        )

    def _flush_pending(self) -> None:
        if not self._pending:
            return
        with self._state_lock:
            pending, self._pending = list(self._pending), set()
        try:
            self._cache.get_client(write=True).delete(*pending)
        except _DOWN:
            with self._state_lock:
                self._pending.update(pending)
            raise
        logger.info("cache: Redis is back; deleted %s keys written during the outage", len(pending))

    def _call(self, operation: str, call, default, *, keys=(), version=None):
        if not self._skipping():
            try:
                self._flush_pending()
                return call()
            except _DOWN:
                self._went_down(operation)
        self._remember(keys, version)
        return default

    # ------------------------------------------------------------ reads: a miss

    def get(self, key, default=None, version=None):
        parent = super()
        return self._call("get", lambda: parent.get(key, default, version), default)

    def get_many(self, keys, version=None):
        parent = super()
        return self._call("get_many", lambda: parent.get_many(keys, version), {})

    def has_key(self, key, version=None):
        parent = super()
        return self._call("has_key", lambda: parent.has_key(key, version), False)

    # ------------------------------------------------------------ writes: skipped

    def set(self, key, value, timeout=None, version=None):
        parent = super()
        call = lambda: parent.set(key, value, timeout, version)  # noqa: E731
        self._call("set", call, None, keys=[key], version=version)

    def add(self, key, value, timeout=None, version=None):
        parent = super()
        return self._call("add", lambda: parent.add(key, value, timeout, version), False)

    def set_many(self, data, timeout=None, version=None):
        parent = super()
        call = lambda: parent.set_many(data, timeout, version)  # noqa: E731
        return self._call("set_many", call, list(data), keys=list(data), version=version)

    def touch(self, key, timeout=None, version=None):
        parent = super()
        return self._call("touch", lambda: parent.touch(key, timeout, version), False)

    def delete(self, key, version=None):
        parent = super()
        call = lambda: parent.delete(key, version)  # noqa: E731
        return self._call("delete", call, False, keys=[key], version=version)

    def delete_many(self, keys, version=None):
        parent = super()
        keys = list(keys)
        call = lambda: parent.delete_many(keys, version)  # noqa: E731
        self._call("delete_many", call, None, keys=keys, version=version)

    def incr(self, key, delta=1, version=None):
        """A counter that cannot be read counts from zero: the caller sees `delta`."""
        parent = super()
        call = lambda: parent.incr(key, delta, version)  # noqa: E731
        return self._call("incr", call, delta, keys=[key], version=version)

    def clear(self):
        parent = super()
        return self._call("clear", lambda: parent.clear(), False)


# ---------------------------------------------------------------- reading pickled values


@functools.cache
def _lazy_function(func, resultclasses):
    return lazy(func, *resultclasses)


def _lazy_proxy_unpickle(func, args, kwargs, *resultclasses):
    """Django's own reconstructor builds a new proxy class for every lazy text it unpickles
    (`lazy()` per value); this one builds it once per function. A cached report with 350
    lazy labels took 8 ms to unpickle that way, a third of the page (issue 21)."""
    return _lazy_function(func, resultclasses)(*args, **kwargs)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "django.utils.functional" and name == "_lazy_proxy_unpickle":
            return _lazy_proxy_unpickle
        return super().find_class(module, name)


class CacheSerializer(RedisSerializer):
    """Django's Redis serializer, with lazy texts rebuilt from one proxy class each."""

    def loads(self, data):
        try:
            return int(data)
        except ValueError:
            return _Unpickler(io.BytesIO(data)).load()
