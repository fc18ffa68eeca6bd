"""Rate limits kept in Redis (AIGUILLAGE_RATELIMIT_STORAGE_URI=redis://…), as when several
processes serve: the login limit counts in the shared server, not in the process.

Uses Redis database 13 of 127.0.0.1:6379 (AIGUILLAGE_TEST_REDIS_URL to change it), whose
rate-limit keys the test empties; skipped when no Redis server answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.conftest import DEMO, csrf_token
from ticketing.settings import Settings

redis = pytest.importorskip("redis", reason="the redis client is in the dev extras")

REDIS_URL = os.environ.get("AIGUILLAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
LOGIN = f"/{DEMO}/agent/connexion"
VOIRIE = "agent.voirie@champignac.example"


@pytest.fixture
def redis_server() -> Iterator[redis.Redis]:
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        server.ping()
    except redis.exceptions.RedisError as exc:
        server.close()
        pytest.skip(f"no Redis server answers at {REDIS_URL} ({exc})")
    yield server
    _forget_counters(server)
    server.close()


def _forget_counters(server: redis.Redis) -> int:
    keys = list(server.scan_iter(match="LIMITS*"))
    return server.delete(*keys) if keys else 0


@pytest.fixture
def settings(settings: Settings, redis_server: redis.Redis) -> Settings:
    return replace(settings, ratelimit_storage_uri=REDIS_URL)


def test_login_limit_counts_in_redis(app, client, demo_accounts, redis_server):
    limit = int(app.extensions["aiguillage"].settings.login_limit.split()[0])
    token = csrf_token(client, LOGIN)
    data = {"email": VOIRIE, "password": "mauvais-mot-de-passe", "csrf_token": token}
    for _ in range(limit):
        assert client.post(LOGIN, data=data).status_code == 422
    blocked = client.post(LOGIN, data=data)
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)

    # The counters are Redis keys: every process sees them, and emptying them lifts the block.
    assert _forget_counters(redis_server) >= 1
    assert client.post(LOGIN, data=data).status_code == 422

