"""Cancelling a show: sales stop, live holds and leases end, every sold ticket is voided
and revoked, and every order is refunded through the refund saga: a card order through
the gateway, a cash order as a refund owed to the customer at the counter.

Exactly once per order, and resumable: each order's refund uses an idempotency key
derived from the order id, so running the cancel again (after a crash, a kill, a gateway
outage) finds what was done and finishes only the rest; a card refund the gateway did
not confirm stays ``pending`` and is sent again with the same gateway key (here on the
next run, or by the worker's ``retry_pending_refunds``). Orders whose card payment is
still settling are left for the next run and reported as deferred.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from core import audit
from core.actors import Actor, OperatorInfo
from core.app_context import CoreContext, SeatChange
from core.backoffice.common import event_row, finish, require, run
from core.errors import BoxOfficeError
from core.sales import tickets_bridge
from core.sales.inventory import return_lines_in
from core.sales.refunds import card_intent, refund, refund_in
from core.sales.shifts import add_cash, open_shift_id
from core.uow import unit_of_work

log = logging.getLogger(__name__)
REASON_CODE = "event_canceled"
_NAMESPACE = uuid.UUID("6f1c2a52-3a43-4d0e-9a57-0c5d1b1e7a11")

# --- SQL --------------------------------------------------------------------------------

_CANCEL = text("update events set status = 'canceled', canceled_at = now(),"
               " cancel_reason = :why where id = :e")
# Live holds end now: a sale confirming one of them afterwards finds it released and
# voids its card authorization (the saga's compensation), so no order appears after
# the list of orders below was read. Holds being confirmed right now are waited for.
_END_HOLDS = text("update holds set status = 'released', ended_at = now()"
                  " where event_id = :e and status = 'active' returning id")
_FREE_HELD = text("update event_seats set status = 'available', hold_id = null,"
                  " hold_expires_at = null, version = version + 1"
                  " where event_id = :e and status = 'held'")
_REVOKE_LEASES = text("update leases set status = 'revoked', ended_at = now()"
                      " where event_id = :e and status = 'active' returning id")
_FREE_LEASED = text("update event_seats set status = 'available', lease_id = null,"
                    " version = version + 1 where event_id = :e and status = 'leased'")
_GA_RESET = text("update ga_inventory set held = 0, leased = 0, version = version + 1"
                 " where event_id = :e and (held <> 0 or leased <> 0)")
_ORDERS = text("select id, number, status from orders where event_id = :e order by number")
_LOCK_ORDER = text("select * from orders where id = :id for update")
_REFUND_BY_KEY = text("select id, method, status, amount_minor, currency from refunds"
                      " where key = :k")
_SOLD_LINES = text("select count(*) from order_lines where order_id = :id and status = 'sold'")
_IS_COMP = text("select 1 from comps where order_id = :id")
_SALE = text("select id from sales where order_id = :id order by state = 'completed' desc"
             " limit 1")
_OPERATOR = text("select id, login, display_name, role from operators where id = :id")
_ORDER_DONE = text("update orders set status = 'refunded' where id = :id")
_OWED = text(
    """
    insert into refunds (id, key, order_id, sale_id, line_ids, method, status, amount_minor,
                         currency, reason_code, shift_id, approval_id, terminal_id, operator_id)
    values (:id, :key, :order_id, :sale_id, :line_ids, 'cash', :status, :amount, :currency,
            :reason, null, null, :terminal_id, :operator_id)
    """
)
_OWED_PAYMENT = text(
    """
    insert into payments (refund_id, order_id, shift_id, kind, method, status, amount_minor,
                          currency, idempotency_key)
    values (:refund_id, :order_id, null, 'refund', 'cash', :status, :amount, :currency, :key)
    """
)
_LOCK_REFUND = text("select * from refunds where id = :id for update")
_PAY_OUT = text("update refunds set status = 'succeeded', shift_id = :s, terminal_id = :t,"
                " operator_id = :op, updated_at = now() where id = :id")
_PAY_OUT_PAYMENT = text("update payments set status = 'succeeded', shift_id = :s"
                        " where refund_id = :id")
_OWED_LIST = text(
    """
    select r.id as refund_id, o.number as order_number, e.code as event, r.amount_minor,
           r.currency, o.customer_name, r.created_at
    from refunds r join orders o on o.id = r.order_id join events e on e.id = o.event_id
    where r.status = 'owed' and (cast(:e as integer) is null or o.event_id = :e)
      and (cast(:n as bigint) is null or o.number = :n)
    order by o.number
    """
)


def refund_key(order_id: uuid.UUID) -> uuid.UUID:
    """The idempotency key of the cancellation refund of one order."""
    return uuid.uuid5(_NAMESPACE, f"cancel-refund:{order_id}")


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order_id: str
    number: int
    method: str  # card | cash | comp | -
    amount_minor: int
    status: str  # refunded | pending (card, gateway not confirmed yet) | owed (cash)
    #              | already_refunded | deferred (card payment still settling)
    refund_id: str | None = None
    tickets_voided: int = 0
    error: str | None = None  # why a pending/deferred order is not done (an error code)


@dataclass(slots=True)
class CancelSummary:
    event_id: int
    code: str
    currency: str
    orders: list[OrderOutcome] = field(default_factory=list)

    def count(self, status: str, method: str | None = None) -> int:
        return sum(1 for o in self.orders if o.status == status
                   and (method is None or o.method == method))

    def amount(self, status: str, method: str | None = None) -> int:
        return sum(o.amount_minor for o in self.orders if o.status == status
                   and (method is None or o.method == method))

    @property
    def complete(self) -> bool:
        """Nothing left to do: no card refund pending, no order deferred."""
        return not any(o.status in ("pending", "deferred") for o in self.orders)

    def totals(self) -> dict[str, Any]:
        return {
            "orders": len(self.orders),
            "card_refunded": self.count("refunded", "card"),
            "card_refunded_minor": self.amount("refunded", "card"),
            "card_pending": self.count("pending", "card"),
            "card_pending_minor": self.amount("pending", "card"),
            "cash_owed": self.count("owed", "cash"),
            "cash_owed_minor": self.amount("owed", "cash"),
            "comps_voided": self.count("refunded", "comp"),
            "already_refunded": self.count("already_refunded"),
            "deferred": self.count("deferred"),
            "tickets_voided": sum(o.tickets_voided for o in self.orders),
            "complete": self.complete,
        }

    def to_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "code": self.code, "currency": self.currency,
                "totals": self.totals(), "orders": [asdict(o) for o in self.orders]}


Progress = Callable[[int, int, OrderOutcome], None]


def cancel_event(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int, *,
                 reason: str, progress: Progress | None = None) -> CancelSummary:
    """Cancel the event and refund every order; run it again to resume."""
    require(actor)
    if actor.operator_id is None:
        raise BoxOfficeError("not_authorized", role="supervisor")
    if not reason.strip() or len(reason) > 200:
        raise BoxOfficeError("invalid_input", detail="say why the show is canceled")
    tickets_bridge.prepare(ctx)
    eid = _mark_canceled(ctx, actor, key, event, reason.strip())
    with ctx.engine.connect() as conn:
        ev = event_row(conn, eid)
        orders = conn.execute(_ORDERS, {"e": eid}).all()
        sup = conn.execute(_OPERATOR, {"id": actor.operator_id}).first()
    if sup is None:
        raise BoxOfficeError("unknown_operator", operator=actor.operator_id)
    supervisor = OperatorInfo(sup.id, sup.login, sup.display_name, sup.role)
    # The refunds are the cancellation's, not a cashier's request: they carry no
    # requesting operator, and the canceling supervisor is recorded as approving them.
    on_behalf = Actor(actor.terminal_id, actor.terminal_name, None, None, "system")
    summary = CancelSummary(eid, ev["code"], ev["currency"])
    for i, o in enumerate(orders, 1):
        try:
            outcome = _refund_order(ctx, on_behalf, supervisor, o.id, o.number)
        except BoxOfficeError as exc:
            # One order's trouble (a busy row, a refund the gateway refuses) must not stop
            # the others: it is reported and the next run tries it again.
            log.warning("cancel %s: order %s not refunded yet: %s", eid, o.number, exc.code)
            outcome = _not_done(ctx.engine, o.id, o.number, exc.code)
        summary.orders.append(outcome)
        if progress is not None:
            progress(i, len(orders), outcome)
    ctx.publish(SeatChange(eid, "released"))
    return summary


def _not_done(engine: Engine, order_id: uuid.UUID, number: int, code: str) -> OrderOutcome:
    with engine.connect() as conn:
        r = conn.execute(_REFUND_BY_KEY, {"k": refund_key(order_id)}).first()
    if r is None:
        return OrderOutcome(str(order_id), number, "-", 0, "deferred", error=code)
    return OrderOutcome(str(order_id), number, r.method, int(r.amount_minor),
                        "pending" if r.status == "pending" else "owed"
                        if r.status == "owed" else "refunded", str(r.id), error=code)


def _mark_canceled(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
                   reason: str) -> int:
    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event, lock=True)
        if ev["status"] == "canceled":  # a resumed run: the refunds go on below
            return finish(conn, actor, k, "event_cancel_resume", "event", ev["id"],
                          {"reason": reason}, {"event_id": ev["id"]})
        conn.execute(_CANCEL, {"why": reason, "e": ev["id"]})
        holds = [str(r[0]) for r in conn.execute(_END_HOLDS, {"e": ev["id"]})]
        conn.execute(_FREE_HELD, {"e": ev["id"]})
        leases = [str(r[0]) for r in conn.execute(_REVOKE_LEASES, {"e": ev["id"]})]
        conn.execute(_FREE_LEASED, {"e": ev["id"]})
        conn.execute(_GA_RESET, {"e": ev["id"]})
        from core.outbox import events as outbox_events

        outbox_events.event_changed(conn, actor, "event.canceled", event_id=ev["id"],
                                    code=ev["code"], reason=reason)
        return finish(conn, actor, k, "event_cancel", "event", ev["id"],
                      {"code": ev["code"], "reason": reason, "holds_ended": holds,
                       "leases_revoked": leases}, {"event_id": ev["id"]})

    return int(run(ctx, actor, key, "event_cancel", {"event": str(event), "reason": reason},
                   body)["event_id"])


def _refund_order(ctx: CoreContext, actor: Actor, supervisor: OperatorInfo,
                  order_id: uuid.UUID, number: int) -> OrderOutcome:
    k = refund_key(order_id)
    with unit_of_work(ctx.engine) as conn:
        order = conn.execute(_LOCK_ORDER, {"id": order_id}).mappings().one()
        done = conn.execute(_REFUND_BY_KEY, {"k": k}).first()
        if done is None:
            if conn.execute(_SOLD_LINES, {"id": order_id}).scalar_one() == 0:
                return OrderOutcome(str(order_id), number, "-", 0, "already_refunded")
            comp = conn.execute(_IS_COMP, {"id": order_id}).first() is not None
            try:
                intent = None if comp else card_intent(conn, order)
            except BoxOfficeError as exc:
                if exc.code != "sale_in_progress":
                    raise
                conn.rollback()
                return OrderOutcome(str(order_id), number, "card", int(order["total_minor"]),
                                    "deferred")
            if intent is not None:
                res = refund_in(conn, ctx, actor, k, order_id, reason_code=REASON_CODE,
                                line_ids=None, supervisor=supervisor)
                voided, method = res.tickets_voided, "card"
            else:
                voided = _owe_cash(conn, ctx, actor, k, order)
                method = "comp" if comp else "cash"
        else:
            voided = 0
            method = done.method if int(done.amount_minor) or done.method == "card" else "comp"
    # Outside the transaction: the gateway call (card), with the gateway key derived from
    # the refund id, so a repeat after any crash is one refund in the gateway's ledger.
    row = _settle(ctx, actor, k, order_id)
    status = {"succeeded": "refunded", "pending": "pending", "owed": "owed"}[row.status]
    if method == "comp":
        status = "refunded"
    return OrderOutcome(str(order_id), number, method, int(row.amount_minor), status,
                        str(row.id), voided)


def _settle(ctx: CoreContext, actor: Actor, k: uuid.UUID, order_id: uuid.UUID) -> Any:
    # The refund row was committed by the caller's transaction: it is there.
    with ctx.engine.connect() as conn:
        row = conn.execute(_REFUND_BY_KEY, {"k": k}).one()
    if row.method == "card" and row.status == "pending":
        refund(ctx, actor, k, order_id, reason_code=REASON_CODE)
        with ctx.engine.connect() as conn:
            row = conn.execute(_REFUND_BY_KEY, {"k": k}).one()
    return row


def _owe_cash(conn: Connection, ctx: CoreContext, actor: Actor, k: uuid.UUID,
              order: Any) -> int:
    """A cash (or comp) order of a canceled show: tickets voided and revoked now, the
    money owed to the customer until a cashier pays it out (``pay_owed_refund``)."""
    back = return_lines_in(conn, ctx, order["id"], None)
    conn.execute(_ORDER_DONE, {"id": order["id"]})
    voided = tickets_bridge.void(conn, actor, order["id"], list(back.line_ids),
                                 f"refund: {REASON_CODE}")
    rid = uuid.uuid4()
    status = "owed" if back.amount_minor > 0 else "succeeded"
    sale = conn.execute(_SALE, {"id": order["id"]}).first()
    conn.execute(_OWED, {"id": rid, "key": k, "order_id": order["id"],
                         "sale_id": sale.id if sale else None, "line_ids": list(back.line_ids),
                         "status": status, "amount": back.amount_minor,
                         "currency": order["currency"], "reason": REASON_CODE,
                         "terminal_id": actor.terminal_id, "operator_id": actor.operator_id})
    conn.execute(_OWED_PAYMENT, {"refund_id": rid, "order_id": order["id"], "status": status,
                                 "amount": back.amount_minor, "currency": order["currency"],
                                 "key": f"bo-refund-{rid}"})
    audit.append(conn, actor, "refund_owed", "order", order["id"],
                 {"refund_id": str(rid), "amount_minor": back.amount_minor,
                  "reason": REASON_CODE, "tickets_voided": voided})
    return voided


def cancel_summary(engine: Engine, event: str | int) -> CancelSummary:
    """What the cancellation did so far, from the database (for accounting, or to see
    what a resumed run still has to do), without acting."""
    with engine.connect() as conn:
        ev = event_row(conn, event)
        summary = CancelSummary(ev["id"], ev["code"], ev["currency"])
        for o in conn.execute(_ORDERS, {"e": ev["id"]}).all():
            r = conn.execute(_REFUND_BY_KEY, {"k": refund_key(o.id)}).first()
            if r is None:
                sold = conn.execute(_SOLD_LINES, {"id": o.id}).scalar_one()
                summary.orders.append(OrderOutcome(str(o.id), o.number, "-", 0,
                                                   "deferred" if sold else "already_refunded"))
                continue
            comp = r.method == "cash" and int(r.amount_minor) == 0
            status = {"succeeded": "refunded", "pending": "pending", "owed": "owed"}[r.status]
            summary.orders.append(OrderOutcome(str(o.id), o.number,
                                               "comp" if comp else r.method,
                                               int(r.amount_minor), status, str(r.id)))
    return summary


@dataclass(frozen=True, slots=True)
class OwedRefund:
    refund_id: uuid.UUID
    order_number: int
    event: str
    amount_minor: int
    currency: str
    customer_name: str | None
    created_at: Any


def owed_refunds(engine: Engine, *, event: str | int | None = None,
                 order_number: int | None = None) -> list[OwedRefund]:
    with engine.connect() as conn:
        eid = event_row(conn, event)["id"] if event is not None else None
        return [OwedRefund(*r) for r in conn.execute(_OWED_LIST, {"e": eid,
                                                                  "n": order_number})]


def pay_owed_refund(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                    refund_id: uuid.UUID | str) -> dict[str, Any]:
    """A cashier pays an owed refund out of this terminal's open drawer."""
    try:
        rid = uuid.UUID(str(refund_id))
    except ValueError:
        raise BoxOfficeError("unknown_refund", refund_id=refund_id) from None

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        r = conn.execute(_LOCK_REFUND, {"id": rid}).mappings().first()
        if r is None:
            raise BoxOfficeError("unknown_refund", refund_id=str(rid))
        if r["status"] != "owed":
            raise BoxOfficeError("refund_not_owed", refund_id=str(rid), status=r["status"])
        shift = open_shift_id(conn, actor.terminal_id)
        if shift is None:
            raise BoxOfficeError("no_open_shift")
        conn.execute(_PAY_OUT, {"s": shift, "t": actor.terminal_id, "op": actor.operator_id,
                                "id": rid})
        conn.execute(_PAY_OUT_PAYMENT, {"s": shift, "id": rid})
        add_cash(conn, shift, "refund", -int(r["amount_minor"]), refund_id=rid)
        result = {"refund_id": str(rid), "amount_minor": int(r["amount_minor"]),
                  "currency": r["currency"], "shift_id": str(shift)}
        return finish(conn, actor, k, "refund_paid_out", "refund", rid, result, result)

    return run(ctx, actor, key, "refund_pay_out", {"refund": str(rid)}, body)
