"""Holds in one statement: idempotency check, seat lock, hold, prices, command result and
the audit link, all in a single round trip.

Why: on this 2-core machine the client's round trips, not PostgreSQL, limited holds per
second (profiled: most of a hold's time was waiting on six round trips). A chosen-seat or
GA hold now runs as one autocommit statement (atomic by itself); best available is one
autocommit call of ``bo_hold_best`` (migration 0015), which locks its window, allocates
and writes the same rows in the database. The audit row is linked by the database's
``audit_link()`` like every other entry, so ``audit verify`` checks these rows too.
"""

from __future__ import annotations

import re

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from core.reservation.sql import FREE, GA_CLAIM_CTES, HOLD_TTL, ON_SALE

# Lock order, the same in every hold: first the advisory lock on the key (copies of one
# command, a double click, queue there and run one after the other), then the seat rows
# or the GA counter, then the command_log key. The GA slow path takes the same advisory
# lock first, so a copy on the fast path never holds the counter while waiting for a
# copy on the slow path that holds the key (the deadlock of issue 13, item 1).
_PRIOR_AND_EVENT = f"""
    cfg as (select set_config('lock_timeout', :lock_timeout, true) as v,
                   pg_advisory_xact_lock(:key_lock) as copies),
    prior as (select command, request_hash, result from command_log where key = :key),
    ev as (
      select ev.id, ev.currency, {HOLD_TTL} as ttl from events ev, cfg
      where ev.id = :event_id and {ON_SALE} and not exists (select 1 from prior)
    )"""

_SEAT_CLAIM = f"""
    locked as (
      select es.seat_id from event_seats es, ev
      where es.event_id = :event_id and es.seat_id = any(:seat_ids) and {FREE}
      order by es.seat_id
      for update of es
    ),
    claimed as (
      update event_seats es
      set status = 'held', hold_id = :hold_id,
          hold_expires_at = now() + make_interval(secs => (select ttl from ev)),
          version = es.version + 1
      from locked
      where es.event_id = :event_id and es.seat_id = locked.seat_id
        and (select count(*) from locked) = :n
      returning es.seat_id, es.section_id
    ),
    priced as (
      select c.seat_id, c.section_id, pt.id as tier_id, pt.current_minor
      from claimed c join price_tiers pt on pt.event_id = :event_id and pt.section_id = c.section_id
    ),
    h as (
      insert into holds (id, event_id, terminal_id, operator_id, channel, status, expires_at,
                         extensions, total_minor, currency)
      select :hold_id, :event_id, :terminal_id, :operator_id, :channel, 'active',
             now() + make_interval(secs => ev.ttl), 0, (select sum(current_minor) from priced),
             ev.currency
      from ev where (select count(*) from priced) = :n
      returning id, expires_at, total_minor, currency
    ),
    items as (
      insert into hold_items (hold_id, event_id, section_id, seat_id, qty, unit_price_minor,
                              tier_id)
      select :hold_id, :event_id, p.section_id, p.seat_id, 1, p.current_minor, p.tier_id
      from priced p where exists (select 1 from h)
    ),
    lines as (
      select p.section_id, p.seat_id, 1 as qty, p.current_minor, p.tier_id
      from priced p where exists (select 1 from h)
    )"""

_GA_CLAIM = GA_CLAIM_CTES

# The result (the same JSON HoldResult.to_json writes), the command log row and the audit
# link. The audit payload is jsonb text: stored verbatim, so verification rehashes the
# very bytes that were hashed here.
_TAIL = """
    res as (
      select jsonb_build_object(
               'hold_id', h.id, 'event_id', cast(:event_id as integer),
               'expires_at', h.expires_at, 'total_minor', h.total_minor,
               'currency', h.currency, 'adjacent', cast(:adjacent as boolean),
               'lines', (select jsonb_agg(jsonb_build_object(
                           'section_id', l.section_id, 'seat_id', l.seat_id, 'qty', l.qty,
                           'unit_price_minor', l.current_minor, 'tier_id', l.tier_id)
                         order by l.seat_id nulls last) from lines l)) as result,
             jsonb_build_object(
               'terminal', cast(:chain as text), 'operator', cast(:operator_id as integer),
               'entity', 'hold', 'id', h.id::text,
               'data', jsonb_build_object(
                 'event_id', cast(:event_id as integer),
                 'seats', coalesce((select jsonb_agg(l.seat_id order by l.seat_id)
                                    from lines l where l.seat_id is not null), '[]'::jsonb),
                 'qty', (select sum(l.qty) from lines l), 'total_minor', h.total_minor,
                 'currency', h.currency))::text as payload
      from h
    ),
    cmd as (
      insert into command_log (key, command, request_hash, terminal_id, result)
      select :key, :command, :request_hash, :terminal_id, res.result from res
    ),
    al as (select audit_link(:chain, :action, res.payload) as seq from res)"""

# Nothing claimed, yet the event is on sale and every seat is in it: lost to another
# buyer. Which seats are taken (before this statement began, so not by a copy of this
# key in flight) is said in this same round trip, and the refusal is stored under the
# key here too (core.idempotency.failure_result's JSON), so a losing buyer, the common
# answer on hot seats, costs one round trip instead of four.
_SEAT_BUSY = f"""
    busy as (
      select array(select es.seat_id from event_seats es
                   where es.event_id = :event_id and es.seat_id = any(:seat_ids)
                     and not {FREE} order by es.seat_id) as ids
      where not exists (select 1 from h) and exists (select 1 from ev)
        and (select count(*) from event_seats es
             where es.event_id = :event_id and es.seat_id = any(:seat_ids)) = :n
    ),
    refused as (
      insert into command_log (key, command, request_hash, terminal_id, result)
      select :key, :command, :request_hash, :terminal_id,
             jsonb_build_object('refused', jsonb_build_object(
               'code', 'seat_unavailable',
               'details', jsonb_build_object('seat_ids', to_jsonb(b.ids))))
      from busy b where cardinality(b.ids) > 0 returning 1
    )"""

_SEAT_OUTCOME = """
    select 'ok' as kind, res.result, null::bigint[] as busy, null::varchar as command,
           null::varchar as request_hash, false as stored
    from res, al
    union all
    select 'prior', p.result, null, p.command, p.request_hash, false from prior p
    union all
    select 'busy', null, b.ids, null, null, exists (select 1 from refused) from busy b
    """

_GA_OUTCOME = """
    select 'ok' as kind, res.result, null::bigint[] as busy, null::varchar as command,
           null::varchar as request_hash
    from res, al
    union all
    select 'prior', p.result, null, p.command, p.request_hash from prior p
    """

def compact(sql_text: str) -> str:
    """Drop comments and fold whitespace (none kept beside parentheses, commas and "=":
    no string literal here holds one): psycopg caches its parse of a query only up to
    4 KiB (tests/perf guards it), and re-parsing these statements cost about half a
    millisecond per hold."""
    folded = " ".join(re.sub(r"--[^\n]*", "", sql_text).split())
    return re.sub(r" ?([(),=]) ?", r"\1", folded)


HOLD_SEATS_ONE = text(
    compact("with" + _PRIOR_AND_EVENT + "," + _SEAT_CLAIM + "," + _TAIL + "," + _SEAT_BUSY
            + _SEAT_OUTCOME)
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

HOLD_GA_ONE = text(compact("with" + _PRIOR_AND_EVENT + "," + _GA_CLAIM + "," + _TAIL
                           + _GA_OUTCOME))

# A best-available hold: one call of the database function (migration 0015), which
# picks the seats under the key's advisory lock and writes what HOLD_SEATS_ONE writes.
HOLD_BEST = text(
    "select kind, result, command, request_hash from bo_hold_best(:key, :key_lock,"
    " 'hold_best', :request_hash, :event_id, :quantity, cast(:sections as integer[]),"
    " :hold_id, :ttl, :terminal_id, :operator_id, :channel, :chain, :lock_timeout)"
)

PRIOR = text("select command, request_hash, result from command_log where key = :key")
