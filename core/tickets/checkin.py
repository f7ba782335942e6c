"""Gate check-in: verify the token, then accept it at most once.

Acceptance is one conditional UPDATE (``... where status = 'valid' ... returning``) that
also writes the check-in row: two gates scanning the same ticket at the same instant
both reach the row lock, the second re-reads the row after the first commits and finds
it used, so exactly one is accepted. Only a rejection pays for a second query, to say
why (revoked, already used at HH:MM at gate G, outside the event's day).

A card order's ticket is not accepted while the worker has not checked its payment with
the gateway and the sale is younger than ``bo_settings.checkin_verify_within_s``
(migration 0019): the gate answers ``verifying`` ("scan again in a moment"), marks
nothing used, and a forged sale's ticket is REJECTed once the worker's pass voids it.
Older than that bound it is admitted as before: gateway trouble must never turn paying
guests away (the monitor shows ``reconcile_behind`` meanwhile).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import Actor
from core.context import CoreContext
from core.errors import message_for
from core.idempotency import (
    as_key,
    begin_command,
    finish_command,
    raise_stored_failure,
    request_hash,
)
from core.outbox import events as outbox_events
from core.tickets.keys import load_keys
from core.tickets.token import ParsedToken, TokenError, parse
from core.uow import autocommit, unit_of_work

# Scans are accepted from this long before doors (or the start) until this long after
# the start; outside it the ticket is for another day. A casino runs past midnight,
# so a calendar-date comparison would reject the late show.
OPENS_BEFORE = timedelta(hours=6)
CLOSES_AFTER = timedelta(hours=6)
# An unknown key id reloads the keys (a terminal registered after the gate started),
# but not more often than this: a stream of forged codes must not become a query each.
KEY_RELOAD_MIN_S = 10.0
# The database's default for checkin_verify_within_s (migration 0019; the owner or an
# admin changes it in bo_settings).
VERIFY_WITHIN_S = 60

# Every answer a gate gives; the message of reason R is core.error_catalogue's "scan_R".
REASONS: tuple[str, ...] = ("ok", "malformed", "bad_signature", "unknown_key", "revoked",
                            "wrong_event", "wrong_day", "already_used", "unknown_ticket",
                            "key_revoked", "never_issued", "verifying")
# Neither accepted nor refused: the payment is being checked; the same ticket, scanned
# again in a moment, gets its final answer.
WAIT_REASONS: tuple[str, ...] = ("verifying",)

SCANS = Counter("boxoffice_gate_scans_total", "Gate scans by result (ok or rejection reason)",
                ["reason"])


@dataclass(frozen=True, slots=True)
class ScanResult:
    accepted: bool
    reason: str  # "ok" or a rejection code from REASONS
    serial: int | None = None
    event_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        return message_for(f"scan_{self.reason}", lang, **{"serial": self.serial,
                                                             **self.details})

    def line(self, lang: str = "en") -> str:
        """One line for a gate's output: ``ACCEPT ...``, ``WAIT <reason>: ...`` (scan
        again in a moment, do not let in yet) or ``REJECT <reason>: ...``."""
        tag = "ACCEPT" if self.accepted else (
            f"WAIT {self.reason}" if self.waiting else f"REJECT {self.reason}")
        serial = f" [{self.serial}]" if self.serial is not None else ""
        return f"{tag}: {self.message(lang)}{serial}"

    @property
    def waiting(self) -> bool:
        """Not an answer yet: scan the same ticket again in a moment."""
        return not self.accepted and self.reason in WAIT_REASONS

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "reason": self.reason, "serial": self.serial,
                "event_id": self.event_id, "details": self.details}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScanResult:
        return cls(d["accepted"], d["reason"], d.get("serial"), d.get("event_id"),
                   d.get("details") or {})


def reject(reason: str, serial: int | None = None, event_id: int | None = None,
           **details: Any) -> ScanResult:
    return ScanResult(False, reason, serial, event_id, {k: str(v) for k, v in details.items()})


def hhmm(ts: datetime, tz: str) -> str:
    return ts.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def place_text(row: Any) -> str:
    if row.seat_id is not None:
        return f"{row.section_code} {row.row_label}-{row.seat_number}"
    return f"{row.section_code} #{row.unit}"


def verify_token(text_: str, keys: dict[str, Ed25519PublicKey],
                 revoked_keys: dict[str, datetime] | None = None) -> ParsedToken | ScanResult:
    """Parse and check the signature; a ScanResult means rejected. A key revoked (a
    stolen terminal) keeps the tickets it signed before the revocation; anything it
    claims to have signed later is refused."""
    try:
        p = parse(text_)
    except TokenError as exc:
        return reject(exc.reason, detail=exc.detail)
    key = keys.get(p.claims.key_id)
    if key is None:
        return reject("unknown_key", p.claims.serial, p.claims.event_id, key_id=p.claims.key_id)
    if not p.verify(key):
        return reject("bad_signature")
    revoked_at = (revoked_keys or {}).get(p.claims.key_id)
    # Token times are whole seconds: the second of the revocation counts as after it.
    if revoked_at is not None and p.claims.issued_at >= int(revoked_at.timestamp()):
        return reject("key_revoked", p.claims.serial, p.claims.event_id,
                      key_id=p.claims.key_id)
    return p


_WINDOW = ("now() between coalesce(e.doors_at, e.starts_at) - make_interval(secs => :before)"
           " and e.starts_at + make_interval(secs => :after)")
# A card order whose payment the worker has not checked yet, sold moments ago (the same
# text is in migration 0019's bo_check_in).
_NOT_VERIFYING = (
    "not exists (select 1 from payment_checks pc where pc.order_id = t.order_id"
    " and pc.result = 'pending' and pc.rules = 'current'"
    " and pc.due_at > now() - make_interval(secs => bo_checkin_verify_within()))")
# The token's place is the ticket's: a seat, or a section and unit for general admission.
_PLACE = ("(case when :kind = 1 then t.seat_id = :place"
          " else t.seat_id is null and t.section_id = :place and t.unit = :unit end)")
_ACCEPT = text(
    f"""
    with u as (
        update tickets t set status = 'used', used_at = now(), used_gate = :gate
        from events e
        where t.serial = :serial and t.event_id = :event_id and t.status = 'valid'
          and t.key_id = :key_id and {_PLACE}
          and not exists (select 1 from ticket_keys k where k.key_id = t.key_id
                          and k.revoked_at is not null and t.issued_at >= k.revoked_at)
          and {_NOT_VERIFYING}
          and e.id = t.event_id and {_WINDOW}
        returning t.id, t.serial, t.event_id, t.used_at
    ), c as (
        insert into checkins (ticket_id, serial, event_id, gate, terminal_id, operator_id,
                              offline, at)
        select id, serial, event_id, :gate, :terminal_id, :operator_id, false, used_at from u
    )
    select u.serial, u.event_id, t.seat_id, t.unit, s.code as section_code,
           es.row_label, es.seat_number
    from u join tickets t on t.id = u.id
    join sections s on s.id = t.section_id
    left join event_seats es on es.event_id = t.event_id and es.seat_id = t.seat_id
    """
)
_WHY = text(
    f"""
    select t.status, t.used_at, t.used_gate, t.event_id, v.timezone, e.starts_at,
           e.code as event_code, ({_WINDOW}) as in_window,
           t.key_id = :key_id and {_PLACE} as same_ticket,
           exists (select 1 from ticket_keys k where k.key_id = t.key_id
                   and k.revoked_at is not null and t.issued_at >= k.revoked_at)
             as after_revocation,
           not {_NOT_VERIFYING} as verifying
    from tickets t join events e on e.id = t.event_id join venues v on v.id = e.venue_id
    where t.serial = :serial
    """
)


# An offline sale's ticket, before the sale is replayed: no tickets row yet. Accepted when
# the serial is inside a lease of the signing key's own terminal, for this event and
# place (bo_offline_ticket_leased, migration 0012), within the event's window; recorded
# as a check-in without a ticket (linked when the sale is replayed). One serial is
# checked in once (unique checkins.serial).
_ACCEPT_LEASED = text(
    f"""
    insert into checkins (ticket_id, serial, event_id, gate, terminal_id, operator_id,
                          offline, at)
    select null, :serial, e.id, :gate, :terminal_id, :operator_id, false, now()
    from events e
    where e.id = :event_id and {_WINDOW}
      and bo_offline_ticket_leased(:key_id, :serial, :event_id, :kind, :place, :unit)
    on conflict (serial) do nothing
    returning serial
    """
)
_EARLY = text(
    "select c.at, c.gate, v.timezone from checkins c join events e on e.id = c.event_id"
    " join venues v on v.id = e.venue_id where c.serial = :serial and c.ticket_id is null"
)


# An accepted scan in one call (migration 0015): key, ticket, check-in row, outbox
# message and answer. A rejection raises scan_rejected and writes nothing; the slow path
# below then finds out why, under the same key.
_CHECK_IN = text(
    "select kind, result, command, request_hash from bo_check_in(:key, :request_hash,"
    " :serial, :event_id, :gate, :key_id, :kind, :place, :unit, :terminal_id, :operator_id,"
    " :before, :after, :lock_timeout, cast(:who as jsonb), :message_id)"
)


class GateChecker:
    """Checks tickets in at one gate against the central database.

    Public keys are cached and reloaded when an unknown key id appears (a terminal that
    was registered after the gate started). Thread-safe: one instance can serve
    several scanners.
    """

    def __init__(self, ctx: CoreContext, actor: Actor, gate: str, *,
                 event_id: int | None = None, opens_before: timedelta = OPENS_BEFORE,
                 closes_after: timedelta = CLOSES_AFTER) -> None:
        self.ctx = ctx
        self.actor = actor
        self.gate = gate
        self.event_id = event_id
        self._before = opens_before.total_seconds()
        self._after = closes_after.total_seconds()
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._revoked_keys: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        # Who scanned, as core.outbox.events writes it into every message.
        self._who = json.dumps({"terminal": actor.terminal_name,
                                "operator_id": actor.operator_id, "channel": actor.channel})
        self._reload_keys()

    def _reload_keys(self) -> None:
        with self.ctx.engine.connect() as conn:
            known = load_keys(conn)
        with self._lock:
            self._keys = {k: v.public_key for k, v in known.items()}
            self._revoked_keys = {k: v.revoked_at for k, v in known.items()
                                  if v.revoked_at is not None}
            self._loaded_at = time.monotonic()

    def verify(self, token: str) -> ParsedToken | ScanResult:
        out = verify_token(token, self._keys, self._revoked_keys)
        if isinstance(out, ScanResult) and out.reason == "unknown_key" \
                and time.monotonic() - self._loaded_at >= KEY_RELOAD_MIN_S:
            self._reload_keys()
            out = verify_token(token, self._keys, self._revoked_keys)
        return out

    def scan(self, token: str, key: uuid.UUID | str) -> ScanResult:
        """Verify and check in one scanned token. ``key`` is the scan's idempotency key:
        a gate that retries after a lost connection gets the first answer back."""
        result = self._scan(token, key)
        SCANS.labels(result.reason).inc()
        return result

    def _scan(self, token: str, key: uuid.UUID | str) -> ScanResult:
        out = self.verify(token)
        if isinstance(out, ScanResult):
            return out
        c = out.claims
        if self.event_id is not None and c.event_id != self.event_id:
            return reject("wrong_event", c.serial, c.event_id, event=c.event_id)
        key = as_key(key)
        fast = self._accept(c, key)
        if fast is not None:
            return fast
        with unit_of_work(self.ctx.engine) as conn:
            done = begin_command(conn, key, "check_in", {"serial": c.serial, "gate": self.gate},
                                 self.actor.terminal_id,
                                 self.ctx.settings.database.lock_timeout_ms)
            if done is not None:
                return ScanResult.from_json(done)
            params = {"serial": c.serial, "event_id": c.event_id, "gate": self.gate,
                      "key_id": c.key_id, "kind": c.kind, "place": c.place_id, "unit": c.unit,
                      "terminal_id": self.actor.terminal_id,
                      "operator_id": self.actor.operator_id,
                      "before": self._before, "after": self._after}
            row = conn.execute(_ACCEPT, params).first()
            if row is None and not self._known(conn, c.serial):
                result = self._offline_sale(conn, c, key, params)
                finish_command(conn, key, result.to_json())
                return result
            if row is not None:
                result = ScanResult(True, "ok", c.serial, c.event_id,
                                    {"place": place_text(row)})
                outbox_events.ticket_checked_in(conn, self.actor, serial=c.serial,
                                                event_id=c.event_id, gate=self.gate,
                                                scan_key=key)
            else:
                result = self._why(conn, c.serial, c.event_id, params)
            finish_command(conn, key, result.to_json())
            return result

    def _accept(self, c: Any, key: uuid.UUID) -> ScanResult | None:
        """The usual scan, a valid ticket, in one round trip; None when it is refused."""
        rh = request_hash("check_in", {"serial": c.serial, "gate": self.gate})
        try:
            with autocommit(self.ctx.engine) as conn:
                row = conn.execute(_CHECK_IN, {
                    "key": key, "request_hash": rh, "serial": c.serial,
                    "event_id": c.event_id, "gate": self.gate, "key_id": c.key_id,
                    "kind": c.kind, "place": c.place_id, "unit": c.unit,
                    "terminal_id": self.actor.terminal_id,
                    "operator_id": self.actor.operator_id, "before": self._before,
                    "after": self._after,
                    "lock_timeout": f"{self.ctx.settings.database.lock_timeout_ms}ms",
                    "who": self._who, "message_id": uuid.uuid5(key, "checked_in")}).one()
        except DBAPIError as exc:
            diag = getattr(exc.orig, "diag", None)
            if getattr(diag, "message_primary", None) == "scan_rejected":
                return None
            raise
        if row.kind == "prior":  # as core.idempotency.begin_command answers a copy
            if row.command != "check_in" or row.request_hash != rh:
                from core.errors import BoxOfficeError

                raise BoxOfficeError("idempotency_conflict")
            result = dict(row.result or {})
            raise_stored_failure(result)
            return ScanResult.from_json(result)
        return ScanResult.from_json(row.result)

    @staticmethod
    def _known(conn: Any, serial: int) -> bool:
        return conn.execute(text("select 1 from tickets where serial = :s"),
                            {"s": serial}).first() is not None

    def _offline_sale(self, conn: Any, c: Any, key: uuid.UUID,
                      params: dict[str, Any]) -> ScanResult:
        """A serial the database has no ticket for: an offline sale not replayed yet is
        let in (and recorded) when its terminal's lease holds that serial and place."""
        if conn.execute(_ACCEPT_LEASED, params).first() is not None:
            outbox_events.ticket_checked_in(conn, self.actor, serial=c.serial,
                                            event_id=c.event_id, gate=self.gate,
                                            scan_key=key)
            return ScanResult(True, "ok", c.serial, c.event_id, {"place": "offline sale"})
        early = conn.execute(_EARLY, {"serial": c.serial}).first()
        if early is not None:
            return reject("already_used", c.serial, c.event_id,
                          at=hhmm(early.at, early.timezone), gate=early.gate)
        return self._why(conn, c.serial, c.event_id, params)

    def _why(self, conn: Any, serial: int, event_id: int, params: dict[str, Any]) -> ScanResult:
        w = conn.execute(_WHY, params).first()
        if w is None or not w.same_ticket:
            # No such serial, or a real serial in a token the ticket was not issued with
            # (another key, another place): a forgery, whatever the ticket's state.
            return reject("unknown_ticket", serial, event_id)
        if w.after_revocation:
            return reject("key_revoked", serial, event_id, key_id=params["key_id"])
        if w.status == "void":
            return reject("revoked", serial, event_id)
        if w.status == "used":
            return reject("already_used", serial, event_id, at=hhmm(w.used_at, w.timezone),
                          gate=w.used_gate)
        if w.event_id != event_id:
            return reject("wrong_event", serial, event_id, event=w.event_code)
        if not w.in_window:
            when = w.starts_at.astimezone(ZoneInfo(w.timezone)).strftime("%d/%m %H:%M")
            return reject("wrong_day", serial, event_id, when=f"{w.event_code} {when}")
        if w.verifying:
            # Not used, not refused: the worker is asking the gateway about this sale.
            return reject("verifying", serial, event_id)
        return reject("unknown_ticket", serial, event_id)


def check_in(ctx: CoreContext, actor: Actor, token: str, key: uuid.UUID | str, *, gate: str,
             event_id: int | None = None) -> ScanResult:
    """One-off check-in (a gate app scanning many tickets should keep a GateChecker)."""
    return GateChecker(ctx, actor, gate, event_id=event_id).scan(token, key)


def resolve_event(engine: Any, code_or_id: str) -> int:
    """An event id from its code (``COMEDIA-HOJE``) or its number."""
    from core.errors import BoxOfficeError

    with engine.connect() as conn:
        eid = conn.execute(text("select id from events where code = :c or id::text = :c"),
                           {"c": code_or_id.strip()}).scalar()
    if eid is None:
        raise BoxOfficeError("unknown_event", event_id=code_or_id)
    return int(eid)
