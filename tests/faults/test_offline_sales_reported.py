"""Issue 13 item 18: sales made offline from a lease and replayed count in the shift's
X report and in the monitor's revenue by tender like any other, and their order is dated
when it was sold, not when it was replayed.

Each counter acts on its own cashier login (ana signed in, her drawer open; the lease
granted with carla's PIN typed there); the owner's ``pctx`` reads orders and revenue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.actors import authenticate
from core.leases import LeasedSale, confirm_leased_sale, take_lease
from core.monitor import revenue_by_tender
from core.reservation import hold_best_available
from core.sales import CashTender, checkout, open_shift, x_report
from tests.core.helpers import event_id, seats_of
from tests.payments.conftest import operator_id


def _counter(pctx, logins, name: str):
    """Counter ``name``'s own context (its login, the sandbox gateway) and actor."""
    own = logins.new_context(name, "cashier", pctx.settings, pool_size=2,
                             gateway=pctx.gateway)
    return own, logins.actor(name, "cashier", operator_id(pctx, "ana"), "cashier")


def _lease(own, actor, ev: int, seats: list[int]):
    """A lease of ``seats``, granted by a supervisor signed in at this counter."""
    return take_lease(own, actor, uuid.uuid4(), ev, seat_ids=seats,
                      approver=authenticate(own.engine, "carla", "9999"))


def _revenue(ctx) -> dict[str, int]:
    with ctx.engine.connect() as c:
        return revenue_by_tender(c)


def test_offline_sales_count_in_the_x_report_and_the_monitor(pctx, terminal_logins):
    own, actor = _counter(pctx, terminal_logins, "offline-reports")
    shift = open_shift(own, actor, uuid.uuid4(), 10_000)
    before = _revenue(pctx)
    ev = event_id(pctx.engine, "SINATRA")
    # Online: one cash sale through the saga.
    h = hold_best_available(own, actor, uuid.uuid4(), ev, 1)
    online = checkout(own, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    # Then the outage: the terminal sells from its lease, two cash, one stored card...
    seats = seats_of(pctx.engine, ev, "BAL")[-6:]
    lease = _lease(own, actor, ev, seats)
    sold_at = datetime.now(UTC) - timedelta(minutes=20)
    offline = []
    for n, method in enumerate(("cash", "cash", "card_saf")):
        seat = lease.seats[n]
        offline.append(LeasedSale(
            order_id=uuid.uuid4(), lease_id=lease.lease_id, event_id=ev,
            total_minor=int(seat.unit_price_minor), currency=lease.currency,
            payment_method=method, seat_ids=(seat.seat_id,),  # type: ignore[arg-type]
            card_ref="pm_card_visa" if method == "card_saf" else None,
            operator_id=actor.operator_id, shift_id=shift.shift_id,
            sold_at=(sold_at + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S%z")))
    # ...and replays them when the link is back.
    for sale in offline:
        confirm_leased_sale(own, actor, uuid.uuid4(), sale)

    rep = x_report(own, shift.shift_id)
    cash_offline = sum(s.total_minor for s in offline if s.payment_method == "cash")
    card_offline = sum(s.total_minor for s in offline if s.payment_method == "card_saf")
    assert rep.by_tender["cash"].sales_count == 3
    assert rep.by_tender["cash"].sales_minor == online.amount_minor + cash_offline
    assert rep.by_tender["card"].sales_count == 1
    assert rep.by_tender["card"].sales_minor == card_offline
    # The drawer expects the offline cash too (it always did: the movements are written).
    assert rep.expected_cash_minor == 10_000 + online.amount_minor + cash_offline

    after = _revenue(pctx)
    assert after.get("cash", 0) - before.get("cash", 0) == online.amount_minor + cash_offline
    assert after.get("card", 0) - before.get("card", 0) == card_offline

    with pctx.engine.connect() as c:
        when = {r.id: r.created_at for r in c.execute(
            text("select id, created_at from orders where id = any(:ids)"),
            {"ids": [s.order_id for s in offline]})}
    for n, sale in enumerate(offline):
        expected = (sold_at + timedelta(minutes=n)).replace(microsecond=0)
        assert abs(when[sale.order_id] - expected) < timedelta(seconds=1), (when, expected)


def test_an_unreadable_or_future_sale_time_is_the_replay_time(pctx, terminal_logins):
    own, actor = _counter(pctx, terminal_logins, "offline-clock")
    open_shift(own, actor, uuid.uuid4(), 0)
    ev = event_id(pctx.engine, "SINATRA")
    seats = seats_of(pctx.engine, ev, "BAL")[-12:-8]
    lease = _lease(own, actor, ev, seats)
    stamps = ["yesterday-ish", (datetime.now(UTC) + timedelta(days=3)).isoformat()]
    ids = []
    for n, stamp in enumerate(stamps):
        seat = lease.seats[n]
        sale = LeasedSale(order_id=uuid.uuid4(), lease_id=lease.lease_id, event_id=ev,
                          total_minor=int(seat.unit_price_minor), currency=lease.currency,
                          payment_method="cash", seat_ids=(seat.seat_id,), sold_at=stamp)
        confirm_leased_sale(own, actor, uuid.uuid4(), sale)
        ids.append(sale.order_id)
    with pctx.engine.connect() as c:
        late = c.execute(text("select bool_and(created_at <= now()"
                              " and created_at > now() - interval '1 minute')"
                              " from orders where id = any(:ids)"), {"ids": ids}).scalar_one()
    assert late


def test_a_stored_card_gets_its_brand_and_last4_from_the_gateway_on_capture(pctx, tmp_path,
                                                                           terminal_logins):
    from sync.cards import GatewayCardProcessor, charge_key
    from sync.journal import Journal
    from sync.replay import replay

    own, actor = _counter(pctx, terminal_logins, "offline-card")
    shift = open_shift(own, actor, uuid.uuid4(), 0)
    ev = event_id(pctx.engine, "SINATRA")
    lease = _lease(own, actor, ev, seats_of(pctx.engine, ev, "BAL")[-16:-14])
    seat = lease.seats[0]
    sale = LeasedSale(order_id=uuid.uuid4(), lease_id=lease.lease_id, event_id=ev,
                      total_minor=int(seat.unit_price_minor), currency=lease.currency,
                      payment_method="card_saf", seat_ids=(seat.seat_id,),
                      card_ref="pm_card_mastercard", operator_id=actor.operator_id,
                      shift_id=shift.shift_id)
    confirm_leased_sale(own, actor, uuid.uuid4(), sale)
    # Back online: the terminal charges the stored card through the real (sandbox)
    # gateway and journals the outcome, which the replay records centrally.
    out = GatewayCardProcessor(own.payment_gateway()).charge_stored(
        charge_key(sale.order_id), sale.total_minor, sale.currency, "pm_card_mastercard")
    assert out.approved and (out.brand, out.last4) == ("mastercard", "4444")
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.append("saf_card_outcome", {"order_id": str(sale.order_id), "captured": True,
                                        "gateway_ref": out.gateway_ref, "reason": None,
                                        "brand": out.brand, "last4": out.last4})
    assert replay(own, actor, journal).applied == 1
    with pctx.engine.connect() as c:
        row = c.execute(text("select status, brand, last4 from payments where order_id = :o"
                             " and kind = 'charge'"), {"o": sale.order_id}).one()
    assert tuple(row) == ("captured", "mastercard", "4444")
