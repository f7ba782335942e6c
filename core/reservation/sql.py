"""The reservation statements, built once at import (building per call halved throughput).

Locking rules (ARCHITECTURE.md): seat rows are always locked in (event_id, seat_id)
order, so two transactions can never wait on each other in a cycle; best-available
uses SKIP LOCKED so buyers never queue behind each other; GA is one conditional UPDATE.
An expired hold counts as available everywhere, so a stopped sweeper never blocks sales.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

FREE = "(es.status = 'available' or (es.status = 'held' and es.hold_expires_at <= now()))"
ON_SALE = ("ev.status = 'on_sale' and now() >= ev.sales_start and now() < ev.sales_end")
# How long a hold of this event lasts: the event's own lifetime for the channel when the
# back office set one, else the terminal's setting (:ttl). Read from the event row the
# hold statement reads anyway, so it costs no round trip.
HOLD_TTL = ("coalesce(case when :channel = 'kiosk' then ev.kiosk_hold_s"
            " else ev.counter_hold_s end, :ttl)")

# Copies of one command (same key, a double click) queue on an advisory lock on the key,
# so the second sees the first's result instead of locking a window of its own.
PICK_WINDOW = text(
    f"""
    with k as (select pg_advisory_xact_lock(:key_lock) as v),
    w as (
      select es.seat_id, es.section_id, es.row_label, es.seat_number, es.quality_rank
      from event_seats es
      where es.event_id = :event_id and es.section_id = :section_id and {FREE}
        and exists (select 1 from events ev where ev.id = :event_id and {ON_SALE})
        and exists (select 1 from k)
      order by es.quality_rank, es.seat_id
      limit :window
      for update of es skip locked
    )
    select w.seat_id, w.section_id, w.row_label, w.seat_number, w.quality_rank,
           null::integer[] as free_row
    from w
    union all
    select null, r.section_id, r.row_label, null, null,
           (select array_agg(es.seat_number) from event_seats es
            where es.event_id = :event_id and es.section_id = r.section_id
              and es.row_label = r.row_label and {FREE})
    from (select distinct section_id, row_label from w) r
    """
)

SEATED_SECTIONS = text(
    """
    select s.id from sections s join events e on e.venue_id = s.venue_id
    where e.id = :event_id and s.kind = 'seated' order by s.sort_order, s.id
    """
)

# The GA claim, shared by the one-statement hold and the slow path that reclaims expired
# places first: one conditional UPDATE of the section counter, the hold, its one line.
GA_CLAIM_CTES = """
    g as (
      update ga_inventory gi set held = gi.held + :n, version = gi.version + 1
      from ev
      where gi.event_id = :event_id and gi.section_id = :section_id
        and gi.held + gi.sold + gi.leased + :n <= gi.capacity
      returning gi.section_id
    ),
    pt as (
      select id, current_minor from price_tiers
      where event_id = :event_id and section_id = :section_id
    ),
    h as (
      insert into holds (id, event_id, terminal_id, operator_id, channel, status, expires_at,
                         extensions, total_minor, currency)
      select :hold_id, :event_id, :terminal_id, :operator_id, :channel, 'active',
             now() + make_interval(secs => ev.ttl), 0, pt.current_minor * :n, ev.currency
      from g, pt, ev
      returning id, expires_at, total_minor, currency
    ),
    items as (
      insert into hold_items (hold_id, event_id, section_id, seat_id, qty, unit_price_minor,
                              tier_id)
      select :hold_id, :event_id, :section_id, null, :n, pt.current_minor, pt.id
      from pt where exists (select 1 from h)
    ),
    lines as (
      select cast(:section_id as integer) as section_id, null::bigint as seat_id, :n as qty,
             pt.current_minor, pt.id as tier_id
      from pt where exists (select 1 from h)
    )"""

CLAIM_GA = text(
    f"""
    with ev as (
      select ev.id, ev.currency, {HOLD_TTL} as ttl from events ev
      where ev.id = :event_id and {ON_SALE}
    ),
    {GA_CLAIM_CTES}
    select pt.id as tier_id, pt.current_minor, h.expires_at, h.total_minor, h.currency
    from pt, h
    """
)

LOCK_HOLD = text(
    """
    select id, event_id, terminal_id, status, expires_at, extensions, total_minor, currency,
           expires_at <= now() as expired, created_at
    from holds where id = :hold_id for update
    """
)

# Seats still held by this hold, locked in seat order.
LOCK_HOLD_SEATS = text(
    """
    select es.seat_id from event_seats es
    join hold_items hi on hi.event_id = es.event_id and hi.seat_id = es.seat_id
    where hi.hold_id = :hold_id and es.hold_id = :hold_id and es.status = 'held'
    order by es.event_id, es.seat_id
    for update of es
    """
)

FREE_SEATS = text(
    """
    update event_seats es
    set status = 'available', hold_id = null, hold_expires_at = null, version = es.version + 1
    where es.event_id = :event_id and es.seat_id = any(:seat_ids) and es.hold_id = :hold_id
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

GA_UNHOLD = text(
    """
    update ga_inventory gi set held = gi.held - x.qty, version = gi.version + 1
    from (select event_id, section_id, sum(qty) as qty from hold_items
          where hold_id = :hold_id and seat_id is null group by event_id, section_id) x
    where gi.event_id = x.event_id and gi.section_id = x.section_id
    """
)

END_HOLD = text(
    "update holds set status = :status, ended_at = now() where id = :hold_id"
)

HOLD_ITEMS = text(
    "select section_id, seat_id, qty, unit_price_minor, tier_id from hold_items"
    " where hold_id = :hold_id order by seat_id nulls last, id"
)

EXTEND_HOLD = text(
    """
    with h as (
      update holds set expires_at = expires_at + make_interval(secs => :secs),
                       extensions = extensions + 1
      where id = :hold_id returning expires_at, extensions
    ),
    s as (
      update event_seats es set hold_expires_at = h.expires_at, version = es.version + 1
      from h where es.event_id = :event_id and es.seat_id = any(:seat_ids)
        and es.hold_id = :hold_id
    )
    select expires_at, extensions from h
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

EXPIRED_HOLDS = text(
    """
    select id, event_id from holds
    where status = 'active' and expires_at <= now()
      and (cast(:event_id as integer) is null or event_id = :event_id)
    order by expires_at
    limit :batch
    for update skip locked
    """
)

SELL_SEATS = text(
    """
    update event_seats es
    set status = 'sold', order_id = :order_id, hold_id = null, hold_expires_at = null,
        version = es.version + 1
    where es.event_id = :event_id and es.seat_id = any(:seat_ids) and es.hold_id = :hold_id
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

GA_SELL = text(
    """
    update ga_inventory gi set held = gi.held - x.qty, sold = gi.sold + x.qty,
                               version = gi.version + 1
    from (select event_id, section_id, sum(qty) as qty from hold_items
          where hold_id = :hold_id and seat_id is null group by event_id, section_id) x
    where gi.event_id = x.event_id and gi.section_id = x.section_id
    """
)

INSERT_ORDER = text(
    """
    with o as (
      insert into orders (id, event_id, hold_id, terminal_id, operator_id, shift_id, status,
                          total_minor, currency, payment_ref, customer_name)
      values (:order_id, :event_id, :hold_id, :terminal_id, :operator_id, :shift_id, 'paid',
              :total_minor, :currency, :payment_ref, :customer_name)
      returning id, number
    ),
    l as (
      insert into order_lines (order_id, event_id, section_id, seat_id, qty, unit_price_minor,
                               tier_id, status)
      select :order_id, hi.event_id, hi.section_id, hi.seat_id, hi.qty, hi.unit_price_minor,
             hi.tier_id, 'sold'
      from hold_items hi where hi.hold_id = :hold_id
      returning id, section_id, seat_id, qty, unit_price_minor, tier_id
    )
    select o.number, l.id, l.section_id, l.seat_id, l.qty, l.unit_price_minor, l.tier_id
    from o, l order by l.seat_id nulls last, l.id
    """
)

AVAILABILITY = text(
    """
    select coalesce(string_agg(
             case when es.status = 'held' and es.hold_expires_at <= now() then 'A'
                  else upper(left(es.status, 1)) end,
             '' order by es.seat_id), '') as states,
           coalesce(array_agg(es.seat_id order by es.seat_id), '{}') as seat_ids,
           now() as as_of,
           (select min(h.expires_at) from holds h where h.event_id = :event_id
              and h.status = 'active' and h.expires_at > now()) as next_expiry
    from event_seats es where es.event_id = :event_id
    """
)

GA_COUNTS = text(
    """
    select gi.section_id, gi.capacity, gi.held - coalesce(x.expired, 0) as held, gi.sold,
           gi.leased
    from ga_inventory gi
    left join (select hi.section_id, sum(hi.qty) as expired from holds h
               join hold_items hi on hi.hold_id = h.id and hi.seat_id is null
               where h.event_id = :event_id and h.status = 'active' and h.expires_at <= now()
               group by hi.section_id) x on x.section_id = gi.section_id
    where gi.event_id = :event_id order by gi.section_id
    """
)

EVENT_STATE = text(
    """
    select id, status, now() < sales_start as not_yet, now() >= sales_end as ended
    from events where id = :event_id
    """
)
