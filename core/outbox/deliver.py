"""The worker's side of the outbox: claim due messages, hand each to its channel's sink,
record the outcome. At least once, never dropped.

A claim is one statement: the due rows, ``FOR UPDATE SKIP LOCKED`` so two workers never
take the same row, are pushed ``lease_s`` into the future and committed before anything
is sent. Nothing is held open while a sink talks to RabbitMQ or SMTP; a worker killed
mid-send leaves its rows to fall due again when the lease runs out, and they are sent
again with the same message id (receivers drop the duplicate). A failure schedules the
next attempt with exponential backoff; after ``max_attempts`` the row is parked with its
last error until a supervisor retries it (``boxoffice outbox retry``).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from config.settings import OutboxSettings

log = logging.getLogger(__name__)

# Test seam for the kill -9 test: the worker kills itself right after a sink accepted a
# message and before the row is marked sent (the worst moment: sent, not recorded).
CRASH_ENV = "BOXOFFICE_TEST_CRASH_AT"


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    message_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    channel: str
    terminal_id: int | None
    created_at: datetime
    attempts: int


class Skip(Exception):
    """Nothing to send (an order without an email address): the row is done."""


class ChannelDown(Exception):
    """The sink cannot reach its server at all (refused, reset, timed out): the rest of
    the batch on this channel is put back without spending an attempt, and the channel
    is not tried again this pass (no minute of timeouts against a broker that is down)."""


class Sink(Protocol):
    def send(self, msg: Message) -> None:
        """Deliver ``msg`` or raise; returning means the receiver has it."""

    def close(self) -> None: ...


_CLAIM = text(
    """
    update outbox o set next_attempt_at = now() + make_interval(secs => :lease),
                        attempts = o.attempts + 1
    where o.id in (select id from outbox
                   where sent_at is null and parked_at is null and next_attempt_at <= now()
                     and channel = any(:channels)
                   order by id limit :n for update skip locked)
    returning o.id, o.message_id, o.topic, o.payload, o.channel, o.terminal_id,
              o.created_at, o.attempts
    """
).bindparams(bindparam("channels", type_=ARRAY(String)))
_SENT = text("update outbox set sent_at = now(), last_error = :note where id = :id")
_FAILED = text(
    """
    update outbox set last_error = :err,
      next_attempt_at = now() + make_interval(secs => :wait),
      parked_at = case when attempts >= :max then now() end
    where id = :id and sent_at is null
    returning parked_at is not null as parked
    """
)


def backoff_s(attempt: int, settings: OutboxSettings) -> float:
    """Seconds before attempt ``attempt + 1``: initial x 2^(attempt-1), capped."""
    return float(min(settings.backoff_initial_s * (2 ** max(attempt - 1, 0)),
                     settings.backoff_max_s))


_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def scrub(err: BaseException) -> str:
    """An error for the table and the log: no email address (an SMTP refusal quotes the
    recipient), bounded length."""
    text_ = f"{type(err).__name__}: {err}"
    return _ADDRESS.sub("<address>", text_)[:300]


def claim(engine: Engine, channels: list[str], settings: OutboxSettings) -> list[Message]:
    with engine.begin() as conn:
        rows = conn.execute(_CLAIM, {"lease": settings.lease_s, "channels": channels,
                                     "n": settings.batch}).all()
    return [Message(r.id, r.message_id, r.topic, dict(r.payload), r.channel, r.terminal_id,
                    r.created_at, r.attempts) for r in sorted(rows, key=lambda r: r.id)]


@dataclass
class PassResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    parked: int = 0


def deliver_due(engine: Engine, sinks: Mapping[str, Sink],
                settings: OutboxSettings) -> PassResult:
    """One pass: claim what is due on the channels that have a sink, deliver, record.
    Repeats claims until nothing is due (bounded by ten batches per pass)."""
    out = PassResult()
    live = dict(sinks)
    for _ in range(10):
        if not live:
            break
        batch = claim(engine, sorted(live), settings)
        if not batch:
            break
        for msg in batch:
            if msg.channel not in live:
                _put_back(engine, msg, settings)
            elif not _deliver_one(engine, live[msg.channel], msg, settings, out):
                del live[msg.channel]
    return out


_PUT_BACK = text(
    "update outbox set attempts = attempts - 1,"
    " next_attempt_at = now() + make_interval(secs => :wait)"
    " where id = :id and sent_at is null"
)


def _put_back(engine: Engine, msg: Message, settings: OutboxSettings) -> None:
    with engine.begin() as conn:
        conn.execute(_PUT_BACK, {"id": msg.id, "wait": backoff_s(1, settings)})


def _deliver_one(engine: Engine, sink: Sink, msg: Message, settings: OutboxSettings,
                 out: PassResult) -> bool:
    """Deliver and record one message; False when its channel is down."""
    note = None
    try:
        sink.send(msg)
    except Skip as exc:
        note = f"skipped: {exc}"[:300]
        out.skipped += 1
    except Exception as exc:
        err = scrub(exc)
        with engine.begin() as conn:
            parked = conn.execute(_FAILED, {"id": msg.id, "err": err,
                                            "wait": backoff_s(msg.attempts, settings),
                                            "max": settings.max_attempts}).scalar()
        out.failed += 1
        if parked:
            out.parked += 1
        # Fields in the text: the JSON log keeps the message, not stdlib ``extra``.
        log.warning("outbox delivery failed: id=%s message_id=%s kind=%s channel=%s"
                    " attempt=%s parked=%s error=%s", msg.id, msg.message_id, msg.kind,
                    msg.channel, msg.attempts, bool(parked), err)
        return not isinstance(exc, ChannelDown)
    if os.environ.get(CRASH_ENV) == "outbox_after_send":
        os.kill(os.getpid(), signal.SIGKILL)
    with engine.begin() as conn:
        conn.execute(_SENT, {"id": msg.id, "note": note})
    if note is None:
        out.sent += 1
    log.info("outbox message delivered: id=%s message_id=%s kind=%s channel=%s attempt=%s"
             " skipped=%s", msg.id, msg.message_id, msg.kind, msg.channel, msg.attempts,
             note is not None)
    return True
