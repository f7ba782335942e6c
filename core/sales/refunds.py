"""Refunds (whole orders or single lines) and exchanges.

The database side (lines refunded, places back on sale, tickets voided, cash out of the
drawer, approval, audit) commits in one transaction; a card refund is then asked of the
gateway with a key derived from the refund id, and a refund the gateway could not take
yet stays ``pending`` until the recovery sweeper gets it through.

Approval: a supervisor's PIN is needed above ``sales.refund_approval_over_minor`` and
always for an order sold in another shift (or outside any shift, e.g. at a kiosk).
The database checks the same rule when the refund row is written (migration 0013,
``bo_guard_refund``), with its own limit (``bo_settings``, the owner's or an admin's):
the lower of the two limits applies, so a terminal's settings can only ask for more.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, OperatorInfo, raise_refusal, system_actor
from core.context import CoreContext
from core.errors import BoxOfficeError, message_for
from core.idempotency import as_key, begin_command
from core.language import language
from core.outbox import events as outbox_events
from core.payments.gateway import GatewayFailure
from core.reservation.inputs import row_ids
from core.sales import tickets_bridge
from core.sales.approvals import REFUND_REASONS, SupervisorPin, check_reason, record_approval
from core.sales.approvals import verify_supervisor as _verify
from core.sales.inventory import return_lines_in
from core.sales.saga import CashTender, CheckoutResult, Tender, cash_sale_in, checkout
from core.sales.shifts import add_cash, open_shift_id
from core.uow import unit_of_work

_BY_KEY = text("select * from refunds where key = :key")
_LOCK_ORDER = text("select * from orders where id = :id for update")
_SALE_OF_ORDER = text(
    "select id, tender, state, intent_id from sales where order_id = :id"
    " order by state = 'completed' desc limit 1"
)
# Offline store-and-forward card sales (core.leases) keep their intent on lease_sales.
_SAF_CARD = text("select card_status, card_ref from lease_sales where order_id = :id")
_LINES = text(
    "select id, qty, unit_price_minor, status from order_lines where order_id = :id order by id"
)
_INSERT = text(
    """
    insert into refunds (id, key, order_id, sale_id, line_ids, method, status, amount_minor,
                         currency, reason_code, shift_id, approval_id, terminal_id, operator_id)
    values (:id, :key, :order_id, :sale_id, :line_ids, :method, :status, :amount, :currency,
            :reason, :shift_id, :approval_id, :terminal_id, :operator_id)
    """
)
_PAYMENT = text(
    """
    insert into payments (refund_id, order_id, shift_id, kind, method, status, amount_minor,
                          currency, idempotency_key)
    values (:refund_id, :order_id, :shift_id, 'refund', :method, :status, :amount, :currency,
            :key)
    """
)
_DONE = text(
    "update refunds set status = 'succeeded', gateway_ref = :ref, updated_at = now()"
    " where id = :id and status = 'pending' returning id"
)
# The database's own verdict (its limit, the terminal's open shift): what the refund
# row's trigger will check, asked before so the cashier is asked for a PIN up front.
_DB_REASON = text("select bo_refund_approval_reason(:o, :lines, :t)").bindparams(
    bindparam("lines", type_=ARRAY(BigInteger)))
_PENDING = text(
    "select id from refunds where status = 'pending'"
    " and updated_at <= now() - make_interval(secs => :age) order by updated_at limit 200"
)


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: uuid.UUID
    order_id: uuid.UUID
    line_ids: tuple[int, ...]
    amount_minor: int
    currency: str
    method: str
    status: str  # succeeded | pending (card refund waiting for the gateway)
    reason_code: str
    approval_id: uuid.UUID | None
    gateway_ref: str | None = None
    tickets_voided: int = 0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(refund_id=str(self.refund_id), order_id=str(self.order_id),
                 approval_id=str(self.approval_id) if self.approval_id else None)
        return d


@dataclass(frozen=True, slots=True)
class ExchangeResult:
    refund: RefundResult
    sale: CheckoutResult

    @property
    def difference_minor(self) -> int:
        """What the customer paid (positive) or got back (negative) on balance."""
        return self.sale.amount_minor - self.refund.amount_minor


def _gateway_key(refund_id: uuid.UUID) -> str:
    return f"bo-refund-{refund_id}"


def refund_needs_approval(ctx: CoreContext, actor: Actor, order_id: uuid.UUID | str,
                          line_ids: list[int] | None = None) -> str | None:
    """Why a refund of these lines would need a supervisor (None: it does not)."""
    order_id = as_key(order_id)
    if line_ids is not None:
        line_ids = row_ids(line_ids, "order line")
    with ctx.engine.connect() as conn:
        order = conn.execute(text("select * from orders where id = :id"),
                             {"id": order_id}).mappings().first()
        if order is None:
            raise BoxOfficeError("unknown_order", order_id=str(order_id))
        lines = _pick_lines(conn, order_id, line_ids)
        return _approval_reason(ctx, conn, actor, order, lines)


@dataclass(frozen=True, slots=True)
class OrderLineView:
    """One line of an order as the counter shows it to choose what to refund: a seat
    (``qty`` 1) or a number of general-admission places."""

    line_id: int
    section_code: str
    row_label: str | None
    seat_number: int | None
    qty: int
    unit_price_minor: int
    status: str  # sold | refunded | ...

    @property
    def label(self) -> str:
        if self.seat_number is not None:
            return f"{self.section_code} {self.row_label or ''}{self.seat_number}"
        return f"{self.section_code} x{self.qty}"


_LINE_VIEWS = text(
    """
    select ol.id, sec.code, s.row_label, s.number, ol.qty, ol.unit_price_minor, ol.status
    from order_lines ol
    join sections sec on sec.id = ol.section_id
    left join seats s on s.id = ol.seat_id
    where ol.order_id = :id order by ol.id
    """
)


def order_lines(ctx: CoreContext, order_id: uuid.UUID | str) -> list[OrderLineView]:
    """An order's lines, to refund some of them (``refund(..., line_ids=...)``)."""
    order_id = as_key(order_id)
    with ctx.engine.connect() as conn:
        rows = conn.execute(_LINE_VIEWS, {"id": order_id}).all()
    return [OrderLineView(int(r.id), r.code, r.row_label, r.number, int(r.qty),
                          int(r.unit_price_minor), r.status) for r in rows]


def _pick_lines(conn: Connection, order_id: uuid.UUID, line_ids: list[int] | None) -> list:
    rows = conn.execute(_LINES, {"id": order_id}).all()
    if line_ids is not None:
        wanted = set(line_ids)
        if not wanted <= {r.id for r in rows}:
            raise BoxOfficeError("invalid_input", detail="a line does not belong to the order")
        rows = [r for r in rows if r.id in wanted]
    rows = [r for r in rows if r.status == "sold"]
    if not rows:
        raise BoxOfficeError("nothing_to_refund")
    return rows


def card_intent(conn: Connection, order: Any) -> str | None:
    """The gateway intent that paid ``order`` (None: it was paid in cash). A card payment
    that is not settled yet cannot be refunded: ``sale_in_progress``."""
    sale = conn.execute(_SALE_OF_ORDER, {"id": order["id"]}).first()
    if sale is not None and sale.tender == "card":
        if sale.state != "completed":
            raise BoxOfficeError("sale_in_progress")
        return str(sale.intent_id)
    ref = order["payment_ref"] or ""
    if ref.startswith("pi_"):
        return ref
    if ref.startswith("saf:"):
        saf = conn.execute(_SAF_CARD, {"id": order["id"]}).first()
        if saf is None or saf.card_status != "captured" or not saf.card_ref:
            raise BoxOfficeError("sale_in_progress")
        return str(saf.card_ref)
    return None


@dataclass(frozen=True, slots=True)
class UsedTicket:
    """A ticket of the order already checked in at a gate: refunding it needs a
    supervisor (the customer may have watched the show, issue 13 item 13)."""

    serial: int
    used_at: datetime
    gate: str | None
    timezone: str

    def at(self) -> str:
        """When it was used, in the venue's time zone (``31/12 20:15``)."""
        return self.used_at.astimezone(ZoneInfo(self.timezone)).strftime("%d/%m %H:%M")


_USED = text(
    """
    select t.serial, t.used_at, t.used_gate, v.timezone
    from tickets t join events e on e.id = t.event_id join venues v on v.id = e.venue_id
    where t.order_id = :id and t.line_id = any(:lines) and t.status = 'used'
    order by t.used_at, t.serial
    """
)


def _used(conn: Connection, order_id: uuid.UUID, line_ids: list[int]) -> list[UsedTicket]:
    return [UsedTicket(int(r.serial), r.used_at, r.used_gate, r.timezone)
            for r in conn.execute(_USED, {"id": order_id, "lines": line_ids})]


def used_tickets(ctx: CoreContext, order_id: uuid.UUID | str,
                 line_ids: list[int] | None = None) -> list[UsedTicket]:
    """The tickets of these lines (default: the order's unrefunded ones) already used at
    a gate, first used first: the refund dialog says when and where."""
    order_id = as_key(order_id)
    if line_ids is not None:
        line_ids = row_ids(line_ids, "order line")
    with ctx.engine.connect() as conn:
        return _used(conn, order_id, [r.id for r in _pick_lines(conn, order_id, line_ids)])


def _approval_reason(ctx: CoreContext, conn: Connection, actor: Actor, order: Any,
                     lines: list) -> str | None:
    used = _used(conn, order["id"], [r.id for r in lines])
    if used:
        first = used[0]
        return message_for("refund_ticket_used", language(), serial=first.serial,
                           at=first.at(), gate=first.gate or "?", count=len(used))
    amount = sum(r.qty * int(r.unit_price_minor) for r in lines)
    shift = open_shift_id(conn, actor.terminal_id)
    if order["shift_id"] is None or order["shift_id"] != shift:
        return "another shift"
    if amount > ctx.settings.sales.refund_approval_over_minor:
        return "amount over limit"
    why: str | None = conn.execute(_DB_REASON, {"o": order["id"], "lines": [r.id for r in lines],
                                                "t": actor.terminal_id}).scalar_one()
    return why


def refund(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, order_id: uuid.UUID | str, *,
           reason_code: str, line_ids: list[int] | None = None,
           approver: SupervisorPin | None = None) -> RefundResult:
    """Refund the order (or ``line_ids``): tickets voided and places back on sale in the
    same transaction; card money back through the gateway, cash out of this terminal's
    open drawer."""
    key = as_key(key)
    order_id = as_key(order_id)
    check_reason(reason_code, REFUND_REASONS)
    if line_ids is not None:
        line_ids = row_ids(line_ids, "order line")
    with ctx.engine.connect() as conn:
        existing = conn.execute(_BY_KEY, {"key": key}).mappings().first()
    if existing is not None:
        if existing["order_id"] != order_id:
            raise BoxOfficeError("idempotency_conflict")
        return _finish_card(ctx, actor, _result(existing))
    supervisor = _verify(ctx.engine, actor, approver) if approver else None
    with unit_of_work(ctx.engine) as conn:
        result = refund_in(conn, ctx, actor, key, order_id, reason_code=reason_code,
                           line_ids=line_ids, supervisor=supervisor)
    return _finish_card(ctx, actor, result)


def refund_in(conn: Connection, ctx: CoreContext, actor: Actor, key: uuid.UUID,
              order_id: uuid.UUID, *, reason_code: str, line_ids: list[int] | None,
              supervisor: OperatorInfo | None) -> RefundResult:
    """The database side of a refund inside the caller's transaction (a card refund
    comes back ``pending``: the caller sends it to the gateway after commit)."""
    # Claimed in command_log, where every command's keys live: a key used for a hold or
    # a sale is refused (idempotency_conflict), and a copy of this refund waits here.
    if begin_command(conn, key, "refund", {"order_id": str(order_id), "reason": reason_code,
                                           "lines": sorted(line_ids) if line_ids else None},
                     actor.terminal_id, ctx.settings.database.lock_timeout_ms) is not None:
        done = conn.execute(_BY_KEY, {"key": key}).mappings().first()
        if done is None:
            raise BoxOfficeError("idempotency_conflict")
        return _result(done)
    order = conn.execute(_LOCK_ORDER, {"id": order_id}).mappings().first()
    if order is None:
        raise BoxOfficeError("unknown_order", order_id=str(order_id))
    if order["status"] == "payment_unverified":
        # The gateway never confirmed the card payment: no money came in to give back.
        raise BoxOfficeError("order_payment_unverified")
    lines = _pick_lines(conn, order_id, line_ids)
    why = _approval_reason(ctx, conn, actor, order, lines)
    if why is not None and supervisor is None:
        raise BoxOfficeError("approval_required", why=why)
    sale = conn.execute(_SALE_OF_ORDER, {"id": order_id}).first()
    method = "card" if card_intent(conn, order) is not None else "cash"
    shift_id = open_shift_id(conn, actor.terminal_id)
    if method == "cash" and shift_id is None:
        raise BoxOfficeError("no_open_shift")
    rid = uuid.uuid4()
    approval_id = None
    back = return_lines_in(conn, ctx, order_id, [r.id for r in lines])
    if supervisor is not None:
        approval_id = record_approval(conn, actor, supervisor, "refund", reason_code,
                                      "order", order_id, back.amount_minor)
    left = conn.execute(text("select count(*) from order_lines where order_id = :id"
                             " and status = 'sold'"), {"id": order_id}).scalar_one()
    conn.execute(text("update orders set status = :s where id = :id"),
                 {"s": "partially_refunded" if left else "refunded", "id": order_id})
    voided = tickets_bridge.void(conn, actor, order_id, list(back.line_ids),
                                 f"refund: {reason_code}")
    status = "pending" if method == "card" else "succeeded"
    _insert_refund(conn, {
        "id": rid, "key": key, "order_id": order_id,
        "sale_id": sale.id if sale is not None else None, "line_ids": list(back.line_ids),
        "method": method, "status": status, "amount": back.amount_minor,
        "currency": order["currency"], "reason": reason_code, "shift_id": shift_id,
        "approval_id": approval_id, "terminal_id": actor.terminal_id,
        "operator_id": actor.operator_id})
    conn.execute(_PAYMENT, {"refund_id": rid, "order_id": order_id, "shift_id": shift_id,
                            "method": method, "status": status,
                            "amount": back.amount_minor, "currency": order["currency"],
                            "key": _gateway_key(rid)})
    if method == "cash":
        assert shift_id is not None
        add_cash(conn, shift_id, "refund", -back.amount_minor, refund_id=rid)
    audit.append(conn, actor, "refund", "order", order_id,
                 {"refund_id": str(rid), "lines": list(back.line_ids),
                  "amount_minor": back.amount_minor, "method": method,
                  "reason": reason_code, "approval_id": approval_id,
                  "tickets_voided": voided})
    outbox_events.refund_completed(conn, actor, refund_id=rid, order_id=order_id,
                                   line_ids=back.line_ids, amount_minor=back.amount_minor,
                                   currency=order["currency"], method=method, status=status,
                                   reason=reason_code, tickets_voided=voided)
    result = RefundResult(rid, order_id, back.line_ids, back.amount_minor,
                          order["currency"], method, status, reason_code, approval_id,
                          tickets_voided=voided)
    return result


# Refusals of the refund row's trigger (bo_guard_refund): the message is the code, the
# detail its placeholders as JSON.
_REFUND_REFUSALS = ("approval_required", "order_payment_unverified")


def _insert_refund(conn: Connection, params: dict[str, Any]) -> None:
    try:
        conn.execute(_INSERT, params)
    except DBAPIError as exc:
        diag = getattr(exc.orig, "diag", None)
        code = getattr(diag, "message_primary", None) or ""
        if code in _REFUND_REFUSALS:
            detail = getattr(diag, "message_detail", None) or ""
            try:
                details = json.loads(detail) if detail.startswith("{") else {}
            except ValueError:
                details = {}
            raise BoxOfficeError(code, **details) from None
        raise_refusal(exc)


def _result(row: Any) -> RefundResult:
    return RefundResult(row["id"], row["order_id"], tuple(row["line_ids"]),
                        int(row["amount_minor"]), row["currency"], row["method"],
                        row["status"], row["reason_code"], row["approval_id"],
                        row["gateway_ref"])


def _finish_card(ctx: CoreContext, actor: Actor, result: RefundResult) -> RefundResult:
    if result.method != "card" or result.status != "pending":
        return result
    with ctx.engine.connect() as conn:
        order = conn.execute(text("select * from orders where id = :id"),
                             {"id": result.order_id}).mappings().one()
        intent_id = card_intent(conn, order)
    if intent_id is None:  # pragma: no cover - the refund was recorded as a card refund
        raise BoxOfficeError("invalid_input", detail="card payment of the order not found")
    try:
        info = ctx.payment_gateway().refund(intent_id, result.amount_minor,
                                            idempotency_key=_gateway_key(result.refund_id))
    except GatewayFailure:
        return result  # stays pending; the sweeper retries with the same key
    with unit_of_work(ctx.engine) as conn:
        if conn.execute(_DONE, {"ref": info.id, "id": result.refund_id}).first() is not None:
            conn.execute(text("update payments set status = 'succeeded', gateway_ref = :ref"
                              " where idempotency_key = :k"),
                         {"ref": info.id, "k": _gateway_key(result.refund_id)})
            audit.append(conn, actor, "refund_settled", "refund", result.refund_id,
                         {"gateway_ref": info.id, "amount_minor": result.amount_minor})
    return RefundResult(**{**{f: getattr(result, f) for f in RefundResult.__slots__},
                           "status": "succeeded", "gateway_ref": info.id})


def retry_pending_refunds(ctx: CoreContext, *, older_than_s: float = 0.0) -> int:
    """Card refunds the gateway has not confirmed yet: ask again with the same key."""
    with ctx.engine.connect() as conn:
        ids = [r.id for r in conn.execute(_PENDING, {"age": older_than_s})]
    if not ids:
        return 0
    actor = system_actor(ctx.engine, "sale-recovery")
    done = 0
    for rid in ids:
        with ctx.engine.connect() as conn:
            row = conn.execute(text("select * from refunds where id = :id"),
                               {"id": rid}).mappings().one()
        if _finish_card(ctx, actor, _result(row)).status == "succeeded":
            done += 1
    return done


def exchange(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, order_id: uuid.UUID | str,
             new_hold_id: uuid.UUID | str, tender: Tender, *, line_ids: list[int] | None = None,
             reason_code: str = "exchange",
             approver: SupervisorPin | None = None) -> ExchangeResult:
    """Swap tickets: refund the old lines and sell the new hold as one command.

    Cash: one transaction. The refund is paid out as credit towards the new sale, so the
    customer tenders only the difference (``tendered_minor`` may be 0 when the new seats
    cost less: the change is the balance); the old tickets are voided and the new ones
    issued together, or nothing happens.
    Card: the new sale goes first (its authorization and capture are external calls that
    cannot share a transaction), so a failed payment leaves the old tickets untouched;
    then the old lines are refunded to their original payment. Approval is checked before
    either. Both steps use keys derived from ``key``, so repeating the exchange repeats
    neither."""
    key = as_key(key)
    order_id = as_key(order_id)
    new_hold_id = as_key(new_hold_id)
    check_reason(reason_code, REFUND_REASONS)
    if line_ids is not None:
        line_ids = row_ids(line_ids, "order line")
    refund_key, sale_key = uuid.uuid5(key, "refund"), uuid.uuid5(key, "sale")
    with ctx.engine.connect() as conn:
        done = conn.execute(_BY_KEY, {"key": refund_key}).mappings().first()
        sold = conn.execute(text("select result from sales where key = :k"),
                            {"k": sale_key}).first()
    if done is not None and sold is not None and sold.result is not None:
        return ExchangeResult(_finish_card(ctx, actor, _result(done)),
                              CheckoutResult.from_json(sold.result))
    if done is None:
        why = refund_needs_approval(ctx, actor, order_id, line_ids)
        if why is not None and approver is None:
            raise BoxOfficeError("approval_required", why=why)
    if isinstance(tender, CashTender) and done is None:
        supervisor = _verify(ctx.engine, actor, approver) if approver else None
        tickets_bridge.prepare(ctx)
        with unit_of_work(ctx.engine) as conn:
            ref = refund_in(conn, ctx, actor, refund_key, order_id, reason_code=reason_code,
                            line_ids=line_ids, supervisor=supervisor)
            credit = ref.amount_minor if ref.method == "cash" else 0
            sale = cash_sale_in(conn, ctx, actor, sale_key, new_hold_id, tender,
                                credit_minor=credit)
        return ExchangeResult(_finish_card(ctx, actor, ref), sale)
    sale = checkout(ctx, actor, sale_key, new_hold_id, tender)
    ref = refund(ctx, actor, refund_key, order_id, reason_code=reason_code,
                 line_ids=line_ids, approver=approver)
    return ExchangeResult(ref, sale)
