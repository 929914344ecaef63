"""The global rate cap on the real shared cache (Redis, as in production): concurrent
workers reserving blocks of one per-second budget never exceed it together, and every
message still gets its token."""

import threading
import time
from collections import Counter

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from django_petmail.sending.ratecap import RateBudget

REDIS_CACHE = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_cache():
    redis.Redis.from_url(REDIS_CACHE).flushdb()
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE,
        }
    }
    with override_settings(CACHES=caches):
        yield
        cache.clear()


def test_workers_share_one_budget_per_second_on_redis(redis_cache):
    limit, workers, per_worker = 10, 3, 12
    petmail = {**settings.PETMAIL, "RATE_LIMIT_PER_SECOND": limit, "SEND_CONCURRENCY": workers}
    seconds: list[int] = []
    lock = threading.Lock()

    def worker():
        read = []  # the clock as the budget last read it: the second its token belongs to

        def clock():
            read.append(time.time())
            return read[-1]

        budget = RateBudget(messages=per_worker, clock=clock)
        for _ in range(per_worker):
            budget.acquire()
            with lock:
                seconds.append(int(read[-1]))

    with override_settings(PETMAIL=petmail):
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert len(seconds) == workers * per_worker  # every message got its token
    per_second = Counter(seconds)
    assert max(per_second.values()) <= limit, per_second
    assert len(per_second) >= (workers * per_worker) // limit  # it had to wait for seconds
    # the counters live in Redis, shared by all workers, and expire on their own
    keys = redis.Redis.from_url(REDIS_CACHE).keys("*petmail:rate:*")
    assert keys and all(redis.Redis.from_url(REDIS_CACHE).ttl(key) <= 5 for key in keys)
