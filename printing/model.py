"""Plain data the layouts print: tickets come from ``core.tickets.TicketView``; the
receipt is built here from those tickets plus how the customer paid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from core.tickets.views import TicketView

__all__ = ["ReceiptData", "ReceiptLine", "TicketView", "receipt_for"]


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    text: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class ReceiptData:
    order_number: int
    venue_name: str
    event_name: str
    starts_at: datetime
    timezone: str
    currency: str
    lines: tuple[ReceiptLine, ...]
    total_minor: int
    method: Literal["cash", "card"]
    terminal_name: str
    operator_name: str | None
    issued_at: datetime
    tendered_minor: int | None = None
    change_minor: int | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    payment_ref: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def place_of(t: TicketView, lang: str = "en") -> str:
    from printing.i18n import label

    if t.seated:
        return f"{t.section_code} {t.row_label}-{t.seat_number}"
    return f"{t.section_code} {label('ga', lang).split(' ')[0]} #{t.unit}"


def receipt_for(tickets: Sequence[TicketView], method: Literal["cash", "card"], *,
                tendered_minor: int | None = None, card_brand: str | None = None,
                card_last4: str | None = None, payment_ref: str | None = None,
                lang: str = "pt-BR") -> ReceiptData:
    """The receipt of one order, from its tickets (one line per ticket)."""
    if not tickets:
        raise ValueError("a receipt needs at least one ticket")
    t0 = tickets[0]
    total = sum(t.unit_price_minor for t in tickets)
    change = None if tendered_minor is None else tendered_minor - total
    return ReceiptData(
        order_number=t0.order_number, venue_name=t0.venue_name, event_name=t0.event_name,
        starts_at=t0.starts_at, timezone=t0.timezone, currency=t0.currency,
        lines=tuple(ReceiptLine(f"{place_of(t, lang)} {t.tier_name}", t.unit_price_minor)
                    for t in tickets),
        total_minor=total, method=method, terminal_name=t0.terminal_name,
        operator_name=t0.operator_name, issued_at=t0.issued_at,
        tendered_minor=tendered_minor, change_minor=change, card_brand=card_brand,
        card_last4=card_last4, payment_ref=payment_ref,
    )
