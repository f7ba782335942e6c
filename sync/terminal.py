"""A terminal that keeps selling safely when the central database is unreachable.

Every sale from a lease is journaled (fsynced) before the terminal hands out tickets;
online, the journal is pushed at once; offline, it waits. On reconnect the terminal
replays in order (exactly once), charges stored card payments, records their outcome
(a decline revokes the tickets) and returns the unsold part of its leases.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from config.settings import LeaseSpec
from core.actors import Actor, OperatorInfo
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.leases import LeasedSale, LeaseInfo, active_leases, resolve_codes, take_lease
from core.leases.status import merge_terminal_state
from core.money import format_minor
from core.tickets.views import TicketView
from sync import metrics
from sync.cards import StoredCardProcessor, charge_key
from sync.connectivity import ConnectivityWatch, Probe, database_probe, http_probe
from sync.journal import Journal
from sync.leasebook import LeaseBook
from sync.replay import Progress, ReplayReport, replay, report_flags
from sync.tickets import local_signer, sign_offline_tickets

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocalSale:
    key: uuid.UUID
    order_id: uuid.UUID
    lease_id: uuid.UUID
    total_minor: int
    currency: str
    payment_method: str
    tickets: tuple[dict[str, Any], ...]
    # Shown to the cashier for an offline card sale: the casino carries this amount
    # until the card is charged.
    card_risk_minor: int = 0
    order_number: int | None = None
    event_id: int = 0
    operator_name: str | None = None


# Asked once per configured lease the database grants only with a supervisor's approval:
# a supervisor's fresh one-use proof typed on this login, or None (it stays untaken).
LeaseApprover = Callable[[LeaseSpec], OperatorInfo | None]


def lease_label(spec: LeaseSpec) -> str:
    """How a configured lease is named to the supervisor approving it."""
    return f"{spec.event} {spec.section} ×{spec.quantity}"


@dataclass(frozen=True, slots=True)
class AutoLeases:
    taken: int = 0
    # Configured leases left untaken because the database asks a supervisor for them.
    needs_supervisor: tuple[LeaseSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class PushReport:
    replay: ReplayReport
    charged: int = 0
    declined: int = 0
    returned_leases: int = 0


class OfflineTerminal:
    def __init__(self, ctx: CoreContext, actor: Actor, journal: Journal | None = None, *,
                 cards: StoredCardProcessor | None = None,
                 probes: dict[str, Probe] | None = None,
                 return_on_reconnect: bool = True) -> None:
        s = ctx.settings.sync
        self.ctx = ctx
        self.actor = actor
        self.journal = journal or Journal(ctx.settings.journal_path)
        self.journal.remember_terminal_id(actor.terminal_id)
        self.leases = LeaseBook(self.journal)
        self.cards = cards
        self.return_on_reconnect = return_on_reconnect
        if probes is None:
            probes = {"database": database_probe(ctx.engine, s.probe_timeout_s)}
            if ctx.settings.gateway.base_url:
                probes["gateway"] = http_probe(ctx.settings.gateway.base_url,
                                               s.probe_timeout_s)
        self.watch = ConnectivityWatch(probes, offline_after=s.offline_after_failures,
                                       online_after=s.online_after_successes,
                                       interval_s=s.probe_interval_s)
        self.watch.subscribe(self._on_link_change)
        # Every background probe pass refreshes the heartbeat (when online).
        self.watch.after_each_pass(self._safe_heartbeat)
        self._push_lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], Any]] = []
        self.last_push: PushReport | None = None
        self.last_reconnect: PushReport | None = None
        # Sales are pushed by a background thread once started, so a sale never waits on
        # the network (a link that drops packets can stall a send for a long time).
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pusher: threading.Thread | None = None
        self._was_offline = False

    # --- state -------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.watch.is_online("database")

    def subscribe(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        """Apps get the sync state (online, queue depth, ...) on every change."""
        self._listeners.append(fn)

    def status(self) -> dict[str, Any]:
        oldest = self.journal.oldest_pending_at()
        counts = self.journal.counts()
        links = self.watch.snapshot()
        st = {
            "online": self.online,
            "links": {k: v["online"] for k, v in links.items()},
            "queue_depth": counts["pending"],
            "flagged": counts["flagged"],
            "applied": counts["applied"],
            "oldest_unsent_s": round(time.time() - oldest, 1) if oldest else None,
            "offline_card_total_minor": self.stored_card_total(),
            "leases": [lease.to_json() for lease in self.leases.all()],
        }
        metrics.publish(self.actor.terminal_name, st)
        return st

    def _notify(self) -> None:
        if not self._listeners:
            return
        state = self.status()
        for fn in list(self._listeners):
            try:
                fn(state)
            except Exception:
                log.exception("sync state listener failed")

    def heartbeat(self) -> None:
        """Write the sync state into this terminal's row (read by the monitor)."""
        st = self.status()
        merge_terminal_state(self.ctx.engine, self.actor.terminal_id, {"sync": {
            k: st[k] for k in ("online", "links", "queue_depth", "flagged", "oldest_unsent_s",
                               "offline_card_total_minor")}
            | {"leases": [{"lease_id": x["lease_id"], "remaining": x["remaining"]}
                          for x in st["leases"]]}})

    def start(self, background: bool = True) -> None:
        """First reading, catch up if online, then watch in the background (tests drive
        ``watch.probe_once()`` themselves with ``background=False``)."""
        self.journal.prune(self.ctx.settings.sync.keep_applied_days * 86400)
        self.watch.probe_once()
        if self.online:
            self.on_reconnect(return_leases=False)
            try:
                self.refresh_leases()  # leases a supervisor took for this terminal
                waiting = self.take_auto_leases().needs_supervisor
                if waiting:
                    # No one to type a PIN at start: the cashier's F4 asks a supervisor.
                    log.info("auto leases waiting for a supervisor: %s",
                             ", ".join(lease_label(x) for x in waiting))
            except BoxOfficeError as exc:
                log.warning("could not refresh leases at start: %s", exc.code)
        if background:
            self.watch.start()
            self._stopping.clear()
            self._pusher = threading.Thread(target=self._push_loop, name="sync-push",
                                            daemon=True)
            self._pusher.start()

    def stop(self) -> None:
        self.watch.stop()
        self._stopping.set()
        self._wake.set()
        if self._pusher is not None:
            self._pusher.join(timeout=30)
            self._pusher = None

    def _push_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.watch.interval_s)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self.online and self.journal.depth():
                try:
                    self._try_push()
                except Exception:
                    log.exception("background push failed")
                self._notify()

    def _safe_heartbeat(self) -> None:
        if self.online:
            try:
                self.heartbeat()
            except BoxOfficeError:
                self.watch.report("database", False, "heartbeat failed")

    def _on_link_change(self, link: str, online: bool) -> None:
        # Pooled connections from before a switch are dead or soon will be (a reset link
        # is not always recognised as a disconnect by the pre-ping): start afresh.
        if link == "database":
            self.ctx.engine.dispose()
        # Runs on the watch's thread (or whoever reported), so catching up never blocks
        # a sale on the UI thread.
        if link == "database" and online and self._was_offline:
            self.on_reconnect()
        if link == "database":
            self._was_offline = self._was_offline or not online
        self._notify()

    # --- leases ------------------------------------------------------------------------

    def take_lease(self, key: uuid.UUID, event_id: int, *,
                   seat_ids: list[int] | None = None, section_id: int | None = None,
                   quantity: int | None = None,
                   approver: OperatorInfo | None = None) -> LeaseInfo:
        """Online only: set seats or a GA quota aside for this terminal's offline sales.
        ``approver``: a supervisor signed in on this login (``authenticate``: its one-use
        proof), which the database asks for all but a renewal."""
        self.ctx.signer()  # registers this terminal's public key, so gates trust its tickets
        info = take_lease(self.ctx, self.actor, key, event_id, seat_ids=seat_ids,
                          section_id=section_id, quantity=quantity, approver=approver)
        self.leases.save(info)
        self._notify()
        return info

    def refresh_leases(self) -> list[LeaseInfo]:
        """Copy the central view of this terminal's active leases (e.g. one a supervisor
        took for it) into the local book."""
        got = active_leases(self.ctx.engine, self.actor.terminal_id)
        for info in got:
            self.leases.save(info)
        return got

    def take_auto_leases(self, approve: LeaseApprover | None = None) -> AutoLeases:
        """The leases named in ``[[sync.auto_leases]]`` that this terminal does not have.

        Each is asked first without a supervisor: a renewal (0014) needs none, and no
        proof is spent on it. One the database refuses with ``lease_needs_supervisor`` is
        asked again with ``approve(spec)``'s proof, or, with none, left in
        ``needs_supervisor`` while the others are still taken."""
        taken = 0
        waiting: list[LeaseSpec] = []
        have = {(x.info.event_id, x.info.section_id if x.info.kind == "ga" else
                 (x.info.seats[0].section_id if x.info.seats else None))
                for x in self.leases.all(("active",))}
        for spec in self.ctx.settings.sync.auto_leases:
            try:
                event_id, section_id = resolve_codes(self.ctx.engine, spec.event, spec.section)
            except BoxOfficeError as exc:
                log.warning("auto lease %s/%s skipped: %s", spec.event, spec.section,
                            exc.message("en"))
                continue
            if (event_id, section_id) in have:
                continue
            # A stable key per terminal, spec and day of leases would block re-taking
            # after a return; a fresh key is right because the spec is checked above.
            try:
                self.take_lease(uuid.uuid4(), event_id, section_id=section_id,
                                quantity=spec.quantity)
            except BoxOfficeError as exc:
                if exc.code != "lease_needs_supervisor":
                    raise
                approver = approve(spec) if approve is not None else None
                if approver is None:
                    waiting.append(spec)
                    continue
                self.take_lease(uuid.uuid4(), event_id, section_id=section_id,
                                quantity=spec.quantity, approver=approver)
            have.add((event_id, section_id))
            taken += 1
        return AutoLeases(taken, tuple(waiting))

    def return_leases(self) -> int:
        """Journal the return of every active lease (after its sales), then push."""
        n = 0
        with self.journal.transaction() as db:
            for lease in self.leases.all(("active",)):
                self.leases.set_status(db, lease.info.lease_id, "returning")
                self.journal.append_in(db, "return_lease",
                                       {"lease_id": str(lease.info.lease_id)})
                n += 1
        if n and self.online:
            self.push()
        return n

    # --- selling -----------------------------------------------------------------------

    def sell_from_lease(self, event_id: int, *, seat_ids: list[int] | None = None,
                        ga_qty: int = 0, ga_section_id: int | None = None,
                        method: Literal["cash", "card"] = "cash", card_ref: str | None = None,
                        operator_id: int | None = None, customer_name: str | None = None,
                        shift_id: uuid.UUID | None = None,
                        operator_name: str | None = None) -> LocalSale:
        """Sell from this terminal's lease, online or not. The sale is durable in the
        journal when this returns; the tickets may be printed."""
        seats = sorted({int(s) for s in seat_ids or []})
        if bool(seats) == bool(ga_qty):
            raise BoxOfficeError("invalid_input", detail="Sell seats or a GA quantity.")
        mx = self.ctx.settings.sales.max_seats_per_order
        if len(seats) + ga_qty > mx:
            raise BoxOfficeError("too_many_seats", max=mx)
        if method == "card" and not card_ref:
            raise BoxOfficeError("invalid_input", detail="A card sale needs the card reference.")
        key, order_id = uuid.uuid4(), uuid.uuid4()
        limits = self.ctx.settings.sync
        with self.journal.transaction() as db:
            if seats:
                lease = self.leases.claim_seats(db, event_id, seats, key)
                sold = [s for s in lease.info.seats if s.seat_id in set(seats)]
                total = sum(s.unit_price_minor for s in sold)
            else:
                lease = self.leases.claim_ga(db, event_id, ga_section_id, ga_qty)
                sold = []
                total = int(lease.info.ga_unit_price_minor or 0) * ga_qty
            info = lease.info
            risk = 0
            if method == "card":
                if total > limits.floor_limit_minor:
                    raise BoxOfficeError("offline_card_over_floor", limit=format_minor(
                        limits.floor_limit_minor, info.currency, self._lang()))
                stored = _stored_total(db)
                if stored + total > limits.offline_card_total_minor:
                    raise BoxOfficeError("offline_card_total_reached", limit=format_minor(
                        limits.offline_card_total_minor, info.currency, self._lang()))
                risk = stored + total
            serials = self.leases.take_serials(db, lease, len(sold) + ga_qty)
            number = self.leases.take_order_number(db, lease)
            tickets = sign_offline_tickets(local_signer(self.ctx.settings), serials, order_id,
                                           event_id, sold, info.section_id, ga_qty)
            sale = LeasedSale(order_id=order_id, lease_id=info.lease_id, event_id=event_id,
                              total_minor=total, currency=info.currency,
                              payment_method="card_saf" if method == "card" else "cash",
                              seat_ids=tuple(seats), ga_qty=ga_qty, card_ref=card_ref,
                              operator_id=operator_id, shift_id=shift_id,
                              customer_name=customer_name,
                              sold_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              tickets=tuple(tickets), order_number=number)
            self.journal.append_in(db, "confirm_leased_sale", sale.to_json(), key)
            if method == "card":
                db.execute("insert into stored_cards (order_id, sale_key, amount_minor,"
                           " currency, card_ref) values (?, ?, ?, ?, ?)",
                           (str(order_id), str(key), total, info.currency, card_ref))
        local = LocalSale(key, order_id, info.lease_id, total, info.currency,
                          sale.payment_method, tuple(tickets), risk, number, event_id,
                          operator_name)
        if self._pusher is not None:
            self._wake.set()
        elif self.online:
            self._try_push()
        self._notify()
        return local

    def ticket_views(self, sale: LocalSale) -> list[TicketView]:
        """The sale's tickets as ``core.tickets.TicketView`` (what the printing spooler
        takes), built from the lease snapshot: printable with no database at all."""
        lease = self.leases.get(sale.lease_id)
        if lease is None:
            raise BoxOfficeError("unknown_lease", lease_id=str(sale.lease_id))
        info, d = lease.info, lease.info.display
        seats = {s.seat_id: s for s in info.seats}
        out = []
        for t in sale.tickets:
            seat = seats.get(t["seat_id"]) if t["seat_id"] is not None else None
            section_id = seat.section_id if seat else info.section_id
            sec = d.get("sections", {}).get(str(section_id), {})
            out.append(TicketView(
                serial=t["serial"], token=t["token"], status="valid", print_count=0,
                reprint_count=0, order_id=sale.order_id, order_number=sale.order_number or 0,
                event_id=info.event_id, event_code=d.get("event_code", ""),
                event_name=d.get("event_name", ""), venue_name=d.get("venue_name", ""),
                timezone=d.get("timezone", "UTC"),
                starts_at=datetime.fromisoformat(d["starts_at"]),
                doors_at=datetime.fromisoformat(d["doors_at"]) if d.get("doors_at") else None,
                section_code=sec.get("code", ""), section_name=sec.get("name", ""),
                row_label=seat.row_label if seat else None,
                seat_number=seat.number if seat else None, unit=t["unit"],
                unit_price_minor=seat.unit_price_minor if seat else int(
                    info.ga_unit_price_minor or 0),
                currency=info.currency, tier_name=sec.get("tier", ""),
                terminal_name=self.actor.terminal_name, operator_name=sale.operator_name,
                issued_at=datetime.now(UTC)))
        return out

    def check_sellable_offline(self, event_id: int, seat_ids: list[int] | None = None,
                               ga_qty: int = 0) -> None:
        """For the sale screen: offline, refuse at once what is not in the lease."""
        if self.online:
            return
        leases = [x for x in self.leases.all(("active",)) if x.info.event_id == event_id]
        free = {s.seat_id for lease in leases for s in lease.free_seats}
        ga_left = max((x.remaining for x in leases if x.info.kind == "ga"), default=0)
        if set(seat_ids or ()) - free or ga_qty > ga_left:
            raise BoxOfficeError("offline_not_in_lease")

    def stored_card_total(self) -> int:
        with self.journal.transaction() as db:
            return _stored_total(db)

    def _lang(self) -> str:
        return self.ctx.settings.terminal.language

    # --- catching up -------------------------------------------------------------------

    def _try_push(self) -> None:
        """Push after a sale: the sale is durable already, so no failure here may reach
        the cashier as a failed sale; it stays queued and is retried."""
        try:
            self.push()
        except BoxOfficeError as exc:
            if exc.code == "database_unavailable":
                self.watch.report("database", False, exc.code)
            log.warning("push after sale failed: %s", exc.code)
        except Exception:
            log.exception("push after sale failed; the sale stays queued")

    def push(self, progress: Progress | None = None, batch: int | None = None) -> PushReport:
        """Replay the journal, charge stored cards, replay their outcomes. One at a time."""
        with self._push_lock:
            rep = replay(self.ctx, self.actor, self.journal, progress=progress,
                         on_applied=self._after_applied, batch=batch)
            charged = declined = 0
            if rep.stopped_by is None and self.cards is not None:
                charged, declined = self._charge_stored()
                if charged or declined:
                    more = replay(self.ctx, self.actor, self.journal, progress=progress,
                                  on_applied=self._after_applied)
                    rep.applied += more.applied
                    rep.flagged += more.flagged
                    rep.remaining = more.remaining
                    rep.stopped_by = more.stopped_by
            if rep.stopped_by is None:
                report_flags(self.ctx, self.actor, self.journal)
            if rep.stopped_by == "database_unavailable":
                self.ctx.engine.dispose()
                self.watch.report("database", False, "replay failed")
            name = self.actor.terminal_name
            metrics.REPLAYED.labels(name, "applied").inc(rep.applied)
            metrics.REPLAYED.labels(name, "flagged").inc(rep.flagged)
            self.last_push = PushReport(rep, charged, declined)
            return self.last_push

    def _after_applied(self, entry: Any, result: dict[str, Any]) -> None:
        if entry.command == "return_lease":
            with self.journal.transaction() as db:
                self.leases.set_status(db, uuid.UUID(entry.payload["lease_id"]), "returned")

    def _charge_stored(self) -> tuple[int, int]:
        """Charge card payments whose sale is central already; journal each outcome."""
        assert self.cards is not None
        charged = declined = 0
        with self.journal.transaction() as db:
            rows = db.execute(
                "select sc.order_id, sc.amount_minor, sc.currency, sc.card_ref"
                " from stored_cards sc join commands c on c.key = sc.sale_key"
                " where sc.status = 'stored' and c.status = 'applied' order by c.seq").fetchall()
        for order_id, amount, currency, card_ref in rows:
            oid = uuid.UUID(order_id)
            try:
                out = self.cards.charge_stored(charge_key(oid), amount, currency, card_ref)
            except Exception as exc:  # gateway unreachable: stays stored, retried later
                log.warning("stored card charge for %s failed: %s", order_id, exc)
                self.watch.report("gateway", False, str(exc)[:200])
                break
            with self.journal.transaction() as db:
                db.execute("update stored_cards set status = ?, gateway_ref = ?, reason = ?"
                           " where order_id = ? and status = 'stored'",
                           ("captured" if out.approved else "declined", out.gateway_ref,
                            out.reason, order_id))
                self.journal.append_in(db, "saf_card_outcome", {
                    "order_id": order_id, "captured": out.approved,
                    "gateway_ref": out.gateway_ref, "reason": out.reason,
                    "brand": out.brand, "last4": out.last4},
                    uuid.uuid5(oid, "saf-outcome"))
            if out.approved:
                charged += 1
            else:
                declined += 1
        return charged, declined

    def on_reconnect(self, return_leases: bool = True) -> PushReport | None:
        """Back online: replay, charge stored cards, return what the leases did not sell
        (then take the configured leases again for the next outage)."""
        try:
            rep = self.last_reconnect = self.push()
            if rep.replay.stopped_by is None:
                self._was_offline = False
                if return_leases and self.return_on_reconnect:
                    self.return_leases()
                    self.take_auto_leases()
            self._safe_heartbeat()
            self._notify()
            return rep
        except BoxOfficeError as exc:
            log.warning("reconnect catch-up failed: %s", exc.code)
            return None


def _stored_total(db: Any) -> int:
    row = db.execute("select coalesce(sum(amount_minor), 0) from stored_cards"
                     " where status = 'stored'").fetchone()
    return int(row[0])
