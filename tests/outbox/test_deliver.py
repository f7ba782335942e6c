"""The worker delivers to the real RabbitMQ at least once, retries with backoff, parks
what keeps failing (never drops it), and two workers never take the same message.

The worker delivers on its own worker login (``wctx``); the owner's ``pctx`` writes the
messages, reads them and runs the operator's list/retry (``boxoffice outbox``)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from config.settings import BrokerSettings
from core.outbox import admin, enqueue
from core.outbox.broker import BrokerSink
from core.outbox.deliver import backoff_s, claim, deliver_due
from core.outbox.job import close_sinks, deliver_outbox
from tests.outbox.conftest import octx_for, outbox_settings


@pytest.fixture(scope="module")
def wctx(pctx, terminal_logins):
    """The worker's own context: its worker login (a pool of 4+4 for the claim race)."""
    return terminal_logins.new_context("deliver-worker", "worker", pctx.settings,
                                       pool_size=4)


def _write(ctx, n: int, kind: str = "price.changed", terminal_id: int | None = None
           ) -> list[uuid.UUID]:
    with ctx.engine.begin() as c:
        return [enqueue(c, kind, {"tier_id": i, "seq": i}, terminal_id=terminal_id)
                for i in range(n)]


def _drain_all(ctx) -> None:
    """Leave no due message from other tests for the next one's counts."""
    with ctx.engine.begin() as c:
        c.execute(text("update outbox set sent_at = now() where sent_at is null"))


def test_delivers_every_message_once_with_its_id_and_envelope(pctx, wctx, exchange, receiver):
    _drain_all(pctx)
    ctx = octx_for(wctx, exchange, None)
    ids = _write(pctx, 5)
    res = deliver_outbox(ctx)
    assert res.sent == 5 and res.failed == 0
    got = receiver.wait_for(5)
    assert set(got) == {str(i) for i in ids}
    doc = got[str(ids[0])]
    assert doc["schema"] == "boxoffice.event" and doc["version"] == 1
    assert doc["type"] == "price.changed" and doc["data"]["seq"] == 0
    _, _, method = receiver.raw[0]
    assert method.routing_key == "price.changed"
    # Sent rows are not sent again.
    assert deliver_outbox(ctx).sent == 0
    receiver.drain(0.3)
    assert len(receiver.raw) == 5
    close_sinks(ctx)


def test_failure_backs_off_then_parks_then_retry_delivers(pctx, wctx, exchange, receiver):
    _drain_all(pctx)
    down = pctx.settings.model_copy(update={"broker": BrokerSettings(
        url="amqp://guest:guest@127.0.0.1:1/%2F", exchange=exchange, connect_timeout_s=0.5)})
    settings = outbox_settings(max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.02)
    sink = BrokerSink(down.broker)
    [mid] = _write(pctx, 1)
    attempts = 0
    while True:
        res = deliver_due(wctx.engine, {"broker": sink}, settings)
        attempts += res.failed
        if res.parked:
            break
        # Not due before its backoff: the next claim right away finds nothing or it.
        assert attempts < 3
        with pctx.engine.begin() as c:
            c.execute(text("update outbox set next_attempt_at = now() where message_id = :m"),
                      {"m": mid})
    assert attempts == 3
    [row] = [r for r in admin.list_messages(pctx.engine, "parked") if r.message_id == str(mid)]
    assert row.attempts == 3 and row.last_error is not None
    assert row.last_error.startswith("ChannelDown: AMQPConnectionError")
    # Parked: never claimed again by itself.
    assert deliver_due(wctx.engine, {"broker": sink}, settings).failed == 0
    assert admin.retry(pctx.engine, [row.id]) == [row.id]
    ctx = octx_for(wctx, exchange, None)
    assert deliver_outbox(ctx).sent == 1
    assert str(mid) in receiver.wait_for(1)
    assert admin.list_messages(pctx.engine, "sent", limit=1)[0].id == row.id
    close_sinks(ctx)


def test_backoff_grows_exponentially_and_is_capped():
    s = outbox_settings(backoff_initial_s=2, backoff_max_s=60)
    assert [backoff_s(a, s) for a in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def test_retry_of_a_message_that_is_not_parked_is_refused(pctx):
    import pytest

    from core.errors import BoxOfficeError

    with pytest.raises(BoxOfficeError) as e:
        admin.retry(pctx.engine, [10**12])
    assert e.value.code == "outbox_message_unknown"


def test_concurrent_workers_never_claim_the_same_message(pctx, wctx):
    _drain_all(pctx)
    ids = set(_write(pctx, 400))
    settings = outbox_settings(batch=7, lease_s=300)
    claimed: list[uuid.UUID] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        while True:
            batch = claim(wctx.engine, ["broker"], settings)
            if not batch:
                return
            with lock:
                claimed.extend(m.message_id for m in batch)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == len(ids) == len(set(claimed))
    assert set(claimed) == ids


def test_a_broker_that_is_down_costs_one_attempt_per_pass_not_one_per_message(pctx, wctx,
                                                                             exchange):
    _drain_all(pctx)
    down = BrokerSettings(url="amqp://guest:guest@127.0.0.1:1/%2F", exchange=exchange,
                          connect_timeout_s=0.5)
    ids = _write(pctx, 5)
    res = deliver_due(wctx.engine, {"broker": BrokerSink(down)}, outbox_settings())
    assert (res.failed, res.sent) == (1, 0)
    with pctx.engine.connect() as c:
        attempts = [r[0] for r in c.execute(text(
            "select attempts from outbox where message_id = any(cast(:m as uuid[]))"
            " order by id"), {"m": [str(i) for i in ids]})]
    assert attempts == [1, 0, 0, 0, 0]  # the others were put back, nothing spent
    _drain_all(pctx)


def test_a_failing_worker_job_does_not_stop_delivery(pctx, wctx, exchange, receiver, monkeypatch):
    from core import worker

    def broken(ctx) -> None:
        raise RuntimeError("metrics job broke")

    _drain_all(pctx)
    ctx = octx_for(wctx, exchange, None)
    monkeypatch.setattr(worker, "JOBS", [broken, *worker.JOBS])
    ids = _write(pctx, 2)
    assert worker.run_worker(ctx, once=True) == 0
    assert set(receiver.wait_for(2)) == {str(i) for i in ids}
    close_sinks(ctx)
