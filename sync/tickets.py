"""Where an offline sale gets its tickets signed with the terminal's own key.

Offline tickets are signed locally (the gate verifies them with the terminal's public
key like any other) and printed through the local spooler; the signed tokens travel in
the journaled sale so the central record carries exactly what was printed.
"""

from __future__ import annotations

import uuid
from typing import Any

from core.app_context import CoreContext
from core.leases.results import LeasedSeat


def sign_offline_tickets(ctx: CoreContext, terminal_id: int, order_id: uuid.UUID,
                         event_id: int, seats: list[LeasedSeat], ga_section_id: int | None,
                         ga_qty: int, ga_price: int | None, ga_tier: int | None,
                         currency: str) -> list[dict[str, Any]]:
    """One ticket per seat or GA unit. Returns plain dicts (token + what it names)."""
    units: list[dict[str, Any]] = [
        {"order_id": str(order_id), "event_id": event_id, "section_id": s.section_id,
         "seat_id": s.seat_id, "unit": 1, "unit_price_minor": s.unit_price_minor,
         "tier_id": s.tier_id, "currency": currency} for s in seats]
    units += [{"order_id": str(order_id), "event_id": event_id, "section_id": ga_section_id,
               "seat_id": None, "unit": u, "unit_price_minor": ga_price, "tier_id": ga_tier,
               "currency": currency} for u in range(1, ga_qty + 1)]
    return units
