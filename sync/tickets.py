"""Signing tickets offline with the terminal's own key.

The token is the same as an online ticket's (core.tickets.token): the serial comes from
the block reserved with the lease, the key is this terminal's registered Ed25519 key, so
gates verify it offline like any other. The signed tokens travel in the journaled sale,
and the central record carries exactly what was printed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from config import Settings
from core.leases.results import LeasedSeat
from core.tickets.keys import TicketSigner, key_path, load_or_create_key
from core.tickets.token import KIND_GA, KIND_SEAT, VERSION, TicketClaims, encode

_signers: dict[str, TicketSigner] = {}


def local_signer(settings: Settings) -> TicketSigner:
    """The terminal's key from its data dir (no database needed; it was registered when
    the lease was taken, online)."""
    path = key_path(settings.terminal.data_dir, settings.terminal.name)
    signer = _signers.get(str(path))
    if signer is None:
        signer = _signers[str(path)] = load_or_create_key(path)
    return signer


def sign_offline_tickets(signer: TicketSigner, serials: list[int], order_id: uuid.UUID,
                         event_id: int, seats: list[LeasedSeat], ga_section_id: int | None,
                         ga_qty: int) -> list[dict[str, Any]]:
    """One signed ticket per seat or GA unit, using ``serials`` in order."""
    now = int(time.time())
    places = [(KIND_SEAT, s.seat_id, 0) for s in seats]
    places += [(KIND_GA, int(ga_section_id or 0), u) for u in range(1, ga_qty + 1)]
    if len(serials) != len(places):
        raise ValueError("one serial per ticket")
    out = []
    for serial, (kind, place, unit) in zip(serials, places, strict=True):
        claims = TicketClaims(version=VERSION, key_id=signer.key_id, serial=serial,
                              event_id=event_id, issued_at=now, kind=kind, place_id=place,
                              unit=unit)
        payload = claims.pack()
        out.append({"serial": serial, "token": encode(payload, signer.sign(payload)),
                    "seat_id": place if kind == KIND_SEAT else None,
                    "unit": unit or 1, "order_id": str(order_id)})
    return out
