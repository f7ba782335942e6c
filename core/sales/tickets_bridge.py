"""The single place where the sale saga touches ticket issuing (core.tickets, owned by the
ticketing part): confirm issues, refunds and reversals void, in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection

from core.actors import Actor
from core.context import CoreContext
from core.reservation.results import OrderResult


def prepare(ctx: CoreContext) -> None:
    """Build the terminal's signer before the sale's transaction: made for the first time
    inside it, the key registration (its own transaction) would wait on row locks the
    sale's transaction holds."""
    ctx.signer()


def issue(conn: Connection, ctx: CoreContext, actor: Actor,
          order: OrderResult) -> tuple[int, ...]:
    from core.tickets import issue_tickets_in

    return tuple(t.serial for t in issue_tickets_in(conn, actor, order, ctx.signer()))


def void(conn: Connection, actor: Actor, order_id: uuid.UUID, line_ids: list[int] | None,
         reason: str) -> int:
    from core.tickets import void_tickets_in

    return void_tickets_in(conn, actor, order_id, line_ids, reason)


def signed(ctx: CoreContext, actor: Actor, doc: dict[str, Any]) -> dict[str, Any]:
    """The arguments a sale function takes to issue the tickets of ``doc`` (the places,
    serials and clock from the database): the signed tokens and the signing key."""
    from core.tickets.issue import sign_places

    signer = ctx.signer()
    tickets = sign_places(signer, int(doc["now_s"]), list(doc["places"]))
    return {"tickets": json.dumps(tickets),
            "key_terminal": signer.terminal_id or actor.terminal_id,
            "key_id": signer.key_id, "key_public": signer.public_key}
