"""Taking and returning leases: seats or a GA quota set aside for one terminal's
offline sales, so an offline terminal never sells a place anyone else can sell."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, OperatorInfo
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.leases import sql
from core.leases.refusals import claim_stage, raise_lease_refusal
from core.leases.results import LeasedSeat, LeaseInfo, LeaseReturn
from core.reservation import inputs
from core.reservation.diagnose import explain_claim_failure, explain_event
from core.uow import after_commit, unit_of_work

SUPERVISORS = ("supervisor", "admin")
# The most places one lease may take (the config's auto leases stop at the same figure).
MAX_LEASE_QUANTITY = 10_000


def _may_act_for(actor: Actor, terminal_id: int) -> None:
    if terminal_id != actor.terminal_id and actor.role not in SUPERVISORS \
            and actor.channel != "system":
        raise BoxOfficeError("not_authorized", role="supervisor")


def take_lease(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int, *,
               terminal_id: int | None = None, seat_ids: Sequence[int] | None = None,
               section_id: int | None = None, quantity: int | None = None,
               approver: OperatorInfo | None = None) -> LeaseInfo:
    """Lease chosen seats (``seat_ids``), or ``quantity`` of the best free seats of a
    seated ``section_id``, or a ``quantity`` quota of a GA ``section_id``, to
    ``terminal_id`` (default: the actor's own terminal; another one needs a supervisor).
    All or nothing.

    On a terminal's login the database grants a lease only with ``approver``, a
    supervisor signed in on this login (``authenticate``: its one-use PIN proof), or as a
    renewal: the same event and section again, no more places than a lease a supervisor
    granted this terminal before, while it holds none of that kind (lease_needs_supervisor
    otherwise)."""
    key = as_key(key)
    terminal_id = terminal_id or actor.terminal_id
    _may_act_for(actor, terminal_id)
    # Checked here, not by the driver (issue 13, item 6): ids out of range or no numbers.
    event_id = inputs.event_id(event_id)
    ids = sorted(set(inputs.seat_ids(seat_ids))) if seat_ids else []
    if seat_ids is not None and len(ids) != len(list(seat_ids)):
        raise BoxOfficeError("invalid_input", detail="A seat was listed twice.")
    section_id = None if section_id is None else inputs.section_id(section_id)
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)
                                 or not 1 <= quantity <= MAX_LEASE_QUANTITY):
        raise BoxOfficeError("invalid_quantity", quantity=repr(quantity)[:24],
                             max=MAX_LEASE_QUANTITY)
    if not ids and (section_id is None or not quantity or quantity < 1):
        raise BoxOfficeError("invalid_input",
                             detail="Give seat ids, or a section and a quantity of at least 1.")
    params = {"event_id": event_id, "terminal_id": terminal_id, "seats": ids,
              "section_id": section_id, "quantity": quantity}
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "take_lease", params, actor.terminal_id,
                             ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return LeaseInfo.from_json(done)
        lease_id = uuid.uuid4()
        info = _take_in(conn, actor, lease_id, terminal_id, event_id, ids, section_id,
                        quantity, approver)
        finish_command(conn, key, info.to_json())
        change = SeatChange(event_id, "leased", tuple(s.seat_id for s in info.seats),
                            info.section_id if info.kind == "ga" else None)
        after_commit(conn, lambda: ctx.publish(change))
        return info


def _take_in(conn: Connection, actor: Actor, lease_id: uuid.UUID, terminal_id: int,
             event_id: int, ids: list[int], section_id: int | None,
             quantity: int | None, approver: OperatorInfo | None) -> LeaseInfo:
    try:
        got = conn.execute(sql.TAKE_LEASE, {
            "lease_id": lease_id, "terminal_id": terminal_id, "event_id": event_id,
            "seat_ids": ids, "section_id": None if ids else section_id,
            "quantity": None if ids else quantity, "operator_id": actor.operator_id,
            "approver_id": approver.id if approver else None,
            "proof": approver.proof if approver else None}).scalar_one()
    except DBAPIError as exc:
        stage = claim_stage(exc)
        if stage is None:
            raise_lease_refusal(exc)
        conn.rollback()
        raise _claim_failure(conn, stage, event_id, ids, section_id, quantity) from None
    kind = got["kind"]
    seats = tuple(LeasedSeat(int(r["seat_id"]), int(r["section_id"]), r["row_label"],
                             int(r["seat_number"]), int(r["current_minor"]), int(r["tier_id"]))
                  for r in got["seats"])
    ga_price = None if got["ga_price"] is None else int(got["ga_price"])
    info = LeaseInfo(lease_id=lease_id, terminal_id=int(got["terminal_id"]), event_id=event_id,
                     kind=kind, currency=got["currency"], status="active", seats=seats,
                     section_id=section_id if kind == "ga" else None,
                     ga_quota=int(quantity or 0) if kind == "ga" else 0,
                     ga_unit_price_minor=ga_price, ga_tier_id=got["ga_tier"],
                     serials=tuple(int(x) for x in got["serials"]),
                     order_numbers=tuple(int(x) for x in got["order_numbers"]),
                     display=event_display(conn, event_id))
    audit.append(conn, actor, "take_lease", "lease", lease_id,
                 {"terminal_id": info.terminal_id, "event_id": event_id, "kind": kind,
                  "seats": [s.seat_id for s in seats], "ga_quota": info.ga_quota,
                  "section_id": info.section_id, "grant": got["grant"],
                  "approved_by": approver.id if approver else None})
    return info


def _claim_failure(conn: Connection, stage: str, event_id: int, ids: list[int],
                   section_id: int | None, quantity: int | None) -> BoxOfficeError:
    """Why nothing could be leased, read after the failed claim was rolled back."""
    if stage == "section":
        return explain_event(conn, event_id) or BoxOfficeError("unknown_section",
                                                               section_id=section_id)
    if stage == "seats":
        return explain_claim_failure(conn, event_id, ids)
    if stage == "best":
        sections = [section_id] if section_id is not None else None
        return explain_event(conn, event_id, section_ids=sections) or \
            BoxOfficeError("sold_out", wanted=quantity)
    if stage == "ga":
        return explain_event(conn, event_id, ga_section_id=section_id) or \
            BoxOfficeError("sold_out", wanted=quantity)
    return explain_event(conn, event_id) or BoxOfficeError("unknown_event", event_id=event_id)


def return_lease(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                 lease_id: uuid.UUID | str, *, revoke: bool = False,
                 approver: OperatorInfo | None = None) -> LeaseReturn:
    """Give the unsold part of a lease back to general sale and end the lease.

    The terminal does this after its replay. ``revoke`` is a supervisor's forced end
    (e.g. the terminal is lost): sales the terminal replays later from a revoked lease
    become sync conflicts for a supervisor instead of overselling. On a terminal's login a
    revoke, or another terminal's lease, needs ``approver`` (a supervisor signed in on
    this login); the database checks it."""
    key = as_key(key)
    lease_id = as_key(lease_id)
    if revoke and approver is None and actor.role not in SUPERVISORS \
            and actor.channel != "system":
        raise BoxOfficeError("not_authorized", role="supervisor")
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "revoke_lease" if revoke else "return_lease",
                             {"lease_id": str(lease_id)}, actor.terminal_id,
                             ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return LeaseReturn.from_json(done)
        try:
            got = conn.execute(sql.RETURN_LEASE, {
                "lease_id": lease_id, "revoke": revoke,
                "approver_id": approver.id if approver else None,
                "proof": approver.proof if approver else None}).scalar_one()
        except DBAPIError as exc:
            raise_lease_refusal(exc)
        if not revoke and approver is None:
            _may_act_for(actor, int(got["terminal_id"]))
        result = LeaseReturn(lease_id, got["status"], int(got["returned_units"]))
        if not got["done"]:
            finish_command(conn, key, result.to_json())
            return result
        freed = [int(x) for x in got["seats"]]
        audit.append(conn, actor, "revoke_lease" if revoke else "return_lease",
                     "lease", lease_id, {"returned_units": result.returned_units,
                                         "seats": freed,
                                         "approved_by": approver.id if approver else None})
        finish_command(conn, key, result.to_json())
        change = SeatChange(int(got["event_id"]), "released", tuple(freed),
                            got["section_id"] if got["kind"] == "ga" else None)
        after_commit(conn, lambda: ctx.publish(change))
        return result


def lease_info(engine: Engine, lease_id: uuid.UUID | str) -> LeaseInfo:
    """The lease as the central database sees it now (seat states included)."""
    lease_id = as_key(lease_id)
    with engine.connect() as conn:
        l_ = conn.execute(text(
            "select id, terminal_id, event_id, kind, section_id, ga_quota, ga_sold,"
            " ga_unit_price_minor, ga_tier_id, currency, status, serials, order_numbers"
            " from leases"
            " where id = :i"),
            {"i": lease_id}).first()
        if l_ is None:
            raise BoxOfficeError("unknown_lease", lease_id=str(lease_id))
        seats = tuple(
            LeasedSeat(r.seat_id, r.section_id, r.row_label, r.seat_number,
                       int(r.unit_price_minor), r.tier_id,
                       r.status if r.ours or r.status != "leased" else "available")
            for r in conn.execute(sql.LEASE_SEATS, {"lease_id": lease_id}))
        display = event_display(conn, l_.event_id)
    return LeaseInfo(lease_id=l_.id, terminal_id=l_.terminal_id, event_id=l_.event_id,
                     kind=l_.kind, currency=l_.currency, status=l_.status, seats=seats,
                     section_id=l_.section_id, ga_quota=l_.ga_quota, ga_sold=l_.ga_sold,
                     ga_unit_price_minor=l_.ga_unit_price_minor, ga_tier_id=l_.ga_tier_id,
                     serials=tuple(int(x) for x in l_.serials or ()),
                     order_numbers=tuple(int(x) for x in l_.order_numbers or ()),
                     display=display)


_DISPLAY_EVENT = text(
    "select e.code, e.name, v.name as venue, v.timezone, e.starts_at, e.doors_at"
    " from events e join venues v on v.id = e.venue_id where e.id = :e"
)
_DISPLAY_SECTIONS = text(
    "select s.id, s.code, s.name, coalesce(pt.name, s.name) as tier from sections s"
    " join events e on e.venue_id = s.venue_id"
    " left join price_tiers pt on pt.event_id = e.id and pt.section_id = s.id"
    " where e.id = :e"
)


def event_display(conn: Connection, event_id: int) -> dict:
    """What an offline terminal needs to print a ticket of this event (names, times)."""
    ev = conn.execute(_DISPLAY_EVENT, {"e": event_id}).one()
    return {"event_code": ev.code, "event_name": ev.name, "venue_name": ev.venue,
            "timezone": ev.timezone, "starts_at": ev.starts_at.isoformat(),
            "doors_at": ev.doors_at.isoformat() if ev.doors_at else None,
            "sections": {str(r.id): {"code": r.code, "name": r.name, "tier": r.tier}
                         for r in conn.execute(_DISPLAY_SECTIONS, {"e": event_id})}}


_CODES = text(
    "select e.id as event_id, s.id as section_id from events e"
    " left join sections s on s.venue_id = e.venue_id and s.code = :s where e.code = :e"
)


def resolve_codes(engine: Engine, event_code: str,
                  section_code: str | None = None) -> tuple[int, int | None]:
    """Event and section ids from the codes people type (``SINATRA``, ``ORQ``)."""
    with engine.connect() as conn:
        row = conn.execute(_CODES, {"e": event_code, "s": section_code or ""}).first()
    if row is None:
        raise BoxOfficeError("invalid_input", detail=f"no event with code {event_code}")
    if section_code and row.section_id is None:
        raise BoxOfficeError("invalid_input",
                             detail=f"no section {section_code} in {event_code}")
    return int(row.event_id), (int(row.section_id) if section_code else None)


def active_leases(engine: Engine, terminal_id: int) -> list[LeaseInfo]:
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sql.ACTIVE_LEASES, {"terminal_id": terminal_id})]
    return [lease_info(engine, i) for i in ids]
