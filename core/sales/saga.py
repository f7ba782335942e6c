"""The sale saga: hold -> authorize -> confirm (+ tickets) -> capture.

The ``sales`` row is the saga's write-ahead log: its state is committed before every
call to the gateway and again after the answer, so a process killed at any point leaves
a row that says what may have happened. Every gateway call of a sale uses a key derived
from the sale id, so replaying a step (a retry, a resumed checkout, the recovery sweeper)
asks the gateway the same question and gets the same answer instead of acting twice.

States (-> normal path, ~> compensation):
  authorizing -> authorized -> capturing -> completed
  authorizing ~> declined                      (card refused; hold kept or released)
  authorizing ~> voiding ~> voided             (gateway trouble: outcome unknown)
  authorized  ~> voiding ~> voided             (confirm failed: authorization cancelled)
  capturing   ~> reversing ~> reversed         (capture refused: order cancelled,
                                                tickets voided, money returned)
Each transition is a compare-and-set on ``version``: if the recovery sweeper took a sale
over, the live call sees it and follows the row instead of acting on stale state.

Policy: a checkout repeated with the same key resumes the sale forward. The recovery
sweeper (a stuck sale: its process died or gave up) compensates everything that stopped
before the order was confirmed, and finishes (captures) everything confirmed after it,
because by then the customer may hold printed tickets. The sweeper itself is
``core.sales.recovery``; the row's compare-and-set is ``core.sales.sale_rows``.
Authorizing is the one step never replayed without the customer: a sale whose
authorization outcome is unknown is settled by listing the intents made for it
(``find_intents``) and voiding them, because a replayed authorization whose first attempt
never executed would hold money on the card of a customer told to pay cash.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Connection, text
from structlog.contextvars import bound_contextvars

from core import audit
from core.actors import Actor
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command
from core.money import check_amount
from core.outbox import events as outbox_events
from core.outbox.write import CustomerContact, validated
from core.payments.gateway import DECLINE_CODES, GatewayFailure, Intent, PaymentGateway
from core.reservation import confirm_in, release_hold
from core.reservation.holds import lock_hold
from core.reservation.results import OrderResult
from core.sales import tickets_bridge
from core.sales.sale_rows import TakenOver, cas, reload_sale
from core.sales.shifts import add_cash
from core.uow import after_commit, autocommit, unit_of_work

log = logging.getLogger(__name__)

TERMINAL_STATES = ("completed", "declined", "voided", "reversed", "failed")
# Test seam for the crash tests: the process kills itself (SIGKILL) at the named step.
CRASH_ENV = "BOXOFFICE_TEST_CRASH_AT"


@dataclass(frozen=True, slots=True)
class CardTender:
    """A card, as the gateway's payment-method token (``pm_...``: from the card reader or
    the gateway's own form). Never a typed card number: a sale row would store it."""

    payment_method: str
    brand: str | None = None
    last4: str | None = None

    def __post_init__(self) -> None:
        if not _PAYMENT_METHOD.fullmatch(self.payment_method or ""):
            raise BoxOfficeError("invalid_input", detail="a card is paid with a payment-method"
                                 " token (pm_...), never a card number")
        if self.last4 is not None and not _LAST4.fullmatch(self.last4):
            raise BoxOfficeError("invalid_input", detail="last4 is the card's last 4 digits")


_PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,120}")
_LAST4 = re.compile(r"[0-9]{4}")


@dataclass(frozen=True, slots=True)
class CashTender:
    tendered_minor: int


Tender = CardTender | CashTender


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    sale_id: uuid.UUID
    order: OrderResult
    tender: str
    amount_minor: int
    currency: str
    change_minor: int = 0
    tendered_minor: int | None = None
    intent_id: str | None = None
    brand: str | None = None
    last4: str | None = None
    # True while the card capture waits for the gateway (the worker finishes it).
    capture_pending: bool = False
    ticket_serials: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["sale_id"] = str(self.sale_id)
        d["order"] = self.order.to_json()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CheckoutResult:
        return cls(**{**d, "sale_id": uuid.UUID(d["sale_id"]),
                      "order": OrderResult.from_json(d["order"]),
                      "ticket_serials": tuple(d.get("ticket_serials") or ())})


# --- SQL ---------------------------------------------------------------------------------

_INSERT_SALE = text(
    """
    insert into sales (id, key, hold_id, terminal_id, operator_id, shift_id, channel, tender,
                       state, version, amount_minor, currency, payment_method, brand, last4,
                       tendered_minor, change_minor, attempts)
    values (:id, :key, :hold_id, :terminal_id, :operator_id, :shift_id, :channel, :tender,
            :state, 0, :amount, :currency, :pm, :brand, :last4, :tendered, :change, 0)
    on conflict do nothing
    returning *
    """
)
_BY_KEY = text("select * from sales where key = :key")
_PAYMENT = text(
    """
    insert into payments (sale_id, order_id, shift_id, kind, method, status, amount_minor,
                          currency, gateway_ref, idempotency_key, brand, last4)
    values (:sale_id, :order_id, :shift_id, 'charge', :method, :status, :amount, :currency,
            :ref, :key, :brand, :last4)
    on conflict (idempotency_key) do update set status = excluded.status,
        gateway_ref = excluded.gateway_ref, order_id = coalesce(excluded.order_id,
        payments.order_id)
    """
)
_CANCEL_ORDER = text(
    "update orders set status = 'canceled' where id = :id and status <> 'canceled'"
    " returning event_id"
)


def _crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _key(sale_id: uuid.UUID, step: str) -> str:
    return f"bo-sale-{sale_id}-{step}"


def _metadata(sale: Any) -> dict[str, str]:
    # Only values stored on the row: a replay after a crash must send identical params.
    return {"sale_id": str(sale.id), "hold_id": str(sale.hold_id),
            "terminal_id": str(sale.terminal_id)}


def _move(ctx: CoreContext, actor: Actor, sale: Any, state: str, **kw: Any) -> Any:
    with unit_of_work(ctx.engine) as conn:
        row = cas(conn, sale, state, **kw)
        audit.append(conn, actor, f"sale_{state}", "sale", sale.id,
                     {k: v for k, v in {"from": sale.state, "intent": kw.get("intent_id"),
                                        "error": kw.get("error_code")}.items() if v})
        return row


# --- entry points ------------------------------------------------------------------------


def checkout(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, hold_id: uuid.UUID | str,
             tender: Tender, *, customer_name: str | None = None,
             release_on_decline: bool | None = None,
             contact: CustomerContact | None = None) -> CheckoutResult:
    # Every log line of the sale, from any module, names its terminal and operator (and
    # its sale once there is one): one sale can be followed through the JSON log.
    with bound_contextvars(terminal=actor.terminal_name, operator_id=actor.operator_id,
                           hold_id=str(hold_id)):
        return _checkout(ctx, actor, key, hold_id, tender, customer_name=customer_name,
                         release_on_decline=release_on_decline, contact=contact)


def _checkout(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, hold_id: uuid.UUID | str,
              tender: Tender, *, customer_name: str | None = None,
              release_on_decline: bool | None = None,
              contact: CustomerContact | None = None) -> CheckoutResult:
    """Sell the hold for ``tender``. Card declines raise card_declined /
    insufficient_funds / expired_card (the hold is kept for another card unless
    ``release_on_decline``); gateway trouble raises gateway_unavailable / gateway_timeout
    and the authorization, if one was made, is voided (now or by the recovery sweeper).
    Repeating the call with the same key returns the same result or resumes the sale.
    ``contact``: the customer's email (validated, with consent) for the e-tickets."""
    key = as_key(key)
    if contact is not None:
        contact = validated(contact)  # refused before anything is held or charged
    hold_id = as_key(hold_id)
    if release_on_decline is None:
        release_on_decline = ctx.settings.sales.release_hold_on_decline
    # Through the unit of work's error mapping: during a failover this read is the first
    # call of a checkout, and must fail as database_unavailable, not a driver error.
    with autocommit(ctx.engine) as conn:
        existing = conn.execute(_BY_KEY, {"key": key}).first()
    if existing is not None:
        _same_request(existing, hold_id, tender)
        return drive(ctx, actor, existing, release_on_decline, customer_name, live=True,
                     contact=contact)
    if isinstance(tender, CashTender):
        return _cash_checkout(ctx, actor, key, hold_id, tender, customer_name, contact)
    gateway: PaymentGateway = ctx.payment_gateway()
    if gateway.breaker_state() == "open":
        # Fail before anything is written or sent: the UI switches to cash at once.
        raise BoxOfficeError("gateway_unavailable", circuit="open")
    sale = _begin_card(ctx, actor, key, hold_id, tender)
    return drive(ctx, actor, sale, release_on_decline, customer_name, live=True,
                 contact=contact)


def _same_request(sale: Any, hold_id: uuid.UUID, tender: Tender) -> None:
    kind = "cash" if isinstance(tender, CashTender) else "card"
    if sale.hold_id != hold_id or sale.tender != kind:
        raise BoxOfficeError("idempotency_conflict")


def _sale_params(ctx: CoreContext, conn: Connection, actor: Actor, hold_id: uuid.UUID,
                 cash: bool) -> tuple[Any, uuid.UUID | None]:
    if actor.channel == "kiosk":
        if cash:
            raise BoxOfficeError("cash_not_accepted")
        shift_id = None
    else:
        from core.sales.shifts import require_open_shift

        shift_id = require_open_shift(conn, actor)
    h = lock_hold(conn, actor, hold_id)
    if h.status != "active":
        raise BoxOfficeError("hold_not_active", status=h.status)
    if h.expired:
        raise BoxOfficeError("hold_expired")
    return h, shift_id


def _claim_key(conn: Connection, ctx: CoreContext, actor: Actor, key: uuid.UUID,
               hold_id: uuid.UUID, kind: str) -> bool:
    """Claim ``key`` in command_log, where every command's keys live: a key already used
    for another request (a hold, a refund) is refused with idempotency_conflict, and a
    copy of this checkout waits here, before any row lock, until the first copy ends.
    True when the key was already claimed by this same checkout."""
    return begin_command(conn, key, "checkout", {"hold_id": str(hold_id), "tender": kind},
                         actor.terminal_id, ctx.settings.database.lock_timeout_ms) is not None


def _begin_card(ctx: CoreContext, actor: Actor, key: uuid.UUID, hold_id: uuid.UUID,
                tender: CardTender) -> Any:
    with unit_of_work(ctx.engine) as conn:
        if _claim_key(conn, ctx, actor, key, hold_id, "card"):
            twin = conn.execute(_BY_KEY, {"key": key}).first()
            if twin is None:
                raise BoxOfficeError("sale_in_progress")
            return twin
        h, shift_id = _sale_params(ctx, conn, actor, hold_id, cash=False)
        sale_id = uuid.uuid4()
        got = conn.execute(_INSERT_SALE, {
            "id": sale_id, "key": key, "hold_id": hold_id, "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "shift_id": shift_id,
            "channel": "kiosk" if actor.channel == "kiosk" else "counter", "tender": "card",
            "state": "authorizing", "amount": int(h.total_minor), "currency": h.currency,
            "pm": tender.payment_method, "brand": tender.brand, "last4": tender.last4,
            "tendered": None, "change": None}).first()
        if got is None:
            twin = conn.execute(_BY_KEY, {"key": key}).first()
            if twin is None:
                raise BoxOfficeError("sale_in_progress")
            return twin
        audit.append(conn, actor, "sale_authorizing", "sale", sale_id,
                     {"hold_id": str(hold_id), "amount_minor": int(h.total_minor),
                      "currency": h.currency, "tender": "card", "brand": tender.brand,
                      "last4": tender.last4})
        return got


def _cash_checkout(ctx: CoreContext, actor: Actor, key: uuid.UUID, hold_id: uuid.UUID,
                   tender: CashTender, customer_name: str | None,
                   contact: CustomerContact | None = None) -> CheckoutResult:
    """Cash needs no external call: everything commits in one transaction."""
    tickets_bridge.prepare(ctx)
    with unit_of_work(ctx.engine) as conn:
        result = cash_sale_in(conn, ctx, actor, key, hold_id, tender, customer_name,
                              contact=contact)
    log.info("sale completed", extra={"sale_id": str(result.sale_id), "tender": "cash",
                                      "order_id": str(result.order.order_id)})
    return result


def cash_sale_in(conn: Connection, ctx: CoreContext, actor: Actor, key: uuid.UUID,
                 hold_id: uuid.UUID, tender: CashTender, customer_name: str | None = None,
                 *, credit_minor: int = 0,
                 contact: CustomerContact | None = None) -> CheckoutResult:
    """A cash sale inside the caller's transaction. ``credit_minor`` (an exchange's
    refund, paid out in the same transaction) counts towards the tendered cash."""
    check_amount(tender.tendered_minor, "cash tendered")
    if _claim_key(conn, ctx, actor, key, hold_id, "cash"):
        # A copy of this checkout (a double click) committed while we waited on the key.
        twin = conn.execute(_BY_KEY, {"key": key}).first()
        if twin is None or twin.result is None:
            raise BoxOfficeError("sale_in_progress")
        return CheckoutResult.from_json(twin.result)
    h, shift_id = _sale_params(ctx, conn, actor, hold_id, cash=True)
    total = int(h.total_minor)
    if tender.tendered_minor + credit_minor < total:
        raise BoxOfficeError("tender_insufficient",
                             tendered=tender.tendered_minor + credit_minor, total=total)
    change = tender.tendered_minor + credit_minor - total
    sale_id = uuid.uuid4()
    got = conn.execute(_INSERT_SALE, {
        "id": sale_id, "key": key, "hold_id": hold_id, "terminal_id": actor.terminal_id,
        "operator_id": actor.operator_id, "shift_id": shift_id, "channel": "counter",
        "tender": "cash", "state": "completed", "amount": total, "currency": h.currency,
        "pm": None, "brand": None, "last4": None, "tendered": tender.tendered_minor,
        "change": change}).first()
    if got is None:
        raise BoxOfficeError("sale_in_progress")
    order = confirm_in(conn, actor, hold_id, f"cash:{sale_id}", shift_id=shift_id,
                       customer_name=customer_name, expected_total_minor=total,
                       sale_id=sale_id)
    serials = tickets_bridge.issue(conn, ctx, actor, order)
    assert shift_id is not None
    # The drawer gains the total: tendered in, change out.
    add_cash(conn, shift_id, "sale", total, sale_id=sale_id)
    conn.execute(_PAYMENT, {"sale_id": sale_id, "order_id": order.order_id,
                            "shift_id": shift_id, "method": "cash", "status": "captured",
                            "amount": total, "currency": h.currency, "ref": None,
                            "key": _key(sale_id, "cash"), "brand": None, "last4": None})
    result = CheckoutResult(sale_id, order, "cash", total, h.currency, change_minor=change,
                            tendered_minor=tender.tendered_minor, ticket_serials=serials)
    conn.execute(text("update sales set order_id = :o, result = cast(:r as jsonb)"
                      " where id = :id"),
                 {"o": order.order_id, "r": _json(result.to_json()), "id": sale_id})
    audit.append(conn, actor, "sale_completed", "sale", sale_id,
                 {"tender": "cash", "order_id": str(order.order_id), "total_minor": total,
                  "tendered_minor": tender.tendered_minor, "change_minor": change})
    outbox_events.sale_completed(conn, actor, order, sale_id=sale_id, tender="cash",
                                 serials=serials, contact=contact)
    _publish_sold(ctx, conn, order)
    return result


def _json(d: dict[str, Any]) -> str:
    import json

    return json.dumps(d, default=str)


def _publish_sold(ctx: CoreContext, conn: Connection, order: OrderResult) -> None:
    change = SeatChange(order.event_id, "sold",
                        tuple(ln.seat_id for ln in order.lines if ln.seat_id is not None))
    after_commit(conn, lambda: ctx.publish(change))


# --- the state machine -------------------------------------------------------------------


def drive(ctx: CoreContext, actor: Actor, sale: Any, release_on_decline: bool,
          customer_name: str | None, *, live: bool,
          contact: CustomerContact | None = None) -> CheckoutResult:
    with bound_contextvars(sale_id=str(sale.id), hold_id=str(sale.hold_id),
                           terminal=actor.terminal_name, operator_id=actor.operator_id):
        return _drive(ctx, actor, sale, release_on_decline, customer_name, live=live,
                      contact=contact)


def _drive(ctx: CoreContext, actor: Actor, sale: Any, release_on_decline: bool,
           customer_name: str | None, *, live: bool,
           contact: CustomerContact | None = None) -> CheckoutResult:
    """Advance ``sale`` until it reaches a terminal state (or must wait for the gateway).
    ``live``: the customer is still there, so a stopped sale goes forward; the recovery
    sweeper (live=False) compensates what stopped before confirmation."""
    if sale.state == "completed":
        # A repeat of a finished checkout (every cash sale is one) is answered from its
        # row, without the gateway: a cash-only terminal has none (card_payments_off).
        return CheckoutResult.from_json(sale.result)
    gateway: PaymentGateway = ctx.payment_gateway()
    failure: BoxOfficeError | None = None
    while True:
        try:
            state = sale.state
            log.info("sale %s", state, extra={"state": state, "live": live})
            if state == "completed":
                return CheckoutResult.from_json(sale.result)
            if state in ("declined", "voided", "reversed", "failed"):
                raise failure or BoxOfficeError(
                    sale.error_code if sale.error_code in DECLINE_CODES else "sale_failed",
                    reason=sale.error_code or state)
            if state == "authorizing" and not live:
                # Stopped before or during its authorization, with nobody at the counter:
                # settle it by looking up what the gateway made, never by authorizing now.
                sale = _move(ctx, actor, sale, "voiding", error_code="abandoned")
            elif state == "authorizing":
                sale, failure = _authorize(ctx, actor, gateway, sale, release_on_decline,
                                           compensate=False)
            elif state == "authorized":
                if live:
                    sale, failure = _confirm(ctx, actor, sale, customer_name, contact)
                else:
                    sale = _move(ctx, actor, sale, "voiding", error_code="abandoned")
            elif state == "voiding":
                sale = _void(ctx, actor, gateway, sale)
            elif state == "capturing":
                sale, pending = _capture(ctx, actor, gateway, sale)
                if pending is not None:
                    return pending
            elif state == "reversing":
                sale = _reverse(ctx, actor, gateway, sale)
        except TakenOver:
            sale = reload_sale(ctx, sale.id)
        except BoxOfficeError as exc:
            # Gateway trouble (or a refusal) in the middle of a compensation: the sale stays
            # where it is (committed) and the sweeper finishes it; the caller learns the
            # first reason the sale failed.
            if failure is None or exc is failure:
                raise
            raise failure from exc


def _authorize(ctx: CoreContext, actor: Actor, gateway: PaymentGateway, sale: Any,
               release_on_decline: bool, *, compensate: bool) -> tuple[Any, Any]:
    try:
        intent = gateway.authorize(int(sale.amount_minor), sale.currency, sale.payment_method,
                                   idempotency_key=_key(sale.id, "authorize"),
                                   metadata=_metadata(sale))
    except GatewayFailure as exc:
        # Outcome unknown (the charge may have been made and the answer lost): let go of
        # the hold for the cashier and void whatever the key created, now or later.
        return _move(ctx, actor, sale, "voiding", error_code=exc.code, attempt=1), exc
    except BoxOfficeError as exc:
        if exc.code not in DECLINE_CODES:
            return _move(ctx, actor, sale, "voiding", error_code=exc.code, attempt=1), exc
        row = _move(ctx, actor, sale, "declined", error_code=exc.code, attempt=1)
        if release_on_decline or compensate:
            _release(ctx, actor, sale)
        return row, exc
    _crash_point("before_record_authorize")
    try:
        row = _record_authorized(ctx, actor, sale, intent.id)
    except TakenOver:
        # Another process moved the row on. A copy of this checkout recorded this very
        # intent (same key, same intent): follow it. But the sweeper may have settled the
        # sale while this authorization was in flight, unable to see it yet: then cancel
        # it here (no money held for a sale that is over).
        now = reload_sale(ctx, sale.id)
        if now.intent_id != intent.id and now.state in ("voiding", "voided"):
            _settle(gateway, intent.id, intent, _key(sale.id, f"void-{intent.id}"),
                    _key(sale.id, f"refund-{intent.id}"))
        raise
    _crash_point("after_authorize")
    if intent.status != "requires_capture":
        return _move(ctx, actor, row, "voiding", error_code=f"intent_{intent.status}"), \
            BoxOfficeError("sale_failed", reason=intent.status)
    return row, None


def _record_authorized(ctx: CoreContext, actor: Actor, sale: Any, intent_id: str) -> Any:
    """The sale moves to authorized and its payment row (the gateway's reference) is
    written in the same transaction: the database's confirm step sells only against an
    authorization recorded in an earlier transaction than its own."""
    with unit_of_work(ctx.engine) as conn:
        row = cas(conn, sale, "authorized", intent_id=intent_id, attempt=1)
        conn.execute(_PAYMENT, {"sale_id": sale.id, "order_id": None,
                                "shift_id": sale.shift_id, "method": "card",
                                "status": "authorized", "amount": int(sale.amount_minor),
                                "currency": sale.currency, "ref": intent_id,
                                "key": _key(sale.id, "authorize"), "brand": sale.brand,
                                "last4": sale.last4})
        audit.append(conn, actor, "sale_authorized", "sale", sale.id,
                     {"from": sale.state, "intent": intent_id})
        return row


def _confirm(ctx: CoreContext, actor: Actor, sale: Any, customer_name: str | None,
             contact: CustomerContact | None = None) -> tuple[Any, Any]:
    tickets_bridge.prepare(ctx)
    try:
        with unit_of_work(ctx.engine) as conn:
            order = confirm_in(conn, actor, sale.hold_id, sale.intent_id,
                               shift_id=sale.shift_id, customer_name=customer_name,
                               expected_total_minor=int(sale.amount_minor), sale_id=sale.id)
            serials = tickets_bridge.issue(conn, ctx, actor, order)
            result = CheckoutResult(sale.id, order, "card", int(sale.amount_minor),
                                    sale.currency, intent_id=sale.intent_id, brand=sale.brand,
                                    last4=sale.last4, ticket_serials=serials)
            # The payment row (written with the authorization) got its order in the
            # database's confirm step.
            row = cas(conn, sale, "capturing", order_id=order.order_id,
                       result=result.to_json())
            outbox_events.sale_completed(conn, actor, order, sale_id=sale.id,
                                         tender="card", serials=serials, contact=contact)
            _publish_sold(ctx, conn, order)
    except TakenOver:
        raise
    except BoxOfficeError as exc:
        # The seats could not be sold (hold expired, taken...): cancel the authorization.
        return _move(ctx, actor, sale, "voiding", error_code=exc.code), exc
    _crash_point("after_confirm")
    return row, None


def _void(ctx: CoreContext, actor: Actor, gateway: PaymentGateway, sale: Any) -> Any:
    if sale.intent_id is not None:
        _settle(gateway, sale.intent_id, None, _key(sale.id, "void"), _key(sale.id, "refund"))
        return _move(ctx, actor, sale, "voided", intent_id=sale.intent_id)
    # We never learnt the outcome and the customer was told the sale failed. Look up what
    # the gateway made for this sale and cancel it. Never replay the authorization: when
    # no attempt had executed, the replay itself would hold money on the card of a
    # customer who has left (issue 13, item 14).
    made = gateway.find_intents(
        {"sale_id": str(sale.id)}, created_from=int(sale.created_at.timestamp()) - 600,
        created_to=int(time.time()) + 600)
    for n, intent in enumerate(made):  # one, unless the key was not honoured
        suffix = "" if n == 0 else f"-{intent.id}"
        _settle(gateway, intent.id, intent, _key(sale.id, "void" + suffix),
                _key(sale.id, "refund" + suffix))
    return _move(ctx, actor, sale, "voided", intent_id=made[0].id if made else None)


def _settle(gateway: PaymentGateway, intent_id: str, intent: Intent | None, void_key: str,
            refund_key: str) -> None:
    """Leave no money held or taken by ``intent_id``: cancel an authorization, refund a
    capture, nothing for one declined or already canceled."""
    if intent is None or intent.status in _CANCELABLE:
        try:
            intent = gateway.void(intent_id, idempotency_key=void_key)
        except BoxOfficeError as exc:
            if exc.code != "payment_state_conflict":
                raise
            intent = gateway.lookup(intent_id)
    if intent.status == "succeeded" and intent.amount_refunded_minor < \
            intent.amount_received_minor:
        # Captured after all (should not happen before confirm): give the money back.
        gateway.refund(intent_id, None, idempotency_key=refund_key)


# Intent states that may still hold (or come to hold) money, and that Stripe can cancel.
_CANCELABLE = ("requires_capture", "requires_confirmation", "requires_action", "processing")


def _capture(ctx: CoreContext, actor: Actor, gateway: PaymentGateway,
             sale: Any) -> tuple[Any, CheckoutResult | None]:
    try:
        gateway.capture(sale.intent_id, idempotency_key=_key(sale.id, "capture"))
    except GatewayFailure:
        # Retried already; the order stands on a valid authorization and the sweeper
        # captures it when the gateway is back.
        return sale, replace(CheckoutResult.from_json(sale.result), capture_pending=True)
    except BoxOfficeError as exc:
        intent = gateway.lookup(sale.intent_id)
        if intent.status != "succeeded":
            # Refused for good (authorization cancelled or expired): undo the sale.
            return _begin_reverse(ctx, actor, sale, exc.code), None
    with unit_of_work(ctx.engine) as conn:
        row = cas(conn, sale, "completed")
        conn.execute(text("update payments set status = 'captured' where idempotency_key = :k"),
                     {"k": _key(sale.id, "authorize")})
        audit.append(conn, actor, "sale_completed", "sale", sale.id,
                     {"intent": sale.intent_id, "order_id": str(sale.order_id)})
    return row, None


def _begin_reverse(ctx: CoreContext, actor: Actor, sale: Any, reason: str) -> Any:
    """Cancel the order and void its tickets; the money goes back in ``_reverse``."""
    with unit_of_work(ctx.engine) as conn:
        row = cas(conn, sale, "reversing", error_code=reason)
        cancel_order_in(conn, ctx, actor, sale.order_id, reason=f"payment failed: {reason}")
        audit.append(conn, actor, "sale_reversing", "sale", sale.id, {"reason": reason})
        outbox_events.sale_reversed(conn, actor, sale_id=sale.id, order_id=sale.order_id,
                                    reason=reason)
    return row


def cancel_order_in(conn: Connection, ctx: CoreContext, actor: Actor, order_id: uuid.UUID,
                    *, reason: str) -> None:
    from core.sales.inventory import return_lines_in

    ev = conn.execute(_CANCEL_ORDER, {"id": order_id}).first()
    if ev is None:
        return
    return_lines_in(conn, ctx, order_id, None)
    tickets_bridge.void(conn, actor, order_id, None, reason)


def _reverse(ctx: CoreContext, actor: Actor, gateway: PaymentGateway, sale: Any) -> Any:
    intent = gateway.lookup(sale.intent_id)
    if intent.status == "requires_capture":
        gateway.void(sale.intent_id, idempotency_key=_key(sale.id, "void"))
    elif intent.status == "succeeded" and intent.amount_refunded_minor < \
            intent.amount_received_minor:
        gateway.refund(sale.intent_id, None, idempotency_key=_key(sale.id, "refund"))
    with unit_of_work(ctx.engine) as conn:
        row = cas(conn, sale, "reversed")
        conn.execute(text("update payments set status = 'reversed' where idempotency_key = :k"),
                     {"k": _key(sale.id, "authorize")})
        audit.append(conn, actor, "sale_reversed", "sale", sale.id, {"intent": sale.intent_id})
    return row


def _release(ctx: CoreContext, actor: Actor, sale: Any) -> None:
    try:
        release_hold(ctx, actor, uuid.uuid5(sale.id, "release"), sale.hold_id)
    except BoxOfficeError as exc:
        log.info("hold not released after failed sale", extra={"code": exc.code})
