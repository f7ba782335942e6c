"""Store-and-forward card sales reconciled (issue 11, migration 0019). An offline card sale
is replayed as an order paid by 'saf:<order>' and charged when its counter reconnects;
the counter's own login records the outcome. Until now no check was owed: a login could
claim a capture the gateway never made, or record a decline and keep the tickets valid.
Now each such sale owes a check from its replay; the worker looks up the intent its
outcome named (captured, the amount and currency, charged as this order's stored card,
paying no other order) and a declined forward is settled like an invented authorization:
order marked, tickets voided and revoked, the monitor alerts. The outcome is recorded
once.

Everything runs on provisioned logins (a counter, the worker, a gate, a monitor) and one
sandbox gateway."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate
from core.leases import LeasedSale, confirm_leased_sale, set_card_outcome, take_lease
from core.monitor import snapshot
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from core.sales.reconcile import reconcile_payments
from core.tickets import GateChecker
from sync.cards import GatewayCardProcessor, charge_key
from sync.tickets import local_signer, sign_offline_tickets
from tests.core.helpers import event_id, seats_of
from tests.payments.conftest import FAST_GATEWAY
from tests.security.conftest import actor_for, raw_engine, terminal_context, terminal_settings

EVENT = "COMEDIA-HOJE"  # tonight: inside the gate's window
SECTION = "ORQ"  # one price for every seat


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=19) as sb:
        yield sb


@pytest.fixture(scope="module")
def floor(provision: Any, sandbox: SandboxServer, tmp_path_factory: Any
          ) -> Iterator[dict[str, Any]]:
    gw = {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}
    made: dict[str, Any] = {}
    for kind in ("cashier", "worker", "gate", "monitor"):
        t = provision(kind, f"saf-{kind}")
        tmp = tmp_path_factory.mktemp(f"saf-{kind}")
        c = terminal_context(t, tmp, terminal_settings(
            t, tmp, **{f"gateway__{k}": v for k, v in gw.items()}))
        c.gateway = build_gateway(c.settings)
        made[kind] = (t, c)
    made["cashier"][1].signer()  # the counter's ticket key, enrolled while online
    yield made
    for _, c in made.values():
        c.gateway.close()
        c.engine.dispose()


@pytest.fixture(scope="module")
def lease(floor: dict[str, Any]) -> Any:
    """Twenty seats of one price leased to the counter, with a supervisor's approval."""
    t, c = floor["cashier"]
    ev = event_id(c.engine, EVENT)
    carla = authenticate(c.engine, "carla", "9999")
    info = take_lease(c, actor_for(t), uuid.uuid4(), ev,
                      seat_ids=seats_of(c.engine, ev, SECTION)[:20], approver=carla)
    return {"info": info, "next": 0}


def _offline_sale(floor: dict[str, Any], lease: dict[str, Any]) -> tuple[LeasedSale, int]:
    """One seat sold offline by card (a stored card), replayed now that the counter is
    back: the order exists, its card is not charged yet."""
    t, c = floor["cashier"]
    info = lease["info"]
    i = lease["next"]
    lease["next"] += 1
    seat = info.seats[i]
    order_id = uuid.uuid4()
    tickets = sign_offline_tickets(local_signer(c.settings), [info.serials[i]], order_id,
                                   info.event_id, [seat], None, 0)
    sale = LeasedSale(order_id=order_id, lease_id=info.lease_id, event_id=info.event_id,
                      total_minor=int(seat.unit_price_minor), currency=info.currency,
                      payment_method="card_saf", card_ref="pm_card_visa",
                      seat_ids=(seat.seat_id,), tickets=tuple(tickets))
    confirm_leased_sale(c, actor_for(t), uuid.uuid4(), sale)
    return sale, int(info.serials[i])


def _forward(floor: dict[str, Any], sale: LeasedSale, card: str = "pm_card_visa",
             *, gateway_ref: str | None = None) -> Any:
    """What the counter does on reconnect (sync.terminal._charge_stored, then the outcome's
    replay): charge the stored card, record the outcome. ``gateway_ref``: the reference a
    thief records instead of the charge's."""
    t, c = floor["cashier"]
    out = GatewayCardProcessor(c.gateway).charge_stored(
        charge_key(sale.order_id), sale.total_minor, sale.currency, card)
    set_card_outcome(c, actor_for(t), uuid.uuid4(), sale.order_id, captured=out.approved,
                     gateway_ref=gateway_ref or out.gateway_ref, reason=out.reason)
    return out


def _check(floor: dict[str, Any], order_id: Any) -> Any:
    with floor["monitor"][1].engine.connect() as conn:
        return conn.execute(text(
            "select c.result, c.reason, c.rules, o.status from payment_checks c"
            " join orders o on o.id = c.order_id where c.order_id = :o"),
            {"o": order_id}).one()


def _ticket(floor: dict[str, Any], serial: int) -> tuple[str, int]:
    with floor["monitor"][1].engine.connect() as conn:
        status = conn.execute(text("select status from tickets where serial = :s"),
                              {"s": serial}).scalar_one()
        revoked = conn.execute(text("select count(*) from revocations where serial = :s"),
                               {"s": serial}).scalar_one()
    return status, int(revoked)


def _token(floor: dict[str, Any], serial: int) -> str:
    with floor["monitor"][1].engine.connect() as conn:
        return str(conn.execute(text("select token from tickets where serial = :s"),
                                {"s": serial}).scalar_one())


def _pass(floor: dict[str, Any]) -> Any:
    return reconcile_payments(floor["worker"][1])


def _scan(floor: dict[str, Any], serial: int) -> Any:
    t, g = floor["gate"]
    return GateChecker(g, actor_for(t), "porta-saf").scan(_token(floor, serial), uuid.uuid4())


def _refused(t: Any, sql: str, **params: object) -> str:
    """The statement on the terminal's own login is refused for want of authority (42501:
    no grant, or a guard); the message."""
    eng = raw_engine(t)
    try:
        with pytest.raises(DBAPIError) as e, eng.begin() as conn:
            conn.execute(text(sql), params)
        assert getattr(e.value.orig, "sqlstate", None) == "42501", e.value.orig
        return str(e.value.orig)
    finally:
        eng.dispose()


def test_a_store_and_forward_sale_owes_a_check_from_its_replay(floor, lease):
    sale, serial = _offline_sale(floor, lease)
    assert tuple(_check(floor, sale.order_id)) == ("pending", None, "saf", "paid")
    rep = _pass(floor)  # nothing to look up before the counter forwards it
    assert str(sale.order_id) not in rep.unverified_orders
    assert _check(floor, sale.order_id).result == "pending"
    # The house took the risk of the offline sale: its ticket is not held at the door.
    assert _scan(floor, serial).accepted


def test_a_real_forwarded_charge_reconciles_and_keeps_its_ticket(floor, lease):
    sale, serial = _offline_sale(floor, lease)
    out = _forward(floor, sale)
    assert out.approved
    _pass(floor)
    assert tuple(_check(floor, sale.order_id)) == ("ok", "captured", "saf", "paid")
    assert _ticket(floor, serial) == ("valid", 0)
    assert _scan(floor, serial).accepted


def test_a_declined_forward_voids_and_revokes_its_tickets_and_the_monitor_alerts(floor,
                                                                                   lease):
    sale, serial = _offline_sale(floor, lease)
    out = _forward(floor, sale, "pm_card_chargeDeclined")
    assert not out.approved
    rep = _pass(floor)
    assert str(sale.order_id) in rep.unverified_orders
    assert tuple(_check(floor, sale.order_id)) == ("unverified", "saf_declined", "saf",
                                                   "payment_unverified")
    assert _ticket(floor, serial) == ("void", 1)
    scan = _scan(floor, serial)
    assert not scan.accepted and scan.reason == "revoked"
    alerts = [a for a in snapshot(floor["monitor"][1].engine).alerts
              if a.code == "payment_unverified"]
    assert any(a.data["reason"] == "saf_declined" and a.terminal == "saf-cashier"
               for a in alerts)
    with floor["monitor"][1].engine.connect() as conn:
        announced = conn.execute(text("select count(*) from outbox where topic ="
                                      " 'sale.reversed' and payload->>'order_id' = :o"),
                                 {"o": str(sale.order_id)}).scalar_one()
    assert announced == 1


def test_a_decline_recorded_without_revoking_still_loses_its_tickets(floor, lease):
    """A login that records the decline by hand and keeps the tickets valid."""
    sale, serial = _offline_sale(floor, lease)
    eng = raw_engine(floor["cashier"][0])
    with eng.begin() as conn:
        conn.execute(text("update lease_sales set card_status = 'declined',"
                          " flag = 'card_declined_at_capture' where order_id = :o"),
                     {"o": sale.order_id})
    eng.dispose()
    assert _ticket(floor, serial) == ("valid", 0)
    _pass(floor)
    assert _check(floor, sale.order_id).reason == "saf_declined"
    assert _ticket(floor, serial) == ("void", 1)


def test_an_invented_capture_is_caught(floor, lease):
    sale, serial = _offline_sale(floor, lease)
    t, c = floor["cashier"]
    set_card_outcome(c, actor_for(t), uuid.uuid4(), sale.order_id, captured=True,
                     gateway_ref=f"pi_invented{uuid.uuid4().hex[:12]}")
    _pass(floor)
    assert tuple(_check(floor, sale.order_id)) == ("unverified", "intent_missing", "saf",
                                                   "payment_unverified")
    assert _ticket(floor, serial) == ("void", 1)
    assert _scan(floor, serial).reason == "revoked"


def test_a_real_charge_of_another_sale_does_not_pay_for_this_one(floor, lease):
    """The same price, a genuine captured stored-card charge, but another order's: its
    charge key names that order."""
    paid, _ = _offline_sale(floor, lease)
    out = _forward(floor, paid)
    thief, serial = _offline_sale(floor, lease)
    t, c = floor["cashier"]
    set_card_outcome(c, actor_for(t), uuid.uuid4(), thief.order_id, captured=True,
                     gateway_ref=out.gateway_ref)
    _pass(floor)
    assert _check(floor, paid.order_id).result == "ok"
    assert tuple(_check(floor, thief.order_id))[:2] == ("unverified", "metadata_mismatch")
    assert _ticket(floor, serial)[0] == "void"


def test_an_online_sales_intent_does_not_pay_for_a_stored_card(floor, lease, sandbox):
    sale, _ = _offline_sale(floor, lease)
    c = floor["cashier"][1]
    online = c.gateway.authorize(sale.total_minor, "BRL", "pm_card_visa",
                                 idempotency_key=f"online-{sale.order_id}",
                                 metadata={"hold_id": str(uuid.uuid4())})
    c.gateway.capture(online.id, idempotency_key=f"online-cap-{sale.order_id}")
    t = floor["cashier"][0]
    set_card_outcome(c, actor_for(t), uuid.uuid4(), sale.order_id, captured=True,
                     gateway_ref=online.id)
    _pass(floor)
    assert tuple(_check(floor, sale.order_id))[:2] == ("unverified", "metadata_mismatch")


def test_the_outcome_is_recorded_once(floor, lease):
    """Once forwarded, the counter cannot point the sale at another intent (nor turn a
    decline into a capture): refunds and the check read that reference."""
    good, _ = _offline_sale(floor, lease)
    _forward(floor, good)
    bad, _ = _offline_sale(floor, lease)
    _forward(floor, bad, "pm_card_chargeDeclined")
    t = floor["cashier"][0]
    for sql in ("update lease_sales set card_ref = 'pi_elsewhere' where order_id = :o",
                "update lease_sales set card_status = 'pending' where order_id = :o"):
        _refused(t, sql, o=good.order_id)
    _refused(t, "update lease_sales set card_status = 'captured', card_ref = 'pi_x', flag = null"
             " where order_id = :o", o=bad.order_id)
    _pass(floor)
    assert _check(floor, good.order_id).result == "ok"
    assert _check(floor, bad.order_id).result == "unverified"


@pytest.mark.parametrize("kind", ["cashier", "gate", "monitor"])
def test_terminals_cannot_settle_a_stored_cards_check(floor, lease, kind):
    sale, _ = _offline_sale(floor, lease)
    t = floor[kind][0]
    for sql in ("update payment_checks set result = 'ok' where order_id = :o",
                "update payment_checks set intent_id = 'pi_x', rules = 'pre_0013'"
                " where order_id = :o",
                "delete from payment_checks where order_id = :o"):
        assert "permission denied" in _refused(t, sql, o=sale.order_id)
    assert _check(floor, sale.order_id).result == "pending"
