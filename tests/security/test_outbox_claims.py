"""What a terminal announces is what it did (migration 0021): the outbox messages a
kiosk's, a counter's or a gate's login writes must match the database, so a thief with a
terminal's config cannot tell the casino's systems of a sale, refund or price change that
never happened. The legitimate messages are written by every sale in the suite (the
kiosk's card sale and the counter's cash sale in tests/security/test_flows.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.printing.conftest import sell
from tests.security.conftest import raw_engine

INSERT = ("insert into outbox (message_id, topic, payload, channel, terminal_id)"
          " values (gen_random_uuid(), :topic, cast(:payload as jsonb), 'broker', :t)")


def _refused(engine: Engine, topic: str, payload: dict[str, Any], terminal_id: int) -> str:
    with pytest.raises(DBAPIError) as e, engine.begin() as c:
        c.execute(text(INSERT), {"topic": topic, "payload": json.dumps(payload),
                                 "t": terminal_id})
    return str(e.value.orig)


@pytest.fixture(scope="module")
def sold(ctx, counter):
    order, _ = sell(ctx, counter, seats=1)
    with ctx.engine.connect() as c:
        row = c.execute(text("select total_minor, currency from orders where id = :o"),
                        {"o": order.order_id}).one()
    return {"order_id": str(order.order_id), "total_minor": row.total_minor,
            "currency": row.currency}


def test_a_kiosk_cannot_announce_a_sale_it_did_not_make(ctx, terminals, sold):
    kiosk = terminals["kiosk"]
    engine = raw_engine(kiosk)
    # Another terminal's real order, announced as the kiosk's; an invented one; a wrong
    # amount; and kinds a kiosk never writes.
    for topic, payload in (
            ("sale.completed", sold),
            ("sale.completed", {**sold, "order_id": str(uuid.uuid4())}),
            ("sale.completed", {**sold, "total_minor": 1}),
            ("sale.reversed", {"sale_id": str(uuid.uuid4())}),
            ("refund.completed", {"refund_id": str(uuid.uuid4()), **sold}),
            ("price.changed", {"tier_id": 1, "old_minor": 100, "new_minor": 1}),
            ("event.canceled", {"event_id": 1}),
            ("sale.completed", {"order_id": "not-a-uuid", "total_minor": "x"})):
        assert "status_change_refused" in _refused(engine, topic, payload,
                                                   kiosk.terminal_id), topic


def test_a_counter_announces_only_its_own_sales_and_refunds(ctx, terminals, sold):
    other = terminals["cashier"]  # not counter-1, which sold the order
    engine = raw_engine(other)
    assert "status_change_refused" in _refused(engine, "sale.completed", sold,
                                               other.terminal_id)
    assert "status_change_refused" in _refused(
        engine, "refund.completed", {"refund_id": str(uuid.uuid4()), **sold,
                                     "amount_minor": sold["total_minor"]},
        other.terminal_id)


def test_a_gate_announces_only_check_ins_of_real_tickets(ctx, terminals, sold):
    gate = terminals["gate"]
    engine = raw_engine(gate)
    assert "status_change_refused" in _refused(engine, "sale.completed", sold,
                                               gate.terminal_id)
    assert "status_change_refused" in _refused(
        engine, "ticket.checked_in", {"serial": 999999999, "event_id": 1, "gate": "G"},
        gate.terminal_id)
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from outbox where terminal_id = any(:t)"),
                      {"t": [t.terminal_id for t in terminals.values()]}).scalar_one()
    assert n == 0
