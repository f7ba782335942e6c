"""Each terminal kind's Redis 7 user (core.provisioning.redis_acl_rules), tried against
the machine's Redis: a terminal reads snapshots and subscribes; every seller bumps
versions; a cashier, the monitor and the worker also store snapshots and publish, a kiosk
on the public floor does not; none lists, deletes, flushes or configures anything, nor
reaches keys outside its prefix. The users are made here and deleted at the end; the
default user is never changed."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest
import redis

from core.provisioning import delete_redis_user, provision_redis_user, redis_acl_rules

PREFIX = f"bo{uuid.uuid4().hex[:6]}:"
KINDS = ("cashier", "kiosk", "monitor", "gate", "worker")


@pytest.fixture(scope="module")
def users(redis_url: str) -> Iterator[dict[str, object]]:
    # The suite's Redis (tests/conftest.py: the machine's, or one started for the session).
    admin = redis.Redis.from_url(redis_url)
    admin.ping()  # no Redis is a failure: the suite runs against a real one
    made: dict[str, object] = {}
    names = []
    try:
        for kind in KINDS:
            name = f"bo_test_{uuid.uuid4().hex[:8]}_{kind}"
            pw = secrets.token_urlsafe(16)
            provision_redis_user(admin, name, kind, pw, prefix=PREFIX)
            names.append(name)
            made[kind] = redis.Redis.from_url(redis_url, username=name, password=pw)
        admin.set(f"{PREFIX}avail:1", "{}")
        admin.set("other-app:key", "x")
        yield made
    finally:
        for name in names:
            delete_redis_user(admin, name)
        admin.delete(f"{PREFIX}avail:1", f"{PREFIX}seatver:1", "other-app:key")
        admin.close()


def _refused(fn) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        fn()


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_reads_and_subscribes_within_its_prefix(users, kind):
    r = users[kind]
    assert r.get(f"{PREFIX}avail:1") == b"{}"
    assert r.mget(f"{PREFIX}seatver:1", f"{PREFIX}avail:1")[1] == b"{}"
    p = r.pubsub()
    p.subscribe(f"{PREFIX}seats:1")
    assert p.get_message(timeout=2)["type"] == "subscribe"
    p.close()
    _refused(lambda: r.get("other-app:key"))
    _refused(lambda: r.keys("*"))
    _refused(lambda: r.delete(f"{PREFIX}avail:1"))
    _refused(lambda: r.flushall())
    _refused(lambda: r.config_get("*"))
    _refused(lambda: r.execute_command("ACL", "SETUSER", "default", "nopass"))


@pytest.mark.parametrize("kind", ("cashier", "monitor", "worker"))
def test_a_kind_that_commits_changes_publishes_them(users, kind):
    r = users[kind]
    pipe = r.pipeline()
    pipe.execute_command("INCR", f"{PREFIX}seatver:1")  # as core.live bumps a version
    pipe.publish(f"{PREFIX}seats:1", "{}")
    pipe.execute()
    assert r.set(f"{PREFIX}avail:1", "{}", ex=5)
    _refused(lambda: r.set(f"{PREFIX}seatver:1", "0"))  # versions only grow
    _refused(lambda: r.incrby(f"{PREFIX}seatver:1", -5))
    _refused(lambda: r.set("other-app:key", "y"))
    _refused(lambda: r.publish("other-app:chan", "x"))


def test_a_kiosk_bumps_versions_but_never_stores_a_snapshot_or_publishes(users):
    r = users["kiosk"]
    pipe = r.pipeline()
    pipe.execute_command("INCR", f"{PREFIX}seatver:1")
    pipe.execute()
    _refused(lambda: r.set(f"{PREFIX}avail:1", '{"states": {}}'))  # no planted seat map
    _refused(lambda: r.publish(f"{PREFIX}seats:1", "{}"))
    _refused(lambda: r.set(f"{PREFIX}seatver:1", "0"))
    _refused(lambda: r.incrby(f"{PREFIX}seatver:1", -5))


def test_a_gate_only_reads(users):
    r = users["gate"]
    _refused(lambda: r.publish(f"{PREFIX}seats:1", "{}"))
    _refused(lambda: r.execute_command("INCR", f"{PREFIX}seatver:1"))
    _refused(lambda: r.set(f"{PREFIX}avail:1", "{}"))


def test_rules_name_the_prefix_only():
    rules = redis_acl_rules("kiosk", "bo:")
    assert rules[0] == "-@all" and not any(r in ("~*", "&*", "allkeys", "+@all")
                                           for r in rules)
