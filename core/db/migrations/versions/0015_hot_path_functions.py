"""hot paths as one call to a database function: best-available hold, check-in, sale steps

Revision ID: 0015
Revises: 0014

Issue 16: on two cores the Python client's CPU, not PostgreSQL, set the pace, and every
round trip costs the client a statement's worth of work. Each hot path is now one call
to a function here, sent as a prepared statement and decoded once.

Authority: these functions are SECURITY INVOKER on purpose. They do nothing a terminal
login could not do with its own grants, row-level security and triggers (0008), which
therefore still apply to every row they write; what is checked by a definer today
(bo_confirm_sale, bo_issue_tickets, audit_link, bo_register_ticket_key) is still called
as that definer from inside them. EXECUTE is revoked from PUBLIC and granted to the
kinds that run each path.

Lock order, as in every hold (onestatement.py): the key's advisory lock, then the rows
(seats by SKIP LOCKED window, the ticket, the sale), then command_log.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FREE = "(es.status = 'available' or (es.status = 'held' and es.hold_expires_at <= now()))"

HOLDS = r"""
create type bo_seat_candidate as (seat_id bigint, section_id integer, row_label text,
                                  num integer, q integer, ord integer);
create type bo_row_free as (section_id integer, row_label text, free integer[]);

-- How many free seats in a row from p_start walking by p_step (allocation.py _free_run).
create function bo_free_run(p_free integer[], p_start integer, p_step integer)
returns integer language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
declare n integer := 0;
begin
  if p_free is null then
    return 0;
  end if;
  while (p_start + n * p_step) = any(p_free) loop
    n := n + 1;
  end loop;
  return n;
end $$;

-- core/reservation/allocation.py choose_block, in SQL: the adjacent block of p_k seats
-- with the best total quality, penalised for leaving one orphan seat (1,000,000) or an
-- odd free remnant (40) beside it; ties go to the row met first, then the lower number.
-- Without a block, the p_k best seats (adjacent = p_k = 1). p_free null: the window's
-- own runs are taken as the row's free seats.
create function bo_choose_block(p_cands bo_seat_candidate[], p_k integer,
                                p_free bo_row_free[], out seat_ids bigint[],
                                out adjacent boolean)
language plpgsql stable set search_path = pg_catalog, public, pg_temp as $$
begin
  seat_ids := '{}';
  adjacent := false;
  if p_k <= 0 or coalesce(cardinality(p_cands), 0) < p_k then
    return;
  end if;
  with c as (
    select x.seat_id, x.section_id, x.row_label, x.num, x.q, x.ord,
           min(x.ord) over (partition by x.section_id, x.row_label) as row_ord,
           x.num - row_number() over (partition by x.section_id, x.row_label
                                      order by x.num)::integer as grp
    from unnest(p_cands) x
  ),
  b as (
    select c.section_id, c.row_label, c.num, c.row_ord,
           array_agg(c.seat_id) over w as ids,
           sum(c.q) over w as qsum,
           max(c.num) over w as last_num
    from c
    window w as (partition by c.section_id, c.row_label, c.grp order by c.num
                 rows between current row and p_k - 1 following)
  ),
  f as (
    select b.*, coalesce(
             (select r.free from unnest(p_free) r
              where r.section_id = b.section_id and r.row_label = b.row_label limit 1),
             case when p_free is null then
               (select array_agg(c2.num) from c c2 where c2.section_id = b.section_id
                  and c2.row_label = b.row_label) end) as free
    from b where cardinality(b.ids) = p_k
  )
  select f.ids into seat_ids from f
  order by f.qsum
           + (select sum(case when r = 1 then 1000000 when r % 2 = 1 then 40 else 0 end)
              from unnest(array[bo_free_run(f.free, f.num - 1, -1),
                                bo_free_run(f.free, f.last_num + 1, 1)]) r),
           f.row_ord, f.num
  limit 1;
  if seat_ids is not null and cardinality(seat_ids) = p_k then
    adjacent := true;
    return;
  end if;
  select array_agg(z.seat_id) into seat_ids
  from (select x.seat_id from unnest(p_cands) x order by x.q, x.ord limit p_k) z;
  adjacent := p_k = 1;
end $$;

-- A best-available hold in one call (core/reservation/holds.py hold_best_available):
-- section by section, best first, a window of free seats locked FOR UPDATE SKIP LOCKED
-- (buyers never queue behind each other), widened while it holds no adjacent block;
-- the first adjacent block wins, else the party sits together in one section, else the
-- best seats across sections. Then the hold, its priced lines, the command's result and
-- the audit link, as the one-statement holds write them.
-- kind: ok | prior (a copy of this key ran first: its stored answer) | short (no seats:
-- the caller says why) | unpriced (a chosen seat's section has no price tier).
create function bo_hold_best(p_key uuid, p_key_lock bigint, p_command text,
                             p_request_hash text, p_event integer, p_quantity integer,
                             p_sections integer[], p_hold uuid, p_ttl integer,
                             p_terminal integer, p_operator integer, p_channel text,
                             p_chain text, p_lock_timeout text)
returns table (kind text, result jsonb, command text, request_hash text)
language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_prior record;
  v_ev record;
  v_sections integer[];
  v_sec integer;
  v_window integer;
  v_cands bo_seat_candidate[];
  v_free bo_row_free[];
  v_all bo_seat_candidate[] := '{}';
  v_fallback bigint[];
  v_ids bigint[];
  v_adj boolean := false;
  v_found boolean := false;
  v_result jsonb;
begin
  perform set_config('lock_timeout', p_lock_timeout, true);
  perform pg_advisory_xact_lock(p_key_lock);
  select cl.command, cl.request_hash, cl.result into v_prior
    from command_log cl where cl.key = p_key;
  if found then
    return query select 'prior'::text, v_prior.result, v_prior.command::text,
                        v_prior.request_hash::text;
    return;
  end if;
  select ev.id, ev.currency,
         coalesce(case when p_channel = 'kiosk' then ev.kiosk_hold_s
                       else ev.counter_hold_s end, p_ttl) as ttl
    into v_ev from events ev
    where ev.id = p_event and ev.status = 'on_sale' and now() >= ev.sales_start
      and now() < ev.sales_end;
  if not found then
    return query select 'short'::text, null::jsonb, null::text, null::text;
    return;
  end if;
  select array_agg(s.id order by s.sort_order, s.id) into v_sections
    from sections s join events e on e.venue_id = s.venue_id
    where e.id = p_event and s.kind = 'seated';
  if p_sections is not null then
    -- The caller's sections, best first in the room's own order.
    v_sections := array(select u.x from unnest(v_sections) with ordinality u(x, i)
                        where u.x = any(p_sections) order by u.i)
                  || array(select u.x from unnest(p_sections) with ordinality u(x, i)
                           where not u.x = any(coalesce(v_sections, '{}')) order by u.i);
  end if;
  foreach v_sec in array coalesce(v_sections, '{}') loop
    v_window := greatest(16, p_quantity * 8);
    loop
      select array_agg(row(z.seat_id, z.section_id, z.row_label, z.seat_number,
                           z.quality_rank, z.rn)::bo_seat_candidate order by z.rn)
        into v_cands
      from (select w.*, row_number() over (order by w.quality_rank, w.seat_id)::integer as rn
            from (select es.seat_id, es.section_id, es.row_label::text as row_label,
                         es.seat_number, es.quality_rank
                  from event_seats es
                  where es.event_id = p_event and es.section_id = v_sec and """ + FREE + r"""
                  order by es.quality_rank, es.seat_id
                  limit v_window
                  for update of es skip locked) w) z;
      select array_agg(row(r.section_id, r.row_label,
                           (select array_agg(es.seat_number) from event_seats es
                            where es.event_id = p_event and es.section_id = r.section_id
                              and es.row_label = r.row_label and """ + FREE + r"""))::bo_row_free)
        into v_free
      from (select distinct c.section_id, c.row_label from unnest(v_cands) c) r;
      select b.seat_ids, b.adjacent into v_ids, v_adj
        from bo_choose_block(v_cands, p_quantity, coalesce(v_free, '{}')) b;
      exit when (v_adj and cardinality(v_ids) > 0)
                or coalesce(cardinality(v_cands), 0) < v_window or v_window >= 1024;
      v_window := v_window * 4;
    end loop;
    if v_adj and cardinality(v_ids) > 0 then
      v_found := true;
      exit;
    end if;
    if cardinality(v_ids) > 0 and v_fallback is null then
      v_fallback := v_ids;
    end if;
    v_all := v_all || coalesce(v_cands, '{}');
  end loop;
  if not v_found then
    if v_fallback is not null then
      v_ids := v_fallback;
      v_adj := p_quantity = 1;
    else
      -- Every section had fewer than p_quantity free seats: the best across them.
      select array_agg(z.seat_id), false into v_ids, v_adj
        from (select u.seat_id from unnest(v_all) with ordinality
                u(seat_id, section_id, row_label, num, q, ord, i)
              order by u.q, u.i limit p_quantity) z;
      if coalesce(cardinality(v_ids), 0) < p_quantity then
        return query select 'short'::text, null::jsonb, null::text, null::text;
        return;
      end if;
    end if;
  end if;
  select array_agg(x order by x) into v_ids from unnest(v_ids) x;
  if (select count(*) from event_seats es
      join price_tiers pt on pt.event_id = p_event and pt.section_id = es.section_id
      where es.event_id = p_event and es.seat_id = any(v_ids)) <> p_quantity then
    return query select 'unpriced'::text, to_jsonb(v_ids), null::text, null::text;
    return;
  end if;
  with claimed as (
    update event_seats es
    set status = 'held', hold_id = p_hold,
        hold_expires_at = now() + make_interval(secs => v_ev.ttl), version = es.version + 1
    where es.event_id = p_event and es.seat_id = any(v_ids) and """ + FREE + r"""
    returning es.seat_id, es.section_id
  ),
  priced as (
    select c.seat_id, c.section_id, pt.id as tier_id, pt.current_minor
    from claimed c join price_tiers pt on pt.event_id = p_event and pt.section_id = c.section_id
  ),
  h as (
    insert into holds (id, event_id, terminal_id, operator_id, channel, status, expires_at,
                       extensions, total_minor, currency)
    select p_hold, p_event, p_terminal, p_operator, p_channel, 'active',
           now() + make_interval(secs => v_ev.ttl), 0, p.total, v_ev.currency
    from (select count(*) as n, sum(current_minor) as total from priced) p
    where p.n = p_quantity
    returning id, expires_at, total_minor, currency
  ),
  items as (
    insert into hold_items (hold_id, event_id, section_id, seat_id, qty, unit_price_minor,
                            tier_id)
    select p_hold, p_event, p.section_id, p.seat_id, 1, p.current_minor, p.tier_id
    from priced p where exists (select 1 from h)
  ),
  lines as (
    select p.section_id, p.seat_id, 1 as qty, p.current_minor, p.tier_id
    from priced p where exists (select 1 from h)
  ),
  res as (
    select jsonb_build_object(
             'hold_id', h.id, 'event_id', p_event,
             'expires_at', h.expires_at, 'total_minor', h.total_minor,
             'currency', h.currency, 'adjacent', v_adj,
             'lines', (select jsonb_agg(jsonb_build_object(
                         'section_id', l.section_id, 'seat_id', l.seat_id, 'qty', l.qty,
                         'unit_price_minor', l.current_minor, 'tier_id', l.tier_id)
                       order by l.seat_id nulls last) from lines l)) as result,
           jsonb_build_object(
             'terminal', p_chain, 'operator', p_operator,
             'entity', 'hold', 'id', h.id::text,
             'data', jsonb_build_object(
               'event_id', p_event,
               'seats', coalesce((select jsonb_agg(l.seat_id order by l.seat_id)
                                  from lines l where l.seat_id is not null), '[]'::jsonb),
               'qty', (select sum(l.qty) from lines l), 'total_minor', h.total_minor,
               'currency', h.currency))::text as payload
    from h
  ),
  cmd as (
    insert into command_log (key, command, request_hash, terminal_id, result)
    select p_key, p_command, p_request_hash, p_terminal, res.result from res
  ),
  al as (select audit_link(p_chain, p_command, res.payload) as seq from res)
  select res.result into v_result from res, al;
  if v_result is null then
    -- Not reachable while the window's rows stay locked; if it were, nothing of this
    -- call may stay: a serialization failure rolls it back and the caller retries.
    raise exception 'seat_unavailable' using errcode = '40001';
  end if;
  return query select 'ok'::text, v_result, null::text, null::text;
end $$;
"""

HOLD_FUNCTIONS = ("bo_free_run(integer[], integer, integer)",
                  "bo_choose_block(bo_seat_candidate[], integer, bo_row_free[])",
                  "bo_hold_best(uuid, bigint, text, text, integer, integer, integer[], uuid,"
                  " integer, integer, integer, text, text, text)")
SELLERS = "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker"


def upgrade() -> None:
    op.execute(HOLDS)
    for fn in HOLD_FUNCTIONS:
        op.execute(f"revoke execute on function {fn} from public")
        op.execute(f"grant execute on function {fn} to {SELLERS}")


def downgrade() -> None:
    op.execute("""
        drop function if exists bo_hold_best(uuid, bigint, text, text, integer, integer,
                                             integer[], uuid, integer, integer, integer, text,
                                             text, text);
        drop function if exists bo_choose_block(bo_seat_candidate[], integer, bo_row_free[]);
        drop function if exists bo_free_run(integer[], integer, integer);
        drop type if exists bo_row_free;
        drop type if exists bo_seat_candidate;
    """)
