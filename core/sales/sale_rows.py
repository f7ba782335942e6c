"""The ``sales`` row as the saga's write-ahead log: every step moves it by compare-and-set
on ``version``, so whoever drives a sale (the live checkout or the recovery sweeper) learns
when the other took it over. Shared by ``core.sales.saga`` and ``core.sales.recovery``."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, text

from core.context import CoreContext

_BY_ID = text("select * from sales where id = :id")
_CAS = text(
    """
    update sales set state = :state, version = version + 1, updated_at = now(),
        intent_id = coalesce(:intent_id, intent_id), order_id = coalesce(:order_id, order_id),
        error_code = coalesce(:error_code, error_code), result = coalesce(cast(:result as jsonb),
        result), attempts = attempts + :attempt
    where id = :id and version = :version
    returning *
    """
)


class TakenOver(Exception):
    """Another process moved the sale on; re-read the row."""


def cas(conn: Connection, sale: Any, state: str, *, intent_id: str | None = None,
        order_id: uuid.UUID | None = None, error_code: str | None = None,
        result: dict[str, Any] | None = None, attempt: int = 0) -> Any:
    """Move ``sale`` to ``state`` if nobody moved it since it was read; the new row."""
    row = conn.execute(_CAS, {
        "id": sale.id, "version": sale.version, "state": state, "intent_id": intent_id,
        "order_id": order_id, "error_code": error_code,
        "result": json.dumps(result, default=str) if result is not None else None,
        "attempt": attempt}).first()
    if row is None:
        raise TakenOver()
    return row


def reload_sale(ctx: CoreContext, sale_id: uuid.UUID) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(_BY_ID, {"id": sale_id}).one()


_UUIDS = ("id", "key", "hold_id", "order_id", "shift_id")
_TIMES = ("created_at", "updated_at")


def sale_from_json(d: dict[str, Any]) -> Any:
    """A sale row the database functions return as JSON (``to_jsonb(sales)``), typed as a
    row read with SELECT is: the saga reads either kind the same way."""
    row = dict(d)
    for k in _UUIDS:
        if row.get(k) is not None:
            row[k] = uuid.UUID(row[k])
    for k in _TIMES:
        if row.get(k) is not None:
            row[k] = datetime.fromisoformat(row[k])
    return SimpleNamespace(**row)
