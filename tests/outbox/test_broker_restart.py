"""A broker that drops the worker's connection, or restarts, mid-stream loses nothing.

Two faults, both against the machine's RabbitMQ: every connection closed by force
(``rabbitmqctl close_all_connections``), several times while a worker publishes; and the
broker application restarted (``rabbitmqctl stop_app`` / ``start_app``: the node's
RabbitMQ stops and starts, durable queues and persistent messages survive it). The
receiver is an integrator's: a durable queue of its own, reconnecting, deduplicating."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from typing import Any

import pika
import pika.exceptions
import pytest
from sqlalchemy import text

from core.outbox import enqueue
from core.outbox.job import close_sinks, deliver_outbox
from tests.outbox.conftest import RABBIT_URL, octx_for


class DurableReceiver:
    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.queue = f"bo-test-{uuid.uuid4().hex[:10]}"
        self.raw: list[str] = []
        self.unique: set[str] = set()
        self.reconnects = 0
        self._connect()

    def _connect(self) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
        ch = self.conn.channel()
        ch.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        ch.queue_declare(self.queue, durable=True)
        ch.queue_bind(self.queue, self.exchange, routing_key="#")
        ch.basic_consume(self.queue, self._on_message)
        self.ch = ch

    def _on_message(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        self.raw.append(props.message_id)
        self.unique.add(props.message_id)
        ch.basic_ack(method.delivery_tag)

    def wait_for(self, ids: set[str], timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not ids <= self.unique and time.monotonic() < end:
            try:
                self.conn.process_data_events(time_limit=0.2)
            except (pika.exceptions.AMQPError, OSError):
                self._reconnect(end)

    def _reconnect(self, end: float) -> None:
        while time.monotonic() < end:
            try:
                self._connect()
                self.reconnects += 1
                return
            except (pika.exceptions.AMQPError, OSError):
                time.sleep(0.2)  # the broker is starting: nothing to wait on but time

    def close(self) -> None:
        try:
            if self.conn.is_closed:
                self._connect()
            self.ch.queue_delete(self.queue)
            self.conn.close()
        except (pika.exceptions.AMQPError, OSError):
            pass


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


class Worker(threading.Thread):
    """The worker's outbox job in a loop, as ``boxoffice worker`` runs it."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(daemon=True)
        self.ctx = ctx
        self.stop = threading.Event()
        self.errors = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                deliver_outbox(self.ctx)
            except Exception:
                self.errors += 1
            self.stop.wait(0.05)


@pytest.fixture
def durable(exchange):
    r = DurableReceiver(exchange)
    yield r
    r.close()


def _retried(pctx, ids: set[str]) -> int:
    with pctx.engine.connect() as c:
        return int(c.execute(text("select count(*) from outbox where attempts > 1"
                                  " and message_id = any(cast(:ids as uuid[]))"),
                             {"ids": sorted(ids)}).scalar_one())


def _quiet(pctx) -> None:
    with pctx.engine.begin() as c:
        c.execute(text("update outbox set sent_at = now() where sent_at is null"))


def test_connections_closed_by_force_mid_stream_lose_nothing(pctx, exchange, durable):
    _quiet(pctx)
    ctx = octx_for(pctx, exchange, None, max_attempts=1000, backoff_initial_s=0.05,
                   backoff_max_s=0.2)
    worker = Worker(ctx)
    worker.start()
    ids: set[str] = set()
    try:
        for round_ in range(5):
            with pctx.engine.begin() as c:
                ids |= {str(enqueue(c, "sale.completed", {"round": round_, "i": i},
                                    terminal_id=None)) for i in range(30)}
            _rabbitmqctl("close_all_connections", "test: broker drops every connection")
        durable.wait_for(ids)
    finally:
        worker.stop.set()
        worker.join(10)
        close_sinks(ctx)
    assert durable.unique >= ids and len(ids) == 150
    assert set(durable.raw) >= ids  # duplicates, if any, carry an id already seen
    with pctx.engine.connect() as c:
        assert c.execute(text("select count(*) from outbox where sent_at is null")).scalar() == 0
    # The fault was real: the receiver lost its connection, the worker failed to publish
    # on a closed one and sent those messages again.
    assert durable.reconnects >= 1
    assert _retried(pctx, ids) > 0


def test_broker_restart_mid_stream_loses_nothing(pctx, exchange, durable):
    _quiet(pctx)
    ctx = octx_for(pctx, exchange, None, max_attempts=1000, backoff_initial_s=0.1,
                   backoff_max_s=0.5)
    worker = Worker(ctx)
    worker.start()
    ids: set[str] = set()
    try:
        with pctx.engine.begin() as c:
            ids |= {str(enqueue(c, "refund.completed", {"i": i}, terminal_id=None))
                    for i in range(40)}
        _rabbitmqctl("stop_app")
        # Written while the broker is down: they wait in the outbox.
        with pctx.engine.begin() as c:
            ids |= {str(enqueue(c, "refund.completed", {"i": 100 + i}, terminal_id=None))
                    for i in range(40)}
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")
        durable.wait_for(ids, timeout=90)
    finally:
        worker.stop.set()
        worker.join(10)
        close_sinks(ctx)
    assert durable.unique >= ids and len(ids) == 80
    # The fault was real: publishing failed while the broker was down, and was retried.
    assert _retried(pctx, ids) > 0
