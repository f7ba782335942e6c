"""Customers' emails: the confirmation with the e-tickets, and the messages about a
refund, a new date or a cancellation, in the language the customer chose.

The address is read here, by the worker, from ``order_contacts`` (no terminal reads it)
and never logged. An event-wide message (rescheduled, canceled) is fanned out into one
email row per order with a contact, each with an id derived from the event message's,
so a fan-out repeated after a crash writes no second row.

Each ticket travels as a PNG picture of the paper ticket carrying the same signed QR.
Drawing it is the printing layer's job (core does not import printing): the worker's
process installs the renderer (``install_ticket_renderer``, done by
``printing.eticket.install`` in ``terminal.bootstrap.run_worker``).
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from config.settings import MailSettings
from core.money import format_minor
from core.outbox.deliver import ChannelDown, Message, Skip
from core.outbox.mail_text import TEXTS, render

# (engine, order id, language) -> [(file name, PNG bytes)] for the order's valid tickets.
TicketRenderer = Callable[[Engine, uuid.UUID, str], list[tuple[str, bytes]]]
_renderer: TicketRenderer | None = None


def install_ticket_renderer(fn: TicketRenderer) -> None:
    """``fn(engine, order_id, language) -> [(filename, png)]``: the e-tickets of an order
    (its valid tickets), used for every confirmation from now on."""
    global _renderer
    _renderer = fn


class NoTicketRenderer(RuntimeError):
    """The worker process has no e-ticket renderer installed: retried, then parked."""


_CONTACT = text("select email, language from order_contacts where order_id = :o")
_ORDER = text(
    """
    select o.number, o.total_minor, o.currency, e.name as event, e.starts_at,
           v.name as venue, v.timezone
    from orders o join events e on e.id = o.event_id join venues v on v.id = e.venue_id
    where o.id = :o
    """
)
_CONTACTS_OF_EVENT = text(
    "select c.order_id from order_contacts c join orders o on o.id = c.order_id"
    " where o.event_id = :event order by c.order_id"
)
_FAN_OUT = text(
    "insert into outbox (topic, payload, message_id, channel, terminal_id)"
    " values (:topic, cast(:payload as jsonb), :mid, 'email',"
    " coalesce(bo_my_terminal(), :terminal))"
    " on conflict (message_id, channel) do nothing"
)


class EmailSink:
    def __init__(self, engine: Engine, settings: MailSettings) -> None:
        if settings.host is None:
            raise ValueError("mail.host is not configured")
        self.engine = engine
        self.settings = settings

    def close(self) -> None:
        return None

    def send(self, msg: Message) -> None:
        if msg.kind not in TEXTS:
            raise Skip("no customer message for this kind")
        if "order_id" not in msg.payload:
            self._fan_out(msg)
            return
        order_id = uuid.UUID(str(msg.payload["order_id"]))
        with self.engine.connect() as conn:
            contact = conn.execute(_CONTACT, {"o": order_id}).first()
            order = conn.execute(_ORDER, {"o": order_id}).first()
        if contact is None or order is None:
            raise Skip("no email address for this order")
        email = self._compose(msg, order, contact.language)
        email["To"] = contact.email
        self._smtp_send(email)

    def _fan_out(self, msg: Message) -> None:
        event_id = msg.payload.get("event_id")
        if event_id is None:
            raise Skip("no order or event to write to")
        import json

        n = 0
        with self.engine.begin() as conn:
            for (order_id,) in conn.execute(_CONTACTS_OF_EVENT, {"event": int(event_id)}):
                payload = {**msg.payload, "order_id": str(order_id)}
                n += conn.execute(_FAN_OUT, {
                    "topic": msg.kind, "payload": json.dumps(payload, default=str),
                    "mid": uuid.uuid5(msg.message_id, str(order_id)),
                    "terminal": msg.terminal_id}).rowcount
        raise Skip(f"fanned out to {n} order(s)")

    def _compose(self, msg: Message, order: Any, lang: str) -> EmailMessage:
        tz = ZoneInfo(order.timezone)
        starts = msg.payload.get("starts_at") if msg.kind == "event.rescheduled" else None
        from datetime import datetime

        when_ts = datetime.fromisoformat(starts) if isinstance(starts, str) \
            else order.starts_at
        when = when_ts.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        amount = int(msg.payload.get("amount_minor", order.total_minor))
        tickets: list[tuple[str, bytes]] = []
        if msg.kind == "sale.completed":
            if _renderer is None:
                raise NoTicketRenderer("no e-ticket renderer installed in this process")
            tickets = _renderer(self.engine, uuid.UUID(str(msg.payload["order_id"])), lang)
        subject, body = render(msg.kind, lang, event=order.event, venue=order.venue,
                               when=when, order=order.number, count=len(tickets),
                               total=format_minor(int(order.total_minor), order.currency,
                                                  lang),
                               amount=format_minor(amount, order.currency, lang))
        email = EmailMessage()
        email["Subject"] = subject
        email["From"] = self.settings.sender
        # Stable per message: a resend after a crash is recognisably the same email.
        email["Message-ID"] = f"<{msg.message_id}@boxoffice>"
        email["X-BoxOffice-Message-Id"] = str(msg.message_id)
        email["X-BoxOffice-Kind"] = msg.kind
        email.set_content(body)
        for filename, png in tickets:
            email.add_attachment(png, maintype="image", subtype="png", filename=filename)
        # After the body: set_content and add_attachment move Content-* headers around.
        email["Content-Language"] = lang
        return email

    def _smtp_send(self, email: EmailMessage) -> None:
        try:
            self._smtp_session(email)
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as exc:
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from exc
        except smtplib.SMTPException:
            raise  # an answer about this message (a refused recipient...): its own retry
        except OSError as exc:  # refused, reset, timed out, TLS: the server is unreachable
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from exc

    def _smtp_session(self, email: EmailMessage) -> None:
        s = self.settings
        assert s.host is not None
        context = ssl.create_default_context(
            cafile=str(s.cafile) if s.cafile is not None else None)
        smtp: smtplib.SMTP
        if s.ssl:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        with smtp:
            if s.starttls and not s.ssl:
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username,
                           s.password.get_secret_value() if s.password else "")
            smtp.send_message(email)
