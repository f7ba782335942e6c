"""Writing messages into the outbox, inside the caller's transaction.

A service calls ``enqueue`` in the same unit of work as the change it announces, so the
message exists exactly when the change committed: never a sale without its message,
never a message for a sale that rolled back. Delivery is the worker's (core.outbox.deliver).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from core.errors import BoxOfficeError

# Message kinds (the RabbitMQ routing keys) and which of them the customer hears about.
KINDS = ("sale.completed", "sale.reversed", "refund.completed", "ticket.checked_in",
         "price.changed", "event.paused", "event.resumed", "event.closed",
         "event.rescheduled", "event.canceled")
CUSTOMER_KINDS = ("sale.completed", "refund.completed", "event.rescheduled",
                  "event.canceled")
CHANNELS = ("broker", "email")

_INSERT = text(
    "insert into outbox (topic, payload, message_id, channel, terminal_id)"
    " values (:topic, cast(:payload as jsonb), :mid, :channel, :terminal)"
)


def enqueue(conn: Connection, kind: str, payload: Mapping[str, Any], *,
            terminal_id: int | None, email: bool = False,
            message_id: uuid.UUID | None = None) -> uuid.UUID:
    """Write one message (``kind``, JSON ``payload``) for the casino's systems and, with
    ``email``, its customer copy; both share the returned message id, the id receivers
    drop duplicates by. ``terminal_id``: the acting terminal (row security checks a
    terminal writes only as itself). ``message_id`` makes a retried command write the
    same id (a repeat of the same id is ignored by the unique constraint's caller)."""
    if kind not in KINDS:
        raise BoxOfficeError("invalid_input", detail=f"unknown outbox kind {kind}")
    mid = message_id or uuid.uuid4()
    body = json.dumps(dict(payload), default=str, sort_keys=True)
    for channel in ("broker", "email") if email else ("broker",):
        conn.execute(_INSERT, {"topic": kind, "payload": body, "mid": mid,
                               "channel": channel, "terminal": terminal_id})
    return mid


# --- the customer's address ----------------------------------------------------------------

CONSENT_TEXT = "eticket-email-v1"
LANGUAGES = ("pt-BR", "en", "es")


@dataclass(frozen=True, slots=True)
class CustomerContact:
    """An email address the customer gave for this order, and their consent to be sent
    the tickets and the messages about this order (``consent`` must be True)."""

    email: str
    language: str = "pt-BR"
    consent: bool = False

    def __repr__(self) -> str:  # never print the address (logs, tracebacks)
        return f"CustomerContact(email=<hidden>, language={self.language!r})"


def validated(contact: CustomerContact) -> CustomerContact:
    """The contact with a normalized address; ``invalid_email`` / ``consent_required``."""
    from email_validator import EmailNotValidError, validate_email

    if not contact.consent:
        raise BoxOfficeError("consent_required")
    if contact.language not in LANGUAGES:
        raise BoxOfficeError("invalid_input", detail="language must be pt-BR, en or es")
    try:
        info = validate_email(contact.email.strip(), check_deliverability=False)
    except (EmailNotValidError, AttributeError) as exc:
        raise BoxOfficeError("invalid_email") from exc
    if len(info.normalized) > 254:
        raise BoxOfficeError("invalid_email")
    return CustomerContact(info.normalized, contact.language, True)


_CONTACT = text(
    "insert into order_contacts (order_id, terminal_id, email, language, consent_text)"
    " values (:order_id, :terminal, :email, :lang, :consent)"
)


def record_contact(conn: Connection, order_id: uuid.UUID, terminal_id: int,
                   contact: CustomerContact) -> None:
    """Store the (validated) contact with the order, in the sale's transaction."""
    from sqlalchemy.exc import DBAPIError

    c = validated(contact)
    try:
        conn.execute(_CONTACT, {"order_id": order_id, "terminal": terminal_id,
                                "email": c.email, "lang": c.language,
                                "consent": CONSENT_TEXT})
    except DBAPIError as exc:
        exc.params = None  # the error's text (a log, a traceback) never shows the address
        raise
