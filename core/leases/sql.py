"""Lease statements, built once at import.

Locking (ARCHITECTURE.md): a lease row is locked before its seats; seat rows are locked
in (event_id, seat_id) order with the transaction's short lock timeout, or picked with
SKIP LOCKED so a lease never queues behind buyers.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from core.reservation.sql import FREE, ON_SALE

_PRICED_INSERT = """
    priced as (
      select c.seat_id, c.section_id, c.row_label, c.seat_number, pt.id as tier_id,
             pt.current_minor
      from claimed c join price_tiers pt on pt.event_id = :event_id
        and pt.section_id = c.section_id
    ),
    ls as (
      insert into lease_seats (lease_id, event_id, seat_id, section_id, unit_price_minor,
                               tier_id)
      select :lease_id, :event_id, p.seat_id, p.section_id, p.current_minor, p.tier_id
      from priced p
    )
    select p.seat_id, p.section_id, p.row_label, p.seat_number, p.tier_id, p.current_minor
    from priced p order by p.seat_id
"""

# Chosen seats: all or nothing, locked in seat order. Expired holds count as free.
LEASE_CHOSEN = text(
    f"""
    with ev as (select ev.id from events ev where ev.id = :event_id and {ON_SALE}),
    locked as (
      select es.seat_id from event_seats es, ev
      where es.event_id = :event_id and es.seat_id = any(:seat_ids) and {FREE}
      order by es.seat_id
      for update of es
    ),
    claimed as (
      update event_seats es
      set status = 'leased', lease_id = :lease_id, hold_id = null, hold_expires_at = null,
          version = es.version + 1
      from locked
      where es.event_id = :event_id and es.seat_id = locked.seat_id
        and (select count(*) from locked) = :n
      returning es.seat_id, es.section_id, es.row_label, es.seat_number
    ),
    {_PRICED_INSERT}
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

# A quantity in a section: the best free seats nobody is looking at (SKIP LOCKED).
LEASE_BEST = text(
    f"""
    with ev as (select ev.id from events ev where ev.id = :event_id and {ON_SALE}),
    picked as (
      select es.seat_id from event_seats es, ev
      where es.event_id = :event_id and es.section_id = :section_id and {FREE}
      order by es.quality_rank, es.seat_id
      limit :n
      for update of es skip locked
    ),
    claimed as (
      update event_seats es
      set status = 'leased', lease_id = :lease_id, hold_id = null, hold_expires_at = null,
          version = es.version + 1
      from picked
      where es.event_id = :event_id and es.seat_id = picked.seat_id
        and (select count(*) from picked) = :n
      returning es.seat_id, es.section_id, es.row_label, es.seat_number
    ),
    {_PRICED_INSERT}
    """
)

LEASE_GA = text(
    f"""
    with ev as (select ev.id from events ev where ev.id = :event_id and {ON_SALE}),
    g as (
      update ga_inventory gi set leased = gi.leased + :n, version = gi.version + 1
      from ev
      where gi.event_id = :event_id and gi.section_id = :section_id
        and gi.held + gi.sold + gi.leased + :n <= gi.capacity
      returning gi.section_id
    )
    select pt.id as tier_id, pt.current_minor from g
    join price_tiers pt on pt.event_id = :event_id and pt.section_id = g.section_id
    """
)

INSERT_LEASE = text(
    """
    insert into leases (id, terminal_id, event_id, kind, section_id, ga_quota, ga_sold,
                        ga_unit_price_minor, ga_tier_id, currency, status, operator_id,
                        returned_units, serials, order_numbers)
    select :lease_id, :terminal_id, :event_id, :kind, :section_id, :ga_quota, 0,
           :ga_price, :ga_tier, e.currency, 'active', :operator_id, 0, '{}'::bigint[],
           '{}'::bigint[]
    from events e where e.id = :event_id
    returning created_at, currency
    """
)

# One ticket serial per leased unit, from the tickets' own sequence.
RESERVE_SERIALS = text(
    """
    update leases set
      serials = (select array_agg(nextval('ticket_serial_seq') order by g)
                 from generate_series(1, :n) g),
      order_numbers = (select array_agg(nextval(pg_get_serial_sequence('orders', 'number'))
                                        order by g) from generate_series(1, :n) g)
    where id = :lease_id returning serials, order_numbers
    """
)

SET_GA_PRICE = text(
    "update leases set ga_unit_price_minor = :price, ga_tier_id = :tier where id = :lease_id"
)

LOCK_LEASE = text(
    """
    select l.id, l.terminal_id, l.event_id, l.kind, l.section_id, l.ga_quota, l.ga_sold,
           l.ga_unit_price_minor, l.ga_tier_id, l.currency, l.status, l.created_at,
           l.serials, l.order_numbers, e.status as event_status
    from leases l join events e on e.id = l.event_id
    where l.id = :lease_id
    for update of l
    """
)

LEASE_SEATS = text(
    """
    select ls.seat_id, ls.section_id, es.row_label, es.seat_number, ls.unit_price_minor,
           ls.tier_id, es.status, es.lease_id = ls.lease_id as ours
    from lease_seats ls
    join event_seats es on es.event_id = ls.event_id and es.seat_id = ls.seat_id
    where ls.lease_id = :lease_id order by ls.seat_id
    """
)

# Give back what is still leased (not sold), in seat order.
RETURN_SEATS = text(
    """
    with locked as (
      select es.seat_id from event_seats es
      join lease_seats ls on ls.event_id = es.event_id and ls.seat_id = es.seat_id
      where ls.lease_id = :lease_id and es.lease_id = :lease_id and es.status = 'leased'
      order by es.event_id, es.seat_id
      for update of es
    )
    update event_seats es set status = 'available', lease_id = null, version = es.version + 1
    from locked where es.event_id = :event_id and es.seat_id = locked.seat_id
    returning es.seat_id
    """
)

RETURN_GA = text(
    """
    update ga_inventory set leased = leased - :n, version = version + 1
    where event_id = :event_id and section_id = :section_id
    """
)

END_LEASE = text(
    "update leases set status = :status, ended_at = now(), returned_units = :n"
    " where id = :lease_id"
)

ACTIVE_LEASES = text(
    "select id from leases where terminal_id = :terminal_id and status = 'active'"
    " order by created_at, id"
)

# The sale of leased seats: only seats still leased to this lease become sold (all or
# none), locked in seat order; returns each sold seat with the price quoted at lease time.
SELL_LEASED = text(
    """
    with locked as (
      select es.seat_id from event_seats es
      where es.event_id = :event_id and es.seat_id = any(:seat_ids)
        and es.status = 'leased' and es.lease_id = :lease_id
      order by es.seat_id
      for update of es
    ),
    sold as (
      update event_seats es set status = 'sold', order_id = :order_id, version = es.version + 1
      from locked
      where es.event_id = :event_id and es.seat_id = locked.seat_id
        and (select count(*) from locked) = :n
      returning es.seat_id
    )
    select ls.seat_id, ls.section_id, ls.unit_price_minor, ls.tier_id
    from sold join lease_seats ls on ls.lease_id = :lease_id and ls.seat_id = sold.seat_id
    order by ls.seat_id
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

SELL_GA_LEASE = text(
    """
    with l as (
      update leases set ga_sold = ga_sold + :n
      where id = :lease_id and ga_sold + :n <= ga_quota returning event_id, section_id
    )
    update ga_inventory gi set leased = gi.leased - :n, sold = gi.sold + :n,
                               version = gi.version + 1
    from l where gi.event_id = l.event_id and gi.section_id = l.section_id
    returning gi.section_id
    """
)

# Everything a leased sale writes, in one statement (one round trip instead of five):
# a confirmed hold with its items (orders reference a hold), the order, its lines, and
# the lease_sales row. Foreign keys are checked at the end of the statement.
WRITE_SALE = text(
    """
    with items as (
      select * from unnest(cast(:sec as integer[]), cast(:seat as bigint[]),
                           cast(:qty as integer[]), cast(:price as bigint[]),
                           cast(:tier as integer[]))
        as t(section_id, seat_id, qty, price, tier_id)
    ),
    h as (
      insert into holds (id, event_id, terminal_id, operator_id, channel, status, expires_at,
                         extensions, total_minor, currency, ended_at)
      values (:hold_id, :event_id, :terminal_id, :operator_id, 'counter', 'confirmed', now(),
              0, :total_minor, :currency, now())
      returning id
    ),
    hi as (
      insert into hold_items (hold_id, event_id, section_id, seat_id, qty, unit_price_minor,
                              tier_id)
      select h.id, :event_id, i.section_id, i.seat_id, i.qty, i.price, i.tier_id from items i, h
    ),
    o as (
      insert into orders (id, number, event_id, hold_id, terminal_id, operator_id, shift_id,
                          status, total_minor, currency, payment_ref, customer_name,
                          created_at)
      values (:order_id, coalesce(cast(:number as bigint),
                                  nextval(pg_get_serial_sequence('orders', 'number'))),
              :event_id, :hold_id, :terminal_id, :operator_id, :shift_id,
              'paid', :total_minor, :currency, :payment_ref, :customer_name,
              -- When it was sold (the terminal's clock), never later than the replay.
              least(coalesce(cast(:sold_ts as timestamptz), now()), now()))
      returning id, number
    ),
    l as (
      insert into order_lines (order_id, event_id, section_id, seat_id, qty, unit_price_minor,
                               tier_id, status)
      select :order_id, :event_id, i.section_id, i.seat_id, i.qty, i.price, i.tier_id, 'sold'
      from items i
      returning id, section_id, seat_id, qty, unit_price_minor, tier_id
    ),
    ls as (
      insert into lease_sales (order_id, lease_id, terminal_id, command_key, payment_method,
                               amount_minor, currency, card_status, card_ref, sold_at_terminal)
      values (:order_id, :lease_id, :terminal_id, :key, :method, :total_minor, :currency,
              :card_status, :card_ref, :sold_at)
    )
    select o.number, l.id, l.section_id, l.seat_id, l.qty, l.unit_price_minor, l.tier_id
    from o, l order by l.seat_id nulls last, l.id
    """
)

LOCK_LEASE_SALE = text(
    """
    select ls.order_id, ls.lease_id, ls.terminal_id, ls.payment_method, ls.card_status,
           ls.flag, o.event_id
    from lease_sales ls join orders o on o.id = ls.order_id
    where ls.order_id = :order_id for update of ls
    """
)

SET_CARD_STATUS = text(
    "update lease_sales set card_status = :status, card_ref = coalesce(:ref, card_ref),"
    " flag = coalesce(:flag, flag) where order_id = :order_id"
)

INSERT_CONFLICT = text(
    """
    insert into sync_conflicts (terminal_id, command_key, command, payload, error_code, error)
    values (:terminal_id, :key, :command, cast(:payload as jsonb), :code, cast(:error as jsonb))
    on conflict (command_key) do nothing
    """
)
