"""Gates without the central database: a signed-key + revocation snapshot, a local
record of what was accepted (so a ticket enters once per gate store), and the upload
of those check-ins when the network is back."""

from __future__ import annotations

import base64
import bisect
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from core.actors import Actor
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.tickets.checkin import (
    CLOSES_AFTER,
    OPENS_BEFORE,
    VERIFY_WITHIN_S,
    ScanResult,
    hhmm,
    reject,
    verify_token,
)
from core.tickets.keys import public_key_from_raw
from core.uow import unit_of_work

# 2: issued serial ranges per key, revoked keys, and an Ed25519 signature over it all.
SNAPSHOT_VERSION = 2
_READABLE_VERSIONS = (1, 2)

# The serials each key issued, as ranges (serials of one key interleave with the other
# terminals', so a busy night makes many short ranges; still far smaller than a list).
_ISSUED = text(
    """
    select key_id, min(serial) as lo, max(serial) as hi from (
        select t.key_id, t.serial,
               t.serial - row_number() over (partition by t.key_id order by t.serial) as grp
        from tickets t join events e on e.id = t.event_id
        where e.status <> 'canceled' and e.starts_at > now() - interval '2 days'
    ) s group by key_id, grp order by key_id, lo
    """
)

# Tickets of card orders the worker had not checked yet when the snapshot was taken
# (migration 0019): an offline gate says "verifying" for them until the bound has passed
# since the sale, as an online gate would, then admits them (it cannot learn the verdict
# before the next snapshot; a voided one is in that snapshot's revocations).
_VERIFYING = text(
    """
    select t.serial, c.due_at from payment_checks c join tickets t on t.order_id = c.order_id
    where c.result = 'pending' and c.rules = 'current' and t.status = 'valid'
      and c.due_at > now() - make_interval(secs => :within)
    """
)


def _canonical(snap: dict[str, Any]) -> bytes:
    body = {k: v for k, v in snap.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _snapshot_signer(conn: Any) -> Ed25519PrivateKey | None:
    """The box office's snapshot key (owner's rights); None on a terminal's login."""
    try:
        with conn.begin_nested():
            seed = conn.execute(text(
                "select value from bo_secrets where name = 'snapshot_seed'")).scalar()
    except DBAPIError:
        return None
    return Ed25519PrivateKey.from_private_bytes(bytes(seed)[:32]) if seed else None


def snapshot_public_key(engine: Engine) -> Ed25519PublicKey:
    """The key gates pin to trust a snapshot (read once online, owner's rights; a gate's
    provisioning writes it into its config)."""
    with engine.connect() as conn:
        key = _snapshot_signer(conn)
    if key is None:
        raise BoxOfficeError("owner_required", detail="the snapshot key")
    return key.public_key()


def export_snapshot(engine: Engine) -> dict[str, Any]:
    """Public keys (with their revocation times), the serials each key issued, revoked
    serials and event times: everything a gate needs offline, signed with the box
    office's snapshot key when exported with the owner's rights. No secrets: it can be
    copied to a gate on a USB stick."""
    with engine.connect() as conn:
        rows = conn.execute(text("select key_id, public_key, revoked_at from ticket_keys")).all()
        keys = {r.key_id: base64.b64encode(bytes(r.public_key)).decode() for r in rows}
        revoked_keys = {r.key_id: r.revoked_at.isoformat() for r in rows if r.revoked_at}
        issued: dict[str, list[list[int]]] = {}
        for r in conn.execute(_ISSUED):
            issued.setdefault(r.key_id, []).append([int(r.lo), int(r.hi)])
        revoked = sorted(conn.execute(text("select serial from revocations")).scalars())
        events = {
            str(r.id): {"code": r.code, "name": r.name, "starts_at": r.starts_at.isoformat(),
                        "doors_at": r.doors_at.isoformat() if r.doors_at else None,
                        "timezone": r.timezone}
            for r in conn.execute(text(
                "select e.id, e.code, e.name, e.starts_at, e.doors_at, v.timezone from events e"
                " join venues v on v.id = e.venue_id where e.status <> 'canceled'"))
        }
        # Seat and section labels, so an offline gate names the place like an online one.
        places = conn.execute(text(
            "select sec.id as section_id, sec.code, s.id as seat_id, s.row_label, s.number"
            " from sections sec left join seats s on s.section_id = sec.id"
            " where sec.venue_id in (select venue_id from events where status <> 'canceled')"
        )).all()
        # Entries already made online, so an offline gate refuses them too.
        used = {str(r.serial): [r.used_at.isoformat(), r.used_gate] for r in conn.execute(text(
            "select t.serial, t.used_at, t.used_gate from tickets t join events e"
            " on e.id = t.event_id where t.status = 'used'"
            " and e.starts_at > now() - interval '2 days'"))}
        within = int(conn.execute(text("select bo_checkin_verify_within()")).scalar_one())
        verifying = {str(r.serial): r.due_at.isoformat()
                     for r in conn.execute(_VERIFYING, {"within": within})}
        generated = conn.execute(text("select now()")).scalar_one()
        signer = _snapshot_signer(conn)
    sections = {str(r.section_id): r.code for r in places}
    seats = {str(r.seat_id): f"{r.code} {r.row_label}-{r.number}" for r in places
             if r.seat_id is not None}
    snap: dict[str, Any] = {
        "version": SNAPSHOT_VERSION, "generated_at": generated.isoformat(), "keys": keys,
        "revoked_keys": revoked_keys, "issued": issued, "revoked": revoked, "used": used,
        "events": events, "sections": sections, "seats": seats,
        "verifying": verifying, "verify_within_s": within}
    if signer is not None:
        snap["signature"] = base64.b64encode(signer.sign(_canonical(snap))).decode()
    return snap


def verify_snapshot(snap: dict[str, Any], trusted_key: Ed25519PublicKey) -> None:
    """Raise snapshot_untrusted unless the box office's key signed exactly this."""
    sig = snap.get("signature")
    if not sig:
        raise BoxOfficeError("snapshot_untrusted", detail="no signature")
    try:
        trusted_key.verify(base64.b64decode(sig), _canonical(snap))
    except (InvalidSignature, ValueError):
        raise BoxOfficeError("snapshot_untrusted", detail="signature does not match") from None


def write_snapshot(engine: Engine, path: Path) -> dict[str, Any]:
    snap = export_snapshot(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(snap, indent=1))
    os.replace(tmp, path)  # a gate reading it mid-write sees the old or the new, never half
    return snap


_STORE_SCHEMA = """
create table if not exists accepted (
    serial integer primary key,
    scan_key text not null,
    gate text not null,
    event_id integer not null,
    at text not null,
    uploaded integer not null default 0,
    upload_result text
)
"""


@dataclass(frozen=True, slots=True)
class LocalCheckin:
    serial: int
    scan_key: str
    gate: str
    event_id: int
    at: datetime


class OfflineGate:
    """Checks tickets in from a snapshot file. What it accepted is kept in a local SQLite
    file (one row per serial, so a second scan at any gate sharing the file is refused,
    even from another process)."""

    def __init__(self, snapshot: dict[str, Any] | Path, store: Path, gate: str, *,
                 event_id: int | None = None, opens_before: timedelta = OPENS_BEFORE,
                 closes_after: timedelta = CLOSES_AFTER,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 trusted_key: Ed25519PublicKey | None = None) -> None:
        snap = json.loads(Path(snapshot).read_text()) if isinstance(snapshot, Path) \
            else snapshot
        if snap.get("version") not in _READABLE_VERSIONS:
            raise ValueError(f"unsupported snapshot version {snap.get('version')!r}")
        if trusted_key is not None:
            verify_snapshot(snap, trusted_key)
        self.keys: dict[str, Ed25519PublicKey] = {
            k: public_key_from_raw(base64.b64decode(v)) for k, v in snap["keys"].items()}
        self.revoked_keys = {k: datetime.fromisoformat(v)
                             for k, v in snap.get("revoked_keys", {}).items()}
        # None (a version 1 snapshot): the serials issued are unknown, not checked.
        self.issued: dict[str, tuple[list[int], list[int]]] | None = None
        if "issued" in snap:
            self.issued = {k: ([lo for lo, _ in v], [hi for _, hi in v])
                           for k, v in snap["issued"].items()}
        self.revoked = set(snap["revoked"])
        self.used: dict[str, list[str]] = snap.get("used", {})
        # Absent from snapshots exported before migration 0019: nothing waits.
        self.verifying = {k: datetime.fromisoformat(v)
                          for k, v in snap.get("verifying", {}).items()}
        self.verify_within = timedelta(seconds=int(snap.get("verify_within_s",
                                                            VERIFY_WITHIN_S)))
        self.events = {int(k): v for k, v in snap["events"].items()}
        self.seats: dict[str, str] = snap.get("seats", {})
        self.sections: dict[str, str] = snap.get("sections", {})
        self.gate = gate
        self.event_id = event_id
        self.before, self.after = opens_before, closes_after
        self.clock = clock
        store.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(store, isolation_level=None, check_same_thread=False,
                                   timeout=30)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=full")
        self._db.execute(_STORE_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def scan(self, token: str, key: uuid.UUID | str | None = None) -> ScanResult:
        out = verify_token(token, self.keys, self.revoked_keys)
        if isinstance(out, ScanResult):
            return out
        c = out.claims
        if self.issued is not None and not self._was_issued(c.key_id, c.serial):
            return reject("never_issued", c.serial, c.event_id, key_id=c.key_id)
        if c.serial in self.revoked:
            return reject("revoked", c.serial, c.event_id)
        ev = self.events.get(c.event_id)
        if ev is None or (self.event_id is not None and c.event_id != self.event_id):
            return reject("wrong_event", c.serial, c.event_id,
                          event=ev["code"] if ev else c.event_id)
        now = self.clock()
        starts = datetime.fromisoformat(ev["starts_at"])
        opens = datetime.fromisoformat(ev["doors_at"] or ev["starts_at"]) - self.before
        if not opens <= now <= starts + self.after:
            when = starts.astimezone(ZoneInfo(ev["timezone"])).strftime("%d/%m %H:%M")
            return reject("wrong_day", c.serial, c.event_id, when=f"{ev['code']} {when}")
        if str(c.serial) in self.used:
            at, gate = self.used[str(c.serial)]
            return reject("already_used", c.serial, c.event_id,
                          at=hhmm(datetime.fromisoformat(at), ev["timezone"]), gate=gate)
        sold = self.verifying.get(str(c.serial))
        if sold is not None and now < sold + self.verify_within:
            return reject("verifying", c.serial, c.event_id)
        with self._lock:
            cur = self._db.execute(
                "insert or ignore into accepted (serial, scan_key, gate, event_id, at)"
                " values (?, ?, ?, ?, ?)",
                (c.serial, str(key or uuid.uuid4()), self.gate, c.event_id, now.isoformat()))
            if cur.rowcount == 1:
                return ScanResult(True, "ok", c.serial, c.event_id,
                                  {"place": self._place(c.seat_id, c.place_id, c.unit)})
            at, gate = self._db.execute("select at, gate from accepted where serial = ?",
                                        (c.serial,)).fetchone()
        return reject("already_used", c.serial, c.event_id,
                      at=hhmm(datetime.fromisoformat(at), ev["timezone"]), gate=gate)

    def _was_issued(self, key_id: str, serial: int) -> bool:
        assert self.issued is not None
        los, his = self.issued.get(key_id, ([], []))
        i = bisect.bisect_right(los, serial) - 1
        return i >= 0 and serial <= his[i]

    def _place(self, seat_id: int | None, section_id: int, unit: int) -> str:
        if seat_id is not None:
            return self.seats.get(str(seat_id), f"seat {seat_id}")
        return f"{self.sections.get(str(section_id), section_id)} #{unit}"

    def pending_uploads(self) -> list[LocalCheckin]:
        with self._lock:
            rows = self._db.execute("select serial, scan_key, gate, event_id, at from accepted"
                                    " where uploaded = 0 order by at").fetchall()
        return [LocalCheckin(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4]))
                for r in rows]

    def mark_uploaded(self, serial: int, result: str) -> None:
        with self._lock:
            self._db.execute("update accepted set uploaded = 1, upload_result = ?"
                             " where serial = ?", (result, serial))




_OFFLINE_CHECKIN = text(
    """
    with u as (
        update tickets set status = 'used', used_at = :at, used_gate = :gate
        where serial = :serial and status = 'valid'
        returning id, serial, event_id, used_at
    )
    insert into checkins (ticket_id, serial, event_id, gate, terminal_id, operator_id,
                          offline, at)
    select id, serial, event_id, :gate, :terminal_id, :operator_id, true, used_at from u
    returning ticket_id
    """
)


def record_offline_checkin(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                           local: LocalCheckin) -> str:
    """Apply one check-in made offline. Returns ``recorded``, or the conflict found:
    ``already_used`` (the same ticket also entered elsewhere: a double entry to look at),
    ``revoked`` (refunded after the snapshot was taken) or ``unknown_ticket``."""
    key = as_key(key)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "offline_checkin", {"serial": local.serial},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return str(done["result"])
        row = conn.execute(_OFFLINE_CHECKIN, {
            "serial": local.serial, "at": local.at, "gate": local.gate,
            "terminal_id": actor.terminal_id, "operator_id": actor.operator_id}).first()
        if row is not None:
            result = "recorded"
        else:
            status = conn.execute(text("select status from tickets where serial = :s"),
                                  {"s": local.serial}).scalar()
            result = {"used": "already_used", "void": "revoked"}.get(status or "",
                                                                     "unknown_ticket")
        finish_command(conn, key, {"result": result})
        return result


def upload_offline_checkins(ctx: CoreContext, actor: Actor, gate: OfflineGate) -> dict[str, int]:
    """Send every local check-in not uploaded yet; return counts per outcome."""
    counts: dict[str, int] = {}
    for local in gate.pending_uploads():
        result = record_offline_checkin(ctx, actor, local.scan_key, local)
        gate.mark_uploaded(local.serial, result)
        counts[result] = counts.get(result, 0) + 1
    return counts
