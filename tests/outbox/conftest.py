"""The outbox against the machine's real services: PostgreSQL, RabbitMQ on
127.0.0.1:5672 (a private exchange per test module) and an SMTP server on loopback
(aiosmtpd). ``Receiver`` is the deduplicating consumer an integrator would write."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pika
import pytest
from aiosmtpd.controller import Controller

from config.settings import BrokerSettings, MailSettings, OutboxSettings
from core.context import CoreContext
from tests.payments.conftest import (  # noqa: F401 - fixtures for this package
    _no_faults,
    cashier,
    cashier_pctx,
    kiosk,
    kiosk_pctx,
    pay_settings,
    pctx,
    sandbox,
)

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def exchange() -> Iterator[str]:
    name = f"boxoffice.test.{uuid.uuid4().hex[:10]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
    conn.channel().exchange_delete(name)
    conn.close()


@dataclass
class Receiver:
    """Consumes every message of ``exchange`` into its own queue and keeps the first
    copy of each message id (``unique``) and every delivery (``raw``)."""

    exchange: str
    raw: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    unique: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
        self.ch = self.conn.channel()
        self.ch.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        q = self.ch.queue_declare("", exclusive=True).method.queue
        self.ch.queue_bind(q, self.exchange, routing_key="#")
        self.ch.basic_consume(q, self._on_message, auto_ack=True)

    def _on_message(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        doc = json.loads(body)
        self.raw.append((props.message_id, doc, method))
        self.unique.setdefault(props.message_id, doc)

    def wait_for(self, n: int, timeout: float = 20.0) -> dict[str, dict[str, Any]]:
        """Until ``n`` distinct message ids have arrived (events, not sleeps)."""
        end = time.monotonic() + timeout
        while len(self.unique) < n and time.monotonic() < end:
            self.conn.process_data_events(time_limit=0.2)
        return self.unique

    def drain(self, seconds: float = 0.5) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.conn.process_data_events(time_limit=0.1)

    def close(self) -> None:
        if self.conn.is_open:
            self.conn.close()


@pytest.fixture
def receiver(exchange: str) -> Iterator[Receiver]:
    r = Receiver(exchange)
    yield r
    r.close()


class MailHandler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        # A recipient the server refuses, quoting the address (as real servers do).
        if address.startswith("refuse-me@"):
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, n: int, timeout: float = 20.0) -> list[EmailMessage]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= n, timeout)
            return list(self.messages)


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[MailHandler, int]]:
    handler = MailHandler()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    yield handler, port
    ctl.stop()


def outbox_settings(**kw: Any) -> OutboxSettings:
    base: dict[str, Any] = {"max_attempts": 3, "backoff_initial_s": 0.05,
                            "backoff_max_s": 0.2, "lease_s": 30, "batch": 20}
    return OutboxSettings(**{**base, **kw})


def octx_for(base: CoreContext, exchange: str | None, smtp_port: int | None,
             **outbox: Any) -> CoreContext:
    """``base`` (same engine, gateway, signer) with a broker, a mail server and fast
    outbox timings."""
    s = base.settings.model_copy(update={
        "broker": BrokerSettings(url=RABBIT_URL, exchange=exchange) if exchange
        else BrokerSettings(),
        "mail": MailSettings(host="127.0.0.1", port=smtp_port, starttls=False,
                             sender="Box Office <bo@casino.test>") if smtp_port
        else MailSettings(),
        "outbox": outbox_settings(**outbox)})
    c = CoreContext(settings=s, engine=base.engine)
    c.gateway = base.gateway
    c._signer = base._signer
    return c


def settings_file(tmp: Path, db_url: str, exchange: str, smtp_port: int | None,
                  **outbox: Any) -> Path:
    """A TOML config for a ``boxoffice worker`` subprocess."""
    ob = {"max_attempts": 5, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "lease_s": 1,
          **outbox}
    lines = ["[database]", f'url = "{db_url}"', "[broker]", f'url = "{RABBIT_URL}"',
             f'exchange = "{exchange}"', "[outbox]",
             *(f"{k} = {v}" for k, v in ob.items()),
             "[logging]", f'file = "{tmp / "worker.jsonl"}"']
    if smtp_port:
        lines += ["[mail]", 'host = "127.0.0.1"', f"port = {smtp_port}", "starttls = false"]
    path = tmp / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
