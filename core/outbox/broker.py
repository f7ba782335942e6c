"""Publishing outbox messages to RabbitMQ: a durable topic exchange, persistent
messages, publisher confirms (pika's blocking connection).

The body is the versioned envelope documented in docs/integration.md; the AMQP
``message_id`` property carries the same id, so a consumer can drop duplicates (the
outbox delivers at least once: a confirm lost with a dropped connection means the
message is published again, with the same id).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pika
import pika.exceptions

from config.settings import BrokerSettings
from core.outbox.deliver import ChannelDown, Message

log = logging.getLogger(__name__)

SCHEMA = "boxoffice.event"
SCHEMA_VERSION = 1


def envelope(msg: Message) -> dict[str, Any]:
    """The JSON body of one event (schema ``boxoffice.event`` version 1)."""
    return {"schema": SCHEMA, "version": SCHEMA_VERSION, "id": str(msg.message_id),
            "type": msg.kind, "occurred_at": msg.created_at.isoformat(),
            "source": {"terminal_id": msg.terminal_id}, "data": msg.payload}


def body(msg: Message) -> bytes:
    return json.dumps(envelope(msg), sort_keys=True, separators=(",", ":"),
                      default=str).encode()


class BrokerSink:
    """One connection for the worker's life, reopened after any failure."""

    def __init__(self, settings: BrokerSettings) -> None:
        if settings.url is None:
            raise ValueError("broker.url is not configured")
        self._params = pika.URLParameters(settings.url.get_secret_value())
        self._params.socket_timeout = settings.connect_timeout_s
        self._params.blocked_connection_timeout = settings.connect_timeout_s * 6
        self._exchange = settings.exchange
        self._conn: pika.BlockingConnection | None = None
        self._channel: Any = None

    def _open(self) -> Any:
        if self._conn is None or self._conn.is_closed or self._channel is None \
                or self._channel.is_closed:
            self.close()
            self._conn = pika.BlockingConnection(self._params)
            ch = self._conn.channel()
            ch.exchange_declare(self._exchange, exchange_type="topic", durable=True)
            ch.confirm_delivery()
            self._channel = ch
        return self._channel

    def send(self, msg: Message) -> None:
        try:
            ch = self._open()
        except (pika.exceptions.AMQPConnectionError, OSError) as exc:
            self.close()
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from exc
        props = pika.BasicProperties(
            content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent,
            message_id=str(msg.message_id), type=msg.kind,
            timestamp=int(msg.created_at.timestamp()),
            headers={"schema": SCHEMA, "version": SCHEMA_VERSION})
        try:
            # With confirms on, returns once the broker has taken the message (persisted
            # for durable queues); raises if it was nacked or the connection dropped.
            ch.basic_publish(self._exchange, msg.kind, body(msg), props)
        except (pika.exceptions.AMQPConnectionError, OSError) as exc:
            self.close()
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from exc
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # already broken: nothing to release
                log.debug("broker connection close failed", exc_info=True)
