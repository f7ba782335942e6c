"""E-tickets: the PNG picture of each paper ticket of an order (same layout, same signed
QR), for the confirmation email the worker sends (core.outbox.mail)."""

from __future__ import annotations

import io
import uuid

from sqlalchemy import Engine

from core.outbox.mail import install_ticket_renderer
from core.tickets.views import ticket_views
from printing.layout import ticket_document
from printing.png_render import render_png


def order_pngs(engine: Engine, order_id: uuid.UUID, lang: str) -> list[tuple[str, bytes]]:
    """(file name, PNG) of every valid ticket of the order, in ``lang``."""
    out = []
    for t in ticket_views(engine, order_id=order_id):
        if t.status != "valid":
            continue
        buf = io.BytesIO()
        render_png(ticket_document(t, paper_mm=80, lang=lang)).save(buf, format="PNG",
                                                                   optimize=True)
        out.append((f"ticket-{t.serial_text}.png", buf.getvalue()))
    return out


def install() -> None:
    """Let this process's worker attach e-tickets to confirmations."""
    install_ticket_renderer(order_pngs)
