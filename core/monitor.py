"""Read models for the supervisor's monitor and the counter screens (seat-map layout,
order lookup).

Each function is one short read on its own connection; none takes row locks, so the
monitor can refresh every couple of seconds without slowing the seat table. Tables that
other parts add (payments, shifts, approvals) are read only when they exist, so the
monitor works on any schema revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from core.provisioning import is_demo_database
from core.reservation import upcoming_events


@dataclass(frozen=True, slots=True)
class TerminalRow:
    name: str
    kind: str
    last_heartbeat: datetime | None
    age_s: float | None
    state: dict[str, Any]
    stale: bool  # should be beating and is not (never true of a stopped terminal)
    stopped: bool = False  # its last heartbeat said it stopped cleanly


def is_stopped(state: dict[str, Any]) -> bool:
    """A face says so in its last heartbeat when it stops cleanly (staff exit, SIGTERM,
    quit): its silence afterwards is expected, not an alarm."""
    return bool(state.get("stopped")) or state.get("screen") == "stopped"


@dataclass(frozen=True, slots=True)
class OpenHold:
    hold_id: str
    terminal: str
    event_code: str
    quantity: int
    total_minor: int
    currency: str
    expires_in_s: int


@dataclass(frozen=True, slots=True)
class Occupancy:
    event_id: int
    code: str
    name: str
    capacity: int
    sold: int
    held: int

    @property
    def percent(self) -> float:
        return 100.0 * self.sold / self.capacity if self.capacity else 0.0


@dataclass(frozen=True, slots=True)
class Approval:
    """What waits for a supervisor. ``kind`` is a code (``shift_variance``) and ``data``
    the figures its title needs (money in minor units): the monitor words and formats
    them in its own language."""

    id: str
    kind: str
    login: str
    terminal: str
    amount_minor: int | None
    data: dict[str, Any]
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a supervisor should look at, as a code, the terminal it is about and
    the figures its sentence needs (money in minor units, durations in seconds); the
    monitor translates and formats it. Codes: ``variance_waiting``, ``terminal_silent``,
    ``selling_offline``, ``card_down``, ``printer_down``, ``sandbox_gateway`` (a terminal
    outside the demo takes cards through the fake gateway: no money moves)."""

    code: str
    terminal: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    sales_per_minute: list[int]
    revenue_by_tender: dict[str, int]  # gross takings today, by tender
    currency: str
    occupancy: list[Occupancy]
    terminals: list[TerminalRow]
    open_holds: list[OpenHold]
    approvals: list[Approval]
    alerts: list[Alert] = field(default_factory=list)
    as_of: datetime | None = None
    refunds_by_tender: dict[str, int] = field(default_factory=dict)  # given back today

    def net_by_tender(self) -> dict[str, int]:
        """What the house keeps today by tender: gross less what was refunded."""
        tenders = sorted(set(self.revenue_by_tender) | set(self.refunds_by_tender))
        return {k: self.revenue_by_tender.get(k, 0) - self.refunds_by_tender.get(k, 0)
                for k in tenders}


_SALES_PER_MINUTE = text(
    """
    select coalesce(n, 0) from generate_series(0, :minutes - 1) as g(i)
    left join (select floor(extract(epoch from (now() - created_at)) / 60)::int as i, count(*) as n
               from orders where created_at > now() - make_interval(mins => :minutes)
               group by 1) o using (i)
    order by g.i desc
    """
)
_REVENUE_FROM_ORDERS = text(
    """
    select case when payment_ref like 'cash%' then 'cash'
                when payment_ref like 'card%' or payment_ref like 'pi_%' then 'card'
                else split_part(payment_ref, ':', 1) end as tender,
           sum(total_minor) as minor
    from orders where created_at >= date_trunc('day', now()) and status <> 'canceled'
    group by 1 order by 1
    """
)
# A terminal on the monitor is one that has sent a heartbeat (every face beats from its
# first screen) or still holds something a supervisor must see (an open or unapproved
# shift, a live hold). One-shot commands (``tickets demo-sale``, ``scan --gate``)
# register a row for their audit chain and never beat: they must not sit there silent
# for ever.
_TERMINALS = text(
    """
    select t.name, t.kind, t.last_heartbeat, extract(epoch from now() - t.last_heartbeat) as age,
           t.state
    from terminals t where t.kind <> 'system' and (
      t.last_heartbeat is not null
      or exists (select 1 from shifts s where s.terminal_id = t.id
                 and s.status in ('open', 'pending_approval'))
      or exists (select 1 from holds h where h.terminal_id = t.id and h.status = 'active'
                 and h.expires_at > now()))
    order by t.name
    """
)
_OPEN_HOLDS = text(
    """
    select h.id, t.name, e.code, coalesce(sum(hi.qty), 0) as qty, h.total_minor, h.currency,
           greatest(0, extract(epoch from h.expires_at - now()))::int as left_s
    from holds h join terminals t on t.id = h.terminal_id join events e on e.id = h.event_id
    left join hold_items hi on hi.hold_id = h.id
    where h.status = 'active' and h.expires_at > now()
    group by h.id, t.name, e.code order by h.expires_at limit 200
    """
)
_EXISTS = text("select to_regclass(:name) is not null")
_NOW = text("select now()")


def _exists(conn: Connection, table: str) -> bool:
    return bool(conn.execute(_EXISTS, {"name": table}).scalar_one())


def sales_per_minute(conn: Connection, minutes: int = 60) -> list[int]:
    """Orders per minute, oldest first, the last ``minutes`` minutes."""
    return [int(r[0]) for r in conn.execute(_SALES_PER_MINUTE, {"minutes": minutes})]


# The saga's sales and the offline ones replayed from a lease (no sales row; counted
# on the day they were sold, orders.created_at), as core.sales.shifts reports them.
_REVENUE_FROM_SALES = text(
    """
    select tender, sum(minor) as minor from (
      select tender, amount_minor as minor from sales
      where created_at >= date_trunc('day', now()) and state in ('completed', 'capturing')
      union all
      select case when ls.payment_method = 'cash' then 'cash' else 'card' end, ls.amount_minor
      from lease_sales ls join orders o on o.id = ls.order_id
      where o.created_at >= date_trunc('day', now())
        and ls.card_status is distinct from 'declined'
    ) s group by 1 order by 1
    """
)


_REFUNDS_BY_TENDER = text(
    """
    select method as tender, sum(amount_minor) as minor from refunds
    where created_at >= date_trunc('day', now()) group by 1 order by 1
    """
)


def refunds_by_tender(conn: Connection) -> dict[str, int]:
    """Today's refunds by tender, counted when recorded (as ``report sales --net``)."""
    if not _exists(conn, "refunds"):
        return {}
    return {str(r.tender): int(r.minor) for r in conn.execute(_REFUNDS_BY_TENDER)}


def revenue_by_tender(conn: Connection) -> dict[str, int]:
    """Today's takings by tender: from the sale saga's rows when the payments part is
    installed, else from the orders' payment references."""
    if _exists(conn, "sales"):
        return {str(r.tender): int(r.minor) for r in conn.execute(_REVENUE_FROM_SALES)}
    return {str(r.tender): int(r.minor) for r in conn.execute(_REVENUE_FROM_ORDERS)}


def terminals(conn: Connection, stale_after_s: float) -> list[TerminalRow]:
    out = []
    for r in conn.execute(_TERMINALS):
        age = float(r.age) if r.age is not None else None
        state = dict(r.state or {})
        stopped = is_stopped(state)
        out.append(TerminalRow(r.name, r.kind, r.last_heartbeat, age, state,
                               not stopped and (age is None or age > stale_after_s),
                               stopped))
    return out


def open_holds(conn: Connection) -> list[OpenHold]:
    return [OpenHold(str(r.id), r.name, r.code, int(r.qty), int(r.total_minor), r.currency,
                     int(r.left_s)) for r in conn.execute(_OPEN_HOLDS)]


_PENDING_VARIANCES = text(
    """
    select s.id, t.name, o.login, s.variance_minor, s.expected_cash_minor,
           s.counted_cash_minor, s.opened_at
    from shifts s join terminals t on t.id = s.terminal_id
    left join operators o on o.id = s.operator_id
    where s.status = 'pending_approval' order by s.opened_at limit 100
    """
)


def pending_approvals(conn: Connection) -> list[Approval]:
    """What waits for a supervisor: counted shifts whose variance is over the limit."""
    if not _exists(conn, "shifts"):
        return []
    return [Approval(str(r.id), "shift_variance", str(r.login or "?"), str(r.name),
                     int(r.variance_minor or 0),
                     {"expected_minor": _int(r.expected_cash_minor),
                      "counted_minor": _int(r.counted_cash_minor)},
                     r.opened_at)
            for r in conn.execute(_PENDING_VARIANCES)]


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


def alerts(terms: list[TerminalRow], approvals: list[Approval] | None = None, *,
           demo: bool = False) -> list[Alert]:
    """Alerts derived from what terminals report and what waits, as codes and figures.
    ``demo``: the database is the demo's, whose terminals use the sandbox gateway.

    A stopped terminal raises nothing (its silence is expected); a silent one raises only
    its silence (what it said last is no longer news)."""
    out = [Alert("variance_waiting", a.terminal,
                 {"login": a.login, "amount_minor": a.amount_minor})
           for a in approvals or () if a.kind == "shift_variance"]
    for t in terms:
        if t.stopped:
            continue
        if t.stale:
            if t.last_heartbeat is not None:
                out.append(Alert("terminal_silent", t.name, {"seconds": int(t.age_s or 0)}))
            continue
        sync = t.state.get("sync") or {}
        if sync.get("online") is False:
            out.append(Alert("selling_offline", t.name,
                             {"queue": int(sync.get("queue_depth") or 0),
                              "oldest_s": int(sync.get("oldest_unsent_s") or 0)}))
        if str(t.state.get("breaker", "")).lower() == "open":
            out.append(Alert("card_down", t.name))
        if t.state.get("gateway") == "sandbox" and not demo:
            out.append(Alert("sandbox_gateway", t.name))
        printer = str(t.state.get("printer", "")).lower()
        if printer in ("offline", "error", "paper_out", "failed"):
            out.append(Alert("printer_down", t.name, {"printer": printer}))
    return out


# Card orders the worker could not reconcile with the gateway (tickets voided), and how
# far behind it is (core.sales.reconcile); payment_checks arrived in migration 0013.
_UNVERIFIED = text(
    """
    select t.name, o.number, c.amount_minor, c.currency, c.reason
    from payment_checks c join orders o on o.id = c.order_id
    join terminals t on t.id = c.terminal_id
    where c.result = 'unverified' and c.checked_at > now() - interval '7 days'
    order by c.checked_at desc limit 20
    """
)
_BEHIND = text(
    """
    select count(*) as n, extract(epoch from now() - min(due_at)) as oldest_s
    from payment_checks where result = 'pending'
      and due_at < now() - make_interval(secs => :after)
    """
)


_PIN_FAILED = text(
    """
    select chain, count(*) as n,
           bool_or(coalesce((payload::jsonb ->> 'lockout')::boolean, false)) as lockout
    from audit_log
    where action = 'pin_failed'
      and at_us >= (extract(epoch from now() - make_interval(secs => :window)) * 1e6)::bigint
    group by chain order by chain
    """
)


def pin_alerts(conn: Connection, window_s: int = 900) -> list[Alert]:
    """``kiosk_pin_failed`` per kiosk whose staff-exit PIN failed in the last
    ``window_s``: someone on the floor may be trying PINs (the database records each
    failure, known login or not, and locks the login after five). Only a login that may
    read the audit log (the monitor's) sees them; another face's snapshot skips them."""
    if not conn.execute(text("select has_table_privilege('audit_log', 'select')")).scalar():
        return []
    return [Alert("kiosk_pin_failed", r.chain, {"count": int(r.n), "lockout": bool(r.lockout)})
            for r in conn.execute(_PIN_FAILED, {"window": window_s})]


def payment_alerts(conn: Connection, behind_after_s: int = 600) -> list[Alert]:
    """``payment_unverified`` per order (its tickets are void: someone may come to the
    counter or a gate with them) and ``reconcile_behind`` when card orders wait
    unchecked longer than ``behind_after_s``."""
    if not _exists(conn, "payment_checks"):
        return []
    out = [Alert("payment_unverified", r.name,
                 {"order": int(r.number), "amount_minor": int(r.amount_minor),
                  "currency": r.currency, "reason": r.reason})
           for r in conn.execute(_UNVERIFIED)]
    behind = conn.execute(_BEHIND, {"after": behind_after_s}).one()
    if behind.n:
        out.append(Alert("reconcile_behind", "", {"count": int(behind.n),
                                                  "seconds": int(behind.oldest_s or 0)}))
    return out


def snapshot(engine: Engine, stale_after_s: float = 15.0, currency: str = "BRL") -> Snapshot:
    """Everything the monitor shows, read in one connection."""
    with engine.connect() as conn:
        spm = sales_per_minute(conn)
        rev = revenue_by_tender(conn)
        refunds = refunds_by_tender(conn)
        terms = terminals(conn, stale_after_s)
        holds = open_holds(conn)
        approvals = pending_approvals(conn)
        now = conn.execute(_NOW).scalar_one()
        paid = payment_alerts(conn) + pin_alerts(conn)
        demo = is_demo_database(conn)
    occ = [Occupancy(e.id, e.code, e.name, e.capacity, e.sold, e.held)
           for e in upcoming_events(engine)]
    return Snapshot(spm, rev, currency, occ, terms, holds, approvals,
                    alerts(terms, approvals, demo=demo) + paid, now, refunds)


# --- lookups for the counter screens -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CompactLayout:
    """A room's seats as parallel arrays in seat-id order (the order of the availability
    string). One row of arrays from PostgreSQL reads about twice as fast as 5,000 rows
    turned into objects, which is most of the time it takes to open a big seat map."""

    seat_ids: tuple[int, ...]
    x: list[int]
    y: list[int]
    number: list[int]
    section_id: list[int]
    row_label: list[str]
    flags: str  # per seat: "0" plain, "1" accessible, "2" companion, "3" both
    section_codes: dict[int, str]

    def __len__(self) -> int:
        return len(self.seat_ids)


_COMPACT_LAYOUT = text(
    """
    select coalesce(array_agg(s.id order by s.id), '{}'),
           coalesce(array_agg(s.x order by s.id), '{}'),
           coalesce(array_agg(s.y order by s.id), '{}'),
           coalesce(array_agg(s.number order by s.id), '{}'),
           coalesce(array_agg(s.section_id order by s.id), '{}'),
           coalesce(array_agg(s.row_label::text order by s.id), '{}'),
           coalesce(string_agg((s.accessible::int + 2 * s.companion::int)::text, ''
                               order by s.id), '')
    from event_seats es join seats s on s.id = es.seat_id where es.event_id = :event_id
    """
)
_SECTION_CODES = text(
    "select sec.id, sec.code from events e join sections sec on sec.venue_id = e.venue_id"
    " where e.id = :event_id"
)


def compact_layout(engine: Engine, event_id: int) -> CompactLayout:
    with engine.connect() as conn:
        r = conn.execute(_COMPACT_LAYOUT, {"event_id": event_id}).one()
        codes = {int(a): str(b) for a, b in conn.execute(_SECTION_CODES,
                                                         {"event_id": event_id})}
    return CompactLayout(tuple(r[0]), list(r[1]), list(r[2]), list(r[3]), list(r[4]),
                         list(r[5]), r[6], codes)


_STAGE = text(
    "select v.stage_label, v.name from events e join venues v on v.id = e.venue_id"
    " where e.id = :event_id"
)


def stage_label(engine: Engine, event_id: int) -> str:
    with engine.connect() as conn:
        row = conn.execute(_STAGE, {"event_id": event_id}).first()
    return row[0] if row else "STAGE"


@dataclass(frozen=True, slots=True)
class OrderSummary:
    order_id: str
    number: int
    event_code: str
    event_name: str
    customer_name: str | None
    status: str
    total_minor: int
    currency: str
    seats: str
    created_at: datetime


_FIND_ORDERS = text(
    """
    select o.id, o.number, e.code, e.name, o.customer_name, o.status, o.total_minor,
           o.currency, o.created_at,
           coalesce(string_agg(coalesce(sec.code || ' ' || s.row_label || s.number::text,
                                        sec.code || ' x' || ol.qty::text), ', '
                               order by ol.id), '') as seats
    from orders o join events e on e.id = o.event_id
    left join order_lines ol on ol.order_id = o.id
    left join sections sec on sec.id = ol.section_id
    left join seats s on s.id = ol.seat_id
    where (cast(:number as bigint) is not null and o.number = cast(:number as bigint))
       or (cast(:oid as text) is not null and o.id::text = cast(:oid as text))
       or (:name <> '' and o.customer_name ilike :name escape '\\')
       or (:serial <> '' and o.id in (select order_id from order_lines
                                       where id::text = :serial))
    group by o.id, e.code, e.name order by o.created_at desc limit 50
    """
)


def _like_literal(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_orders(engine: Engine, query: str) -> list[OrderSummary]:
    """Orders by number, id, customer name (substring) or order-line id. Ticket serials
    and QR tokens are resolved by the tickets module when it is installed (the caller
    passes the order id it finds)."""
    q = query.strip()
    number = int(q) if q.isdigit() and len(q) < 12 else None
    params = {"number": number, "oid": q if len(q) == 36 else None,
              # A typed '%' or '_' is a character, not a wildcard ('%' listed every
              # named order).
              "name": f"%{_like_literal(q)}%" if q and not q.isdigit() else "",
              "serial": q if q.isdigit() else ""}
    with engine.connect() as conn:
        rows = conn.execute(_FIND_ORDERS, params).all()
    return [OrderSummary(str(r.id), int(r.number), r.code, r.name, r.customer_name, r.status,
                         int(r.total_minor), r.currency, r.seats, r.created_at) for r in rows]
