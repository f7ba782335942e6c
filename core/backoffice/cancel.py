"""Cancelling a show: sales stop, live holds and leases end, every sold ticket is voided
and revoked, and every order is refunded through the refund saga: a card order through
the gateway, a cash order as a refund owed to the customer at the counter.

Exactly once per order, and resumable: each order's refund uses an idempotency key
derived from the order id, so running the cancel again (after a crash, a kill, a gateway
outage) finds what was done and finishes only the rest; a card refund the gateway did
not confirm stays ``pending`` and is sent again with the same gateway key (here on the
next run, or by the worker's ``retry_pending_refunds``). Orders whose card payment is
still settling are left for the next run and reported as deferred.

It runs on the back office's admin login (migration 0017): stopping sales is within that
login's grants; each run is signed by the supervisor's PIN proof (``bo_cancel_sign``);
and each order's refund is ``bo_cancel_refund_order``, which checks in the database that
the caller is an admin login, the event is canceled and signed by that supervisor, the
order is the event's, and writes one refund per order of what its sold lines were sold
for. The
console sends card refunds to the gateway itself (it holds the gateway's credentials, as
it did) and records the gateway's answer with ``bo_cancel_refund_settled``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, OperatorInfo, refusal
from core.app_context import CoreContext, SeatChange
from core.backoffice.common import event_row, finish, require, run
from core.errors import BoxOfficeError
from core.outbox import events as outbox_events
from core.payments.gateway import GatewayFailure
from core.sales import tickets_bridge
from core.sales.refunds import card_intent
from core.sales.shifts import add_cash, open_shift_id
from core.uow import after_commit, unit_of_work

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
_REFUND_BY_KEY = text("select id, method, status, amount_minor, currency from refunds"
                      " where key = :k")
_SOLD_LINES = text("select count(*) from order_lines where order_id = :id and status = 'sold'")
_OPERATOR = text("select id, login, display_name, role from operators where id = :id")
# The database's side of one order's refund (migration 0017): its checks and writes.
_SIGN = text("select bo_cancel_sign(:e, :t, :op, :proof)")
_REFUND_ORDER = text("select * from bo_cancel_refund_order(:e, :o, :k, :t, :op)")
_SETTLED = text("select bo_cancel_refund_settled(:r, :ref, :t, :op)")
_ORDER = text("select * from orders where id = :id")
# Refusals of the 0017 functions: the message is the code, the detail its placeholders.
_REFUSALS = ("unknown_event", "event_not_canceled", "unknown_order", "idempotency_conflict",
             "order_payment_unverified")
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
                 reason: str, progress: Progress | None = None,
                 signed_in: OperatorInfo | None = None) -> CancelSummary:
    """Cancel the event and refund every order; run it again to resume.

    ``signed_in``: the acting supervisor as their PIN was just checked on this login
    (``core.actors.authenticate``); its one-use proof signs this run in the database,
    without which a terminal login's cancel refunds nothing (the owner's tools need none).
    """
    require(actor)
    if actor.operator_id is None:
        raise BoxOfficeError("not_authorized", role="supervisor")
    if signed_in is not None and signed_in.id != actor.operator_id:
        raise BoxOfficeError("not_authorized", role="supervisor")
    proof = signed_in.proof if signed_in is not None else None
    if not reason.strip() or len(reason) > 200:
        raise BoxOfficeError("invalid_input", detail="say why the show is canceled")
    tickets_bridge.prepare(ctx)
    eid = _mark_canceled(ctx, actor, key, event, reason.strip(), proof)
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
            outcome = _refund_order(ctx, on_behalf, supervisor, eid, o.id, o.number)
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
                   reason: str, proof: uuid.UUID | None) -> int:
    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event, lock=True)
        try:
            conn.execute(_SIGN, {"e": ev["id"], "t": actor.terminal_id,
                                 "op": actor.operator_id, "proof": proof})
        except DBAPIError as exc:
            raise _refusal(exc) from None
        if ev["status"] == "canceled":  # a resumed run: the refunds go on below
            return finish(conn, actor, k, "event_cancel_resume", "event", ev["id"],
                          {"reason": reason}, {"event_id": ev["id"]})
        conn.execute(_CANCEL, {"why": reason, "e": ev["id"]})
        holds = [str(r[0]) for r in conn.execute(_END_HOLDS, {"e": ev["id"]})]
        conn.execute(_FREE_HELD, {"e": ev["id"]})
        leases = [str(r[0]) for r in conn.execute(_REVOKE_LEASES, {"e": ev["id"]})]
        conn.execute(_FREE_LEASED, {"e": ev["id"]})
        conn.execute(_GA_RESET, {"e": ev["id"]})
        outbox_events.event_changed(conn, actor, "event.canceled", event_id=ev["id"],
                                    code=ev["code"], reason=reason)
        return finish(conn, actor, k, "event_cancel", "event", ev["id"],
                      {"code": ev["code"], "reason": reason, "holds_ended": holds,
                       "leases_revoked": leases}, {"event_id": ev["id"]})

    return int(run(ctx, actor, key, "event_cancel", {"event": str(event), "reason": reason},
                   body)["event_id"])


def _refusal(exc: DBAPIError) -> BoxOfficeError:
    diag = getattr(exc.orig, "diag", None)
    code = getattr(diag, "message_primary", None) or ""
    if code in _REFUSALS:
        detail = getattr(diag, "message_detail", None) or ""
        try:
            details = json.loads(detail) if detail.startswith("{") else {}
        except ValueError:
            details = {}
        return BoxOfficeError(code, **details)
    err = refusal(exc)
    if err is None:
        raise exc
    return err


def _refund_order(ctx: CoreContext, actor: Actor, supervisor: OperatorInfo, event_id: int,
                  order_id: uuid.UUID, number: int) -> OrderOutcome:
    k = refund_key(order_id)
    try:
        with unit_of_work(ctx.engine) as conn:
            r = conn.execute(_REFUND_ORDER, {"e": event_id, "o": order_id, "k": k,
                                             "t": actor.terminal_id,
                                             "op": supervisor.id}).one()
            if r.outcome == "already_refunded":
                return OrderOutcome(str(order_id), number, "-", 0, "already_refunded")
            if r.outcome == "deferred":
                return OrderOutcome(str(order_id), number, "card", int(r.amount_minor),
                                    "deferred")
            method = "comp" if r.comp else r.method
            voided = 0
            if r.outcome == "refunded":
                voided = _record(conn, ctx, actor, supervisor, event_id, order_id, r)
    except DBAPIError as exc:
        raise _refusal(exc) from None
    # Outside the transaction: the gateway call (card), with the gateway key derived from
    # the refund id, so a repeat after any crash is one refund in the gateway's ledger.
    row = _settle(ctx, actor, supervisor, k, order_id)
    status = {"succeeded": "refunded", "pending": "pending", "owed": "owed"}[row.status]
    if method == "comp":
        status = "refunded"
    return OrderOutcome(str(order_id), number, method, int(row.amount_minor), status,
                        str(row.id), voided)


def _record(conn: Connection, ctx: CoreContext, actor: Actor, supervisor: OperatorInfo,
            event_id: int, order_id: uuid.UUID, r: Any) -> int:
    """The audit rows (and, for a card, the customer's notice) of a refund the database
    just wrote, in its transaction, as the refund saga and the owed-cash path wrote them."""
    serials = list(r.serials or [])
    lines = list(r.line_ids or [])
    reason = f"refund: {REASON_CODE}"
    if r.method == "card":
        audit.append(conn, actor, "approval", "order", order_id,
                     {"approval_id": str(r.approval_id), "kind": "refund",
                      "requested_by": None, "approved_by": supervisor.id,
                      "approved_by_login": supervisor.login, "reason": REASON_CODE,
                      "amount_minor": int(r.amount_minor)})
    if serials:
        audit.append(conn, actor, "void_tickets", "order", order_id,
                     {"serials": serials, "reason": reason, "line_ids": lines})
    if r.method == "card":
        audit.append(conn, actor, "refund", "order", order_id,
                     {"refund_id": str(r.refund_id), "lines": lines,
                      "amount_minor": int(r.amount_minor), "method": "card",
                      "reason": REASON_CODE, "approval_id": r.approval_id,
                      "tickets_voided": len(serials)})
        outbox_events.refund_completed(conn, actor, refund_id=r.refund_id, order_id=order_id,
                                       line_ids=lines, amount_minor=int(r.amount_minor),
                                       currency=r.currency, method="card", status=r.status,
                                       reason=REASON_CODE, tickets_voided=len(serials))
    else:
        audit.append(conn, actor, "refund_owed", "order", order_id,
                     {"refund_id": str(r.refund_id), "amount_minor": int(r.amount_minor),
                      "reason": REASON_CODE, "tickets_voided": len(serials)})
    change = SeatChange(event_id, "released")
    after_commit(conn, lambda: ctx.publish(change))
    return len(serials)


def _settle(ctx: CoreContext, actor: Actor, supervisor: OperatorInfo, k: uuid.UUID,
            order_id: uuid.UUID) -> Any:
    # The refund row was committed by the caller's transaction: it is there.
    with ctx.engine.connect() as conn:
        row = conn.execute(_REFUND_BY_KEY, {"k": k}).one()
        if row.method != "card" or row.status != "pending":
            return row
        intent = card_intent(conn, conn.execute(_ORDER, {"id": order_id}).mappings().one())
    if intent is None:  # pragma: no cover - the database recorded it as a card refund
        raise BoxOfficeError("invalid_input", detail="card payment of the order not found")
    try:
        info = ctx.payment_gateway().refund(intent, int(row.amount_minor),
                                            idempotency_key=f"bo-refund-{row.id}")
    except GatewayFailure:
        return row  # stays pending: the next run, or the worker's sweep, asks again
    try:
        with unit_of_work(ctx.engine) as conn:
            if conn.execute(_SETTLED, {"r": row.id, "ref": info.id, "t": actor.terminal_id,
                                       "op": supervisor.id}).scalar_one():
                audit.append(conn, actor, "refund_settled", "refund", row.id,
                             {"gateway_ref": info.id, "amount_minor": int(row.amount_minor)})
    except DBAPIError as exc:
        raise _refusal(exc) from None
    with ctx.engine.connect() as conn:
        return conn.execute(_REFUND_BY_KEY, {"k": k}).one()


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
