"""Card payments reconciled against the gateway, by the worker.

A terminal's database login records its own card authorizations (the payment row the
database's confirm step sells against), and the database cannot ask the gateway whether
one is real: a stolen kiosk login could record an invented one and sell on it. So every
card order a terminal confirms owes a check (``payment_checks``, written by the database
itself, migration 0013), and the worker, which holds the gateway's credentials, settles
it: the intent exists, is captured (or authorized and still inside its window), is for
the order's amount and currency, and its metadata names this order's hold, terminal and
sale. A payment that does not reconcile marks the order ``payment_unverified``, voids and
revokes its tickets (``bo_record_payment_check``, which only the worker's role may call),
and is audited, announced (``sale.reversed``) and shown on the monitor.

Store-and-forward card sales (``saf:<order>``, migration 0019) owe a check too, from
their replay: once their counter records the forwarded charge, the worker looks up the
intent it named (captured, the order's amount and currency, charged as this order's stored
card: ``store_and_forward`` and its ``charge_key`` in the metadata, and paying no other
order); a declined forward is unverified outright (the house's offline risk came due).
Card orders confirmed before the checks existed are checked by the rules of their day
(``rules`` 'pre_0013': existence, status, amount, currency; no metadata).

The database notifies ``WAKE_CHANNEL`` when a check falls due: the worker's
``ReconcileWaker`` then runs a pass at once over the checks nobody looked at yet, so a
forged sale is caught within a gateway round trip (a gate answers "verifying" meanwhile,
``bo_check_in``). A notification is only a hint to re-read: any role can NOTIFY.

Gateway trouble never condemns a payment: it is checked again on the next pass.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, raise_refusal, system_actor
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.outbox import events as outbox_events
from core.payments.gateway import CircuitOpen, GatewayFailure, Intent, PaymentGateway
from core.uow import unit_of_work

log = logging.getLogger(__name__)

# How long an authorization may wait for its capture before the money is not coming
# (card-not-present authorizations lapse after about 7 days at Stripe).
AUTH_WINDOW_S = 7 * 24 * 3600
# An order confirmed on an authorization its terminal has not captured after this long
# (the saga captures at once, the recovery sweeper after ``sales.stuck_after_s``) is
# captured by the worker: a login that never captures would otherwise let the
# authorization lapse after the show, and the house would never be paid.
CAPTURE_AFTER_S = 300
# A card order still unchecked this long after its sale: the reconciler is not keeping
# up (worker stopped, gateway unreachable). The monitor raises ``reconcile_behind``.
BEHIND_AFTER_S = 600
# The worker's pass: often enough that a forged sale's tickets are void before the
# customer can walk from a kiosk to a door.
INTERVAL_S = 15.0
# Notified by the database (migration 0019) when a check falls due.
WAKE_CHANNEL = "bo_reconcile_due"
# Woken passes no closer than this: a flood of NOTIFYs (any role may send them) costs at
# most one query of the open checks per gap, and no gateway call for a check already seen.
WAKE_MIN_GAP_S = 0.2

_OPEN = text(
    """
    select c.order_id, c.intent_id, c.hold_id, c.terminal_id, c.amount_minor, c.currency,
           c.result, c.due_at, extract(epoch from now() - c.due_at) as age_s,
           c.rules, ls.card_status as saf_status, o.status as order_status,
           (select coalesce(sum(r.amount_minor), 0) from refunds r
             where r.order_id = c.order_id and r.method = 'card') as refunded_minor
    from payment_checks c join orders o on o.id = c.order_id
    left join lease_sales ls on ls.order_id = c.order_id
    where c.result in ('pending', 'authorized')
      -- A stored card not forwarded yet has nothing to look up: its counter charges it
      -- when it reconnects (the monitor's reconcile_behind shows one that never does).
      and (c.rules <> 'saf' or ls.card_status in ('captured', 'declined'))
      and (not :fresh or c.checks = 0)
    order by c.due_at limit :limit
    """
)
# A PaymentIntent id as Stripe makes them. The reference is the terminal's word: checked
# before it becomes part of a URL the worker requests with the gateway's credentials
# (``pi_x/../../v1/...`` would ask something else, fail, and never be condemned).
_INTENT_ID = re.compile(r"pi_[A-Za-z0-9]{1,100}")
_SALE_OF_HOLD = text("select 1 from sales where id = cast(:s as uuid) and hold_id = :h")
# An intent pays one order: another check naming it that was settled first (or is
# older and still open) has it. What metadata proves for a current sale, this proves for
# the rules that have none.
_TAKEN = text(
    """
    select 1 from payment_checks c where c.intent_id = :i and c.order_id <> :o
      and (c.result in ('ok', 'authorized')
           or (c.result = 'pending' and (c.due_at, c.order_id) < (:due, :o)))
    limit 1
    """
)
_SALE_ID = text("select id from sales where hold_id = :h and intent_id = :i"
                " order by created_at limit 1")
_RECORD = text("select * from bo_record_payment_check(:o, :r, :why, :st)")


@dataclass
class ReconcileReport:
    """One pass: how many card orders were looked at and what each came to."""

    examined: int = 0
    ok: int = 0
    authorized: int = 0
    unverified: int = 0
    errors: int = 0
    tickets_voided: int = 0
    unverified_orders: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Verdict:
    result: str  # ok | authorized | unverified
    reason: str
    intent_status: str | None = None


def saf_charge_key(order_id: uuid.UUID | str) -> str:
    """The idempotency key a counter charges a stored card under (``sync.cards.charge_key``,
    which core cannot import), carried in the charge's metadata since migration 0019."""
    return str(uuid.uuid5(uuid.UUID(str(order_id)), "saf-charge"))


def _metadata_matches(row: Any, meta: dict[str, str], sale_matches: bool) -> bool:
    rules = getattr(row, "rules", "current")
    if rules == "pre_0013":
        # Sold before sales carried metadata: the rules of the day did not look at it.
        return True
    if rules in ("saf", "saf_legacy"):
        if meta.get("store_and_forward") != "1":
            return False
        # A charge forwarded before 0019 carried no key; since, it names its order.
        return rules == "saf_legacy" or meta.get("charge_key") == saf_charge_key(row.order_id)
    return (meta.get("hold_id") == str(row.hold_id)
            and meta.get("terminal_id") == str(row.terminal_id) and sale_matches)


def verdict(row: Any, intent: Intent | None, sale_matches: bool,
            taken: bool = False) -> Verdict:
    """What the gateway's answer means for one card order (``row``: its check joined to
    the order; ``taken``: another order's check holds the same intent). Pure, so each
    rule is tested on its own."""
    if getattr(row, "rules", "current") in ("saf", "saf_legacy") \
            and getattr(row, "saf_status", None) == "declined":
        return Verdict("unverified", "saf_declined")
    if intent is None:
        return Verdict("unverified", "intent_missing")
    st = intent.status
    if intent.id != row.intent_id:
        return Verdict("unverified", "intent_mismatch", st)
    if intent.amount_minor != int(row.amount_minor) \
            or intent.currency.upper() != str(row.currency).upper():
        return Verdict("unverified", "amount_mismatch", st)
    if not _metadata_matches(row, intent.metadata or {}, sale_matches):
        return Verdict("unverified", "metadata_mismatch", st)
    if taken:
        return Verdict("unverified", "intent_reused", st)
    if st == "succeeded":
        if intent.amount_received_minor < intent.amount_minor:
            return Verdict("unverified", "amount_mismatch", st)
        # Money given back at the gateway beyond the refunds recorded here.
        if intent.amount_refunded_minor > int(row.refunded_minor):
            return Verdict("unverified", "refunded_at_gateway", st)
        return Verdict("ok", "captured", st)
    if st in ("requires_capture", "processing"):
        if float(row.age_s) > AUTH_WINDOW_S:
            return Verdict("unverified", "authorization_expired", st)
        return Verdict("authorized", "awaiting_capture", st)
    if st == "canceled" and row.order_status == "canceled":
        # A reversed sale: its order was canceled and its tickets voided already.
        return Verdict("ok", "order_canceled", st)
    return Verdict("unverified", f"intent_{st}"[:60], st)


def _lookup(gateway: PaymentGateway, intent_id: str) -> Intent | None:
    """The intent, or None when the gateway says there is no such intent. Any other
    trouble (down, refused credentials) raises: it proves nothing about the payment."""
    try:
        return gateway.lookup(intent_id)
    except GatewayFailure:
        raise
    except BoxOfficeError as exc:
        if exc.code == "gateway_error" and (exc.details.get("status") == 404
                                            or exc.details.get("gateway_code")
                                            == "resource_missing"):
            return None
        raise


def reconcile_payments(ctx: CoreContext, *, limit: int = 200,
                       actor: Actor | None = None, fresh_only: bool = False,
                       skip: set[str] | None = None) -> ReconcileReport:
    """Check every open card order against the gateway (``boxoffice payments
    reconcile``; the worker every ``INTERVAL_S``). Safe to run twice at once: a verdict is
    recorded under the check's row lock and a final one is never changed.

    ``fresh_only``: only checks never settled (the woken pass); ``skip``: orders (ids as
    text) not to look up again, to which this pass adds those it looked at."""
    report = ReconcileReport()
    with ctx.engine.connect() as conn:
        rows = conn.execute(_OPEN, {"limit": limit, "fresh": fresh_only}).all()
    if skip is not None:
        rows = [r for r in rows if str(r.order_id) not in skip]
        skip.update(str(r.order_id) for r in rows)
    if not rows:
        return report
    g = ctx.settings.gateway
    if ctx.gateway is None and g.kind == "sandbox" and g.base_url is None:
        # A private sandbox started here knows no intent: it would condemn every sale.
        raise BoxOfficeError("reconcile_no_gateway")
    gateway: PaymentGateway = ctx.payment_gateway()
    actor = actor or system_actor(ctx.engine, "reconcile")
    for row in rows:
        report.examined += 1
        if row.rules in ("saf", "saf_legacy") and row.saf_status == "declined":
            _settle(ctx, actor, row, verdict(row, None, False), report)
            continue
        if not _INTENT_ID.fullmatch(row.intent_id or ""):
            _settle(ctx, actor, row, Verdict("unverified", "intent_malformed"), report)
            continue
        try:
            intent = _lookup(gateway, row.intent_id)
        except CircuitOpen:
            report.errors += len(rows) - report.examined + 1
            log.warning("reconcile: gateway circuit open; the rest waits for the next pass")
            break
        except BoxOfficeError as exc:
            report.errors += 1
            log.warning("reconcile: lookup failed", extra={"order_id": str(row.order_id),
                                                          "code": exc.code})
            continue
        with ctx.engine.connect() as conn:
            sale = (intent.metadata or {}).get("sale_id", "") if intent else ""
            matches = _is_uuid(sale) and conn.execute(
                _SALE_OF_HOLD, {"s": sale, "h": row.hold_id}).first() is not None
            taken = conn.execute(_TAKEN, {"i": row.intent_id, "o": row.order_id,
                                          "due": row.due_at}).first() is not None
        v = verdict(row, intent, matches, taken)
        if v.result == "authorized" and float(row.age_s) > CAPTURE_AFTER_S:
            try:
                intent = _capture(gateway, row)
            except BoxOfficeError as exc:
                report.errors += 1
                log.warning("reconcile: capture failed", extra={
                    "order_id": str(row.order_id), "code": exc.code})
                continue
            v = verdict(row, intent, matches, taken)
        _settle(ctx, actor, row, v, report)
    return report


def _capture(gateway: PaymentGateway, row: Any) -> Intent | None:
    """Capture the order's authorization (its own key: a capture by the saga at the same
    time is answered as a state conflict), then what the gateway says of the intent."""
    try:
        gateway.capture(row.intent_id, idempotency_key=f"bo-reconcile-{row.order_id}-capture")
    except GatewayFailure:
        raise
    except BoxOfficeError as exc:
        # Refused (cancelled or lapsed meanwhile, captured by the saga already): the
        # intent's own state decides.
        log.info("reconcile: capture refused", extra={"order_id": str(row.order_id),
                                                     "code": exc.code})
    return _lookup(gateway, row.intent_id)


def _settle(ctx: CoreContext, actor: Actor, row: Any, v: Verdict,
            report: ReconcileReport) -> bool:
    """Record ``v`` in its own transaction and count it; False when a concurrent pass
    had recorded a final verdict first."""
    try:
        with unit_of_work(ctx.engine) as conn:
            done = _record(conn, actor, row, v)
    except DBAPIError as exc:
        report.errors += 1
        log.error("reconcile: verdict not recorded", extra={"order_id": str(row.order_id)})
        raise_refusal(exc)
    if done is None:
        return False
    setattr(report, v.result, getattr(report, v.result) + 1)
    if v.result == "unverified":
        report.tickets_voided += done
        report.unverified_orders.append(str(row.order_id))
    return True


def _record(conn: Connection, actor: Actor, row: Any, v: Verdict) -> int | None:
    """Record the verdict; for an unverified payment also the audit entry and the
    message. The voided ticket count, or None when the check was already final."""
    r = conn.execute(_RECORD, {"o": row.order_id, "r": v.result, "why": v.reason,
                               "st": v.intent_status}).one()
    if not r.changed:
        return None
    if v.result != "unverified":
        return 0
    audit.append(conn, actor, "payment_unverified", "order", row.order_id,
                 {"intent": row.intent_id, "reason": v.reason,
                  "intent_status": v.intent_status, "amount_minor": int(row.amount_minor),
                  "currency": row.currency, "terminal_id": int(row.terminal_id),
                  "tickets_voided": int(r.tickets_voided),
                  "tickets_used": int(r.tickets_used), "rules": row.rules})
    sale = conn.execute(_SALE_ID, {"h": row.hold_id, "i": row.intent_id}).first()
    # An offline sale has no sales row: it was announced under its order's id.
    sale_id = sale.id if sale is not None else (
        row.order_id if row.rules in ("saf", "saf_legacy") else None)
    if sale_id is not None:
        outbox_events.sale_reversed(conn, actor, sale_id=sale_id, order_id=row.order_id,
                                    reason=f"payment_unverified: {v.reason}")
    log.warning("card payment did not reconcile", extra={
        "order_id": str(row.order_id), "intent": row.intent_id, "reason": v.reason,
        "tickets_voided": int(r.tickets_voided), "tickets_used": int(r.tickets_used)})
    return int(r.tickets_voided)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class ReconcileJob:
    """The worker's periodic reconciliation: every ``interval_s`` seconds, not every
    worker pass (each open card order costs one gateway lookup)."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._last: float | None = None  # the first pass runs at once
        self._actor: Actor | None = None

    def __call__(self, ctx: CoreContext) -> ReconcileReport | None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval_s:
            return None
        self._last = now
        if self._actor is None:
            self._actor = system_actor(ctx.engine, "reconcile")
        report = reconcile_payments(ctx, actor=self._actor)
        if report.unverified:
            log.warning("reconcile: card payments unverified", extra=report.to_json())
        return report


class ReconcileWaker:
    """The worker's ear on ``WAKE_CHANNEL``: a pass over the checks never looked at, as
    soon as the database says one fell due, instead of up to ``INTERVAL_S`` later.

    The notification carries nothing and proves nothing (any role can NOTIFY): it only
    makes the worker read ``payment_checks``, and a check this waker has looked at once
    is left to the periodic pass (``ReconcileJob``), so a flood of notifications costs a
    query per ``WAKE_MIN_GAP_S`` and no gateway call. Listens on its own connection,
    taken out of the engine's pool for good."""

    def __init__(self, ctx: CoreContext, *, min_gap_s: float = WAKE_MIN_GAP_S,
                 forget_after_s: float = INTERVAL_S,
                 on_pass: Callable[[ReconcileReport], None] | None = None) -> None:
        self.ctx = ctx
        self.min_gap_s = min_gap_s
        self.forget_after_s = forget_after_s
        self.on_pass = on_pass
        self.passes = 0
        self._seen: set[str] = set()
        self._forgot_at = time.monotonic()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._actor: Actor | None = None

    def start(self, timeout_s: float = 10.0) -> ReconcileWaker:
        """Start listening; returns once LISTEN is in place (a check due after this wakes
        it), or raises ``reconcile_wake_failed`` after ``timeout_s``."""
        self._thread = threading.Thread(target=self._run, name="reconcile-waker", daemon=True)
        self._thread.start()
        if not self._listening.wait(timeout_s):
            self.stop()
            raise BoxOfficeError("reconcile_wake_failed")
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait_for_passes(self, n: int, timeout_s: float) -> bool:
        """True once ``n`` woken passes have finished (for tests and drills)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.passes >= n, timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:
                log.exception("reconcile waker: connection lost; listening again")
                self._stop.wait(1.0)

    def _listen(self) -> None:
        raw = self.ctx.engine.raw_connection()
        pg: Any = raw.driver_connection
        raw.detach()  # the pool never hands a listening connection to anyone else
        try:
            pg.autocommit = True
            pg.execute(f"listen {WAKE_CHANNEL}")
            self._listening.set()
            self._pass()  # what fell due while nobody listened
            last = time.monotonic()
            while not self._stop.is_set():
                if not any(True for _ in pg.notifies(timeout=1.0, stop_after=1)):
                    continue
                # At once after a quiet spell; in a burst, one pass per gap.
                self._stop.wait(max(0.0, self.min_gap_s - (time.monotonic() - last)))
                # Whatever else arrived meanwhile is answered by this one pass.
                for _ in pg.notifies(timeout=0.0):
                    pass
                self._pass()
                last = time.monotonic()
        finally:
            pg.close()

    def _pass(self) -> None:
        now = time.monotonic()
        if now - self._forgot_at >= self.forget_after_s:
            self._seen.clear()  # the periodic pass has had them meanwhile
            self._forgot_at = now
        if self._actor is None:
            self._actor = system_actor(self.ctx.engine, "reconcile")
        try:
            report = reconcile_payments(self.ctx, actor=self._actor, fresh_only=True,
                                        skip=self._seen)
        except Exception:
            log.exception("reconcile waker: pass failed; the periodic pass retries")
            report = ReconcileReport(errors=1)
        if report.unverified:
            log.warning("reconcile: card payments unverified", extra=report.to_json())
        with self._cond:
            self.passes += 1
            self._cond.notify_all()
        if self.on_pass is not None:
            self.on_pass(report)
