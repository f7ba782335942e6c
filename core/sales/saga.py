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

import json
import logging
import os
import re
import signal
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from structlog.contextvars import bound_contextvars

from core import audit
from core.actors import Actor, raise_refusal
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, request_hash
from core.money import check_amount
from core.outbox import events as outbox_events
from core.outbox.write import CONSENT_TEXT, CustomerContact, validated
from core.payments.gateway import DECLINE_CODES, GatewayFailure, Intent, PaymentGateway
from core.reservation import confirm_in, release_hold
from core.reservation.results import OrderResult
from core.sales import tickets_bridge
from core.sales.sale_rows import TakenOver, cas, reload_sale, sale_from_json
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

_BY_KEY = text("select * from sales where key = :key")
_CANCEL_ORDER = text(
    "update orders set status = 'canceled' where id = :id and status <> 'canceled'"
    " returning event_id"
)


# The hot path, one call each (migration 0015): a card sale's first step, its confirm
# step, a cash sale, and any later move of the row. Refusals come back as the
# catalogue's code (the message) and its details (JSON), as bo_confirm_sale's do.
_CARD_BEGIN = text(
    "select kind, sale, places from bo_card_begin(:key, :request_hash, :sale_id, :hold_id,"
    " :terminal_id, :operator_id, :channel, :pm, :brand, :last4, :any_hold, :chain,"
    " :lock_timeout, :payment_key)"
)
_CARD_CONFIRM = text(
    "select bo_card_confirm(:sale_id, :version, :intent, :order_id, :terminal_id,"
    " :operator_id, :customer, :any_hold, :chain, :payment_key, :key_terminal, :key_id,"
    " :key_public, cast(:tickets as jsonb), cast(:who as jsonb), :message_id, :email,"
    " :language, :consent) as sale"
)
_CASH_SALE = text(
    "select kind, sale from bo_cash_sale(:key, :request_hash, :sale_id, :hold_id,"
    " :terminal_id, :operator_id, :channel, :tendered, :credit, :customer, :any_hold, :chain,"
    " :lock_timeout, :payment_key, :order_id, :key_terminal, :key_id, :key_public,"
    " cast(:tickets as jsonb), cast(:who as jsonb), :message_id, :email, :language,"
    " :consent)"
)
_MOVE_SALE = text(
    "select bo_sale_move(:sale_id, :version, :state, :intent, :order_id, :error, :attempt,"
    " :payment_key, :payment_status, :chain, :action, :payload, :async) as sale"
)
# The tickets a hold needs (a serial each) and the database clock to sign them with, and
# the sale of this key if there is one: a read, before the one call of a cash sale.
_PLACES = text(
    "select (select to_jsonb(s) from sales s where s.key = :key) as existing,"
    " jsonb_build_object('now_s', floor(extract(epoch from now()))::bigint, 'places',"
    " coalesce((select jsonb_agg(jsonb_build_object('event_id', x.event_id, 'seat_id',"
    " x.seat_id, 'section_id', x.section_id, 'unit', x.unit, 'serial',"
    " nextval('ticket_serial_seq')) order by x.o, x.unit) from (select hi.event_id,"
    " hi.seat_id, hi.section_id, hi.id as o, u.unit from hold_items hi,"
    " generate_series(1, hi.qty) u(unit) where hi.hold_id = :hold_id) x), '[]'::jsonb))"
    " as doc"
)
# The codes the sale functions refuse with (besides bo_confirm_sale's, core.actors).
_REFUSALS = frozenset({
    "idempotency_conflict", "sale_in_progress", "no_open_shift", "cash_not_accepted",
    "unknown_hold", "foreign_hold", "hold_not_active", "hold_expired", "tender_insufficient",
    "amount_mismatch", "payment_unverified", "unknown_order",
})


def _call(conn: Connection, stmt: Any, params: dict[str, Any]) -> Any:
    """One sale function call; its refusal as the BoxOfficeError the Python steps raised
    before (same code, same details), a lost compare-and-set as TakenOver."""
    try:
        return conn.execute(stmt, params).one()
    except DBAPIError as exc:
        diag = getattr(exc.orig, "diag", None)
        primary = getattr(diag, "message_primary", None) or ""
        if primary == "taken_over":
            raise TakenOver() from None
        if primary in _REFUSALS:
            detail = getattr(diag, "message_detail", None) or ""
            raise BoxOfficeError(primary, **(json.loads(detail) if detail.startswith("{")
                                            else {})) from None
        raise_refusal(exc)


def _any_hold(actor: Actor) -> bool:
    # A supervisor or the system may finish another terminal's hold (lock_hold's rule).
    return actor.channel == "system" or actor.role in ("supervisor", "admin")


def _who(actor: Actor) -> str:
    """Who sold, as core.outbox.events writes it into every message."""
    return json.dumps({"terminal": actor.terminal_name, "operator_id": actor.operator_id,
                       "channel": actor.channel})


def _contact_args(contact: CustomerContact | None) -> dict[str, Any]:
    if contact is None:
        return {"email": None, "language": None, "consent": None}
    c = validated(contact)
    return {"email": c.email, "language": c.language, "consent": CONSENT_TEXT}


def _crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _key(sale_id: uuid.UUID, step: str) -> str:
    return f"bo-sale-{sale_id}-{step}"


def _metadata(sale: Any) -> dict[str, str]:
    # Only values stored on the row: a replay after a crash must send identical params.
    return {"sale_id": str(sale.id), "hold_id": str(sale.hold_id),
            "terminal_id": str(sale.terminal_id)}


# The payment row written 'pending' before the authorization follows a sale that ends
# without one.
_PAYMENT_AFTER = {"declined": "declined", "voided": "voided", "completed": "captured",
                  "reversed": "reversed"}


def _move(ctx: CoreContext, actor: Actor, sale: Any, state: str, *,
          intent_id: str | None = None, order_id: uuid.UUID | None = None,
          error_code: str | None = None, attempt: int = 0,
          audit_data: dict[str, Any] | None = None, durable: bool = True) -> Any:
    """Move ``sale`` to ``state`` by compare-and-set, with its audit entry, in one call.
    ``durable=False``: the commit does not wait for the WAL flush (only for a step that
    the recovery sweeper repeats harmlessly when it is lost)."""
    data = audit_data if audit_data is not None else {
        k: v for k, v in {"from": sale.state, "intent": intent_id,
                          "error": error_code}.items() if v}
    with autocommit(ctx.engine) as conn:
        row = _call(conn, _MOVE_SALE, {
            "sale_id": sale.id, "version": sale.version, "state": state, "intent": intent_id,
            "order_id": order_id, "error": error_code, "attempt": attempt,
            "payment_key": _key(sale.id, "authorize"),
            "payment_status": _PAYMENT_AFTER.get(state), "chain": actor.chain,
            "action": f"sale_{state}",
            "payload": audit.canonical(actor, "sale", sale.id, data), "async": not durable})
    return sale_from_json(row.sale)


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
    if isinstance(tender, CashTender):
        return _cash_checkout(ctx, actor, key, hold_id, tender, customer_name, contact,
                              release_on_decline)
    gateway: PaymentGateway = ctx.payment_gateway()
    if gateway.breaker_state() == "open":
        # Fail before anything is written or sent: the UI switches to cash at once. A
        # repeat of a checkout already under way is still answered (resumed).
        # Through the unit of work's error mapping: during a failover this read is the
        # first call of a checkout, and must fail as database_unavailable.
        with autocommit(ctx.engine) as conn:
            existing = conn.execute(_BY_KEY, {"key": key}).first()
        if existing is None:
            raise BoxOfficeError("gateway_unavailable", circuit="open")
        _same_request(existing, hold_id, tender)
        return drive(ctx, actor, existing, release_on_decline, customer_name, live=True,
                     contact=contact)
    sale, places = _begin_card_places(ctx, actor, key, hold_id, tender)
    if places is None:  # this key's sale, begun before: resume it
        _same_request(sale, hold_id, tender)
    return drive(ctx, actor, sale, release_on_decline, customer_name, live=True,
                 contact=contact, places=places)


def _same_request(sale: Any, hold_id: uuid.UUID, tender: Tender) -> None:
    kind = "cash" if isinstance(tender, CashTender) else "card"
    if sale.hold_id != hold_id or sale.tender != kind:
        raise BoxOfficeError("idempotency_conflict")


def _request_hash(hold_id: uuid.UUID, kind: str) -> str:
    # As core.idempotency.begin_command hashed a checkout's key claim.
    return request_hash("checkout", {"hold_id": str(hold_id), "tender": kind})


def _begin_card(ctx: CoreContext, actor: Actor, key: uuid.UUID, hold_id: uuid.UUID,
                tender: CardTender) -> Any:
    """The sale row 'authorizing', as a process leaves it when it dies before asking."""
    return _begin_card_places(ctx, actor, key, hold_id, tender)[0]


def _begin_card_places(ctx: CoreContext, actor: Actor, key: uuid.UUID, hold_id: uuid.UUID,
                       tender: CardTender) -> tuple[Any, dict[str, Any] | None]:
    """The sale row 'authorizing' (and its payment row 'pending'), durable before the
    gateway is asked, in one call (bo_card_begin); with the tickets' places and serials.
    (row, None): a sale of this key existed already."""
    tickets_bridge.prepare(ctx)
    sale_id = uuid.uuid4()
    with autocommit(ctx.engine) as conn:
        row = _call(conn, _CARD_BEGIN, {
            "key": key, "request_hash": _request_hash(hold_id, "card"), "sale_id": sale_id,
            "hold_id": hold_id, "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id,
            "channel": "kiosk" if actor.channel == "kiosk" else "counter",
            "pm": tender.payment_method, "brand": tender.brand, "last4": tender.last4,
            "any_hold": _any_hold(actor), "chain": actor.chain,
            "lock_timeout": f"{ctx.settings.database.lock_timeout_ms}ms",
            "payment_key": _key(sale_id, "authorize")})
    return sale_from_json(row.sale), (row.places if row.kind == "new" else None)


def _cash_checkout(ctx: CoreContext, actor: Actor, key: uuid.UUID, hold_id: uuid.UUID,
                   tender: CashTender, customer_name: str | None,
                   contact: CustomerContact | None, release_on_decline: bool
                   ) -> CheckoutResult:
    """Cash needs no external call: a read (the tickets' serials and the clock), the
    tokens signed here, then the whole sale in one call that commits it."""
    tickets_bridge.prepare(ctx)
    with autocommit(ctx.engine) as conn:
        got = conn.execute(_PLACES, {"key": key, "hold_id": hold_id}).one()
        if got.existing is not None:
            existing = sale_from_json(got.existing)
        else:
            existing = None
            result = _cash_call(conn, ctx, actor, key, hold_id, tender, customer_name,
                                0, contact, got.doc)
    if existing is not None:
        # A repeat of a checkout (this key's sale exists): answered from its row.
        _same_request(existing, hold_id, tender)
        return drive(ctx, actor, existing, release_on_decline, customer_name, live=True,
                     contact=contact)
    if isinstance(result, CheckoutResult):
        _publish(ctx, result.order)
        log.info("sale completed", extra={"sale_id": str(result.sale_id), "tender": "cash",
                                          "order_id": str(result.order.order_id)})
        return result
    _same_request(result, hold_id, tender)
    return drive(ctx, actor, result, release_on_decline, customer_name, live=True,
                 contact=contact)


def _cash_call(conn: Connection, ctx: CoreContext, actor: Actor, key: uuid.UUID,
               hold_id: uuid.UUID, tender: CashTender, customer_name: str | None,
               credit_minor: int, contact: CustomerContact | None,
               doc: dict[str, Any]) -> Any:
    """bo_cash_sale: the CheckoutResult, or the row of this key's sale made before."""
    check_amount(tender.tendered_minor, "cash tendered")
    sale_id = uuid.uuid4()
    row = _call(conn, _CASH_SALE, {
        "key": key, "request_hash": _request_hash(hold_id, "cash"), "sale_id": sale_id,
        "hold_id": hold_id, "terminal_id": actor.terminal_id,
        "operator_id": actor.operator_id,
        "channel": "kiosk" if actor.channel == "kiosk" else "counter",
        "tendered": tender.tendered_minor,
        "credit": credit_minor, "customer": customer_name, "any_hold": _any_hold(actor),
        "chain": actor.chain, "lock_timeout": f"{ctx.settings.database.lock_timeout_ms}ms",
        "payment_key": _key(sale_id, "cash"), "order_id": uuid.uuid4(),
        "who": _who(actor), "message_id": uuid.uuid5(sale_id, "sale.completed"),
        **tickets_bridge.signed(ctx, actor, doc), **_contact_args(contact)})
    if row.kind == "existing":
        return sale_from_json(row.sale)
    return CheckoutResult.from_json(row.sale)


def cash_sale_in(conn: Connection, ctx: CoreContext, actor: Actor, key: uuid.UUID,
                 hold_id: uuid.UUID, tender: CashTender, customer_name: str | None = None,
                 *, credit_minor: int = 0,
                 contact: CustomerContact | None = None) -> CheckoutResult:
    """A cash sale inside the caller's transaction. ``credit_minor`` (an exchange's
    refund, paid out in the same transaction) counts towards the tendered cash."""
    doc = conn.execute(_PLACES, {"key": key, "hold_id": hold_id}).one().doc
    got = _cash_call(conn, ctx, actor, key, hold_id, tender, customer_name, credit_minor,
                     contact, doc)
    if not isinstance(got, CheckoutResult):
        # A copy of this checkout (a double click) committed while we waited on the key.
        _same_request(got, hold_id, tender)
        if got.result is None:
            raise BoxOfficeError("sale_in_progress")
        return CheckoutResult.from_json(got.result)
    _publish_sold(ctx, conn, got.order)
    return got


def _json(d: dict[str, Any]) -> str:
    import json

    return json.dumps(d, default=str)


def _sold(order: OrderResult) -> SeatChange:
    return SeatChange(order.event_id, "sold",
                      tuple(ln.seat_id for ln in order.lines if ln.seat_id is not None))


def _publish_sold(ctx: CoreContext, conn: Connection, order: OrderResult) -> None:
    change = _sold(order)
    after_commit(conn, lambda: ctx.publish(change))


def _publish(ctx: CoreContext, order: OrderResult) -> None:
    """After an autocommit call: committed already."""
    ctx.publish(_sold(order))


# --- the state machine -------------------------------------------------------------------


def drive(ctx: CoreContext, actor: Actor, sale: Any, release_on_decline: bool,
          customer_name: str | None, *, live: bool,
          contact: CustomerContact | None = None,
          places: dict[str, Any] | None = None) -> CheckoutResult:
    """``places``: the tickets' places and serials bo_card_begin returned (else read
    when the sale is confirmed)."""
    with bound_contextvars(sale_id=str(sale.id), hold_id=str(sale.hold_id),
                           terminal=actor.terminal_name, operator_id=actor.operator_id):
        return _drive(ctx, actor, sale, release_on_decline, customer_name, live=live,
                      contact=contact, places=places)


def _drive(ctx: CoreContext, actor: Actor, sale: Any, release_on_decline: bool,
           customer_name: str | None, *, live: bool,
           contact: CustomerContact | None = None,
           places: dict[str, Any] | None = None) -> CheckoutResult:
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
                                           compensate=False, customer_name=customer_name,
                                           contact=contact, places=places)
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
               release_on_decline: bool, *, compensate: bool,
               customer_name: str | None = None, contact: CustomerContact | None = None,
               places: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Ask the gateway, then record its answer. An authorization is recorded together
    with the confirmation (order, tickets, 'capturing') in one call: until that commits
    the row says 'authorizing', and a sale stopped there is settled by looking up what
    the gateway made for it (``_void``), exactly as one stopped during the call."""
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
    if intent.status != "requires_capture":
        return _move(ctx, actor, sale, "voiding", intent_id=intent.id, attempt=1,
                     error_code=f"intent_{intent.status}"), \
            BoxOfficeError("sale_failed", reason=intent.status)
    _crash_point("after_authorize")
    try:
        row = _confirm_authorized(ctx, actor, sale, intent.id, customer_name, contact, places)
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
    except BoxOfficeError as exc:
        # The seats could not be sold (hold expired, taken...): nothing of the call stayed;
        # record the intent and cancel the authorization.
        return _move(ctx, actor, sale, "voiding", intent_id=intent.id, attempt=1,
                     error_code=exc.code), exc
    _crash_point("after_confirm")
    return row, None


def _confirm_authorized(ctx: CoreContext, actor: Actor, sale: Any, intent_id: str,
                        customer_name: str | None, contact: CustomerContact | None,
                        places: dict[str, Any] | None) -> Any:
    """bo_card_confirm, one call: the authorization recorded (sale and payment row, the
    payment row written 'pending' by bo_card_begin in an earlier transaction, which
    bo_confirm_sale requires), the order and its tickets, the sale 'capturing' with its
    result and the outbox message, durable together before the capture."""
    with autocommit(ctx.engine) as conn:
        if places is None:  # a resumed sale: its places were not read with its row
            places = conn.execute(_PLACES, {"key": sale.key, "hold_id": sale.hold_id}
                                  ).one().doc
        row = _call(conn, _CARD_CONFIRM, {
            "sale_id": sale.id, "version": sale.version, "intent": intent_id,
            "order_id": uuid.uuid4(), "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "customer": customer_name,
            "any_hold": _any_hold(actor), "chain": actor.chain,
            "payment_key": _key(sale.id, "authorize"), "who": _who(actor),
            "message_id": uuid.uuid5(sale.id, "sale.completed"),
            **tickets_bridge.signed(ctx, actor, places), **_contact_args(contact)})
    done = sale_from_json(row.sale)
    _publish(ctx, CheckoutResult.from_json(done.result).order)
    return done


def _confirm(ctx: CoreContext, actor: Actor, sale: Any, customer_name: str | None,
             contact: CustomerContact | None = None) -> tuple[Any, Any]:
    """A sale left 'authorized' (recorded apart from its confirmation by an earlier
    release) is confirmed as it was then."""
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
    # Not waited for on the disk: if this commit is lost in a crash, the sale reads
    # 'capturing' and the recovery sweeper captures again with the same key, which the
    # gateway answers with this capture. The customer holds the tickets already.
    row = _move(ctx, actor, sale, "completed", durable=False,
                audit_data={"intent": sale.intent_id, "order_id": str(sale.order_id)})
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
    return _move(ctx, actor, sale, "reversed", audit_data={"intent": sale.intent_id})


def _release(ctx: CoreContext, actor: Actor, sale: Any) -> None:
    try:
        release_hold(ctx, actor, uuid.uuid5(sale.id, "release"), sale.hold_id)
    except BoxOfficeError as exc:
        log.info("hold not released after failed sale", extra={"code": exc.code})
