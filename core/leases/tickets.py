"""Where leased (offline) sales meet the ticket service (core.tickets).

An offline terminal signs each ticket with its own Ed25519 key and a serial from the
block reserved with its lease, and prints it at once. The replayed sale records exactly
those tokens centrally (the signature checked here; serial, place and key by the
database function), so the printed ticket and the central one are the same; a later
decline voids them through the revocation list like any refund.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, text

from core.actors import Actor
from core.errors import BoxOfficeError
from core.leases.results import LeasedSale
from core.tickets import parse, void_tickets_in
from core.tickets.keys import public_key_from_raw
from core.tickets.token import TokenError

# Registered keys never change (a new key gets a new id): cache them per process.
_key_cache: dict[tuple[str, int], Any] = {}
_KEY = text("select public_key from ticket_keys where key_id = :kid and terminal_id = :tid")


def _bad(detail: str) -> BoxOfficeError:
    return BoxOfficeError("invalid_input", detail=f"offline ticket rejected: {detail}")


def check_offline_tickets(conn: Connection, actor: Actor, sale: LeasedSale) -> list[int]:
    """Check the signatures of the tickets the terminal signed and printed offline, with
    this terminal's registered keys; returns their serials in order. PostgreSQL cannot
    verify Ed25519, so this is done here (and at every gate); the database function that
    records them checks each token's claims: event, place, reserved serial, live key."""
    keys: dict[str, Any] = {}
    serials: list[int] = []
    for t in sale.tickets:
        try:
            parsed = parse(t["token"])
        except (TokenError, KeyError, TypeError, AttributeError) as exc:
            raise _bad(getattr(exc, "detail", "unreadable token")) from None
        c = parsed.claims
        if c.key_id not in keys:
            cached = _key_cache.get((c.key_id, actor.terminal_id))
            if cached is None:
                row = conn.execute(_KEY, {"kid": c.key_id, "tid": actor.terminal_id}).first()
                if row is None:
                    raise _bad(f"key {c.key_id} is not this terminal's")
                cached = _key_cache[(c.key_id, actor.terminal_id)] = public_key_from_raw(
                    row.public_key)
            keys[c.key_id] = cached
        if not parsed.verify(keys[c.key_id]):
            raise _bad(f"bad signature on serial {c.serial}")
        serials.append(c.serial)
    return serials


def revoke_order_tickets(conn: Connection, actor: Actor, order_id: uuid.UUID,
                         reason: str) -> int:
    """Void an order's tickets and put them on the revocation list; returns how many."""
    return void_tickets_in(conn, actor, order_id, None, reason)
