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

-- core/reservation/allocation.py choose_block, in SQL: the adjacent block of p_k seats
-- with the best total quality, penalised for leaving one orphan seat (1,000,000) or an
-- odd free remnant (40) beside it; ties go to the row met first, then the lower number.
-- Without a block, the p_k best seats (adjacent = p_k = 1). p_free null: the window's
-- own runs are taken as the row's free seats.
create function bo_choose_block(p_cands bo_seat_candidate[], p_k integer,
                                p_free bo_row_free[], out seat_ids bigint[],
                                out adjacent boolean)
language plpgsql stable set search_path = pg_catalog, public, pg_temp as $$
declare
  ids bigint[]; rids integer[]; secs integer[]; rowls text[]; nums integer[];
  qs integer[]; n integer; i integer; j integer; ok boolean; score bigint; best bigint;
  free integer[]; fr bo_row_free; rem integer;
begin
  seat_ids := '{}';
  adjacent := false;
  n := coalesce(cardinality(p_cands), 0);
  if p_k <= 0 or n < p_k then
    return;
  end if;
  -- Rows in the order they first appear among the candidates (best first), seats by
  -- number: the order allocation.py walks them in, so ties go the same way.
  -- A row is a number here (text arrays are slow to index in a loop).
  select array_agg(x.seat_id order by x.row_ord, x.num), array_agg(x.row_ord order by
           x.row_ord, x.num), array_agg(x.section_id order by x.row_ord, x.num),
         array_agg(x.row_label order by x.row_ord, x.num),
         array_agg(x.num order by x.row_ord, x.num), array_agg(x.q order by x.row_ord, x.num)
    into ids, rids, secs, rowls, nums, qs
  from (select c.*, min(c.ord) over (partition by c.section_id, c.row_label) as row_ord
        from unnest(p_cands) c) x;
  for i in 1 .. n loop
    if i = 1 or rids[i] <> rids[i - 1] then
      free := null;
      if p_free is null then
        j := i;
        while j <= n and rids[j] = rids[i] loop
          free := free || nums[j];
          j := j + 1;
        end loop;
      else
        foreach fr in array p_free loop
          if fr.section_id = secs[i] and fr.row_label = rowls[i] then
            free := fr.free;
            exit;
          end if;
        end loop;
      end if;
    end if;
    if i + p_k - 1 > n then
      continue;
    end if;
    ok := true;
    score := qs[i];
    for j in 1 .. p_k - 1 loop
      if rids[i + j] <> rids[i] or nums[i + j] <> nums[i] + j then
        ok := false;
        exit;
      end if;
      score := score + qs[i + j];
    end loop;
    if not ok then
      continue;
    end if;
    -- The free run on each side (inlined: a call per block costs more than the block).
    rem := 0;
    while free is not null and (nums[i] - 1 - rem) = any(free) loop
      rem := rem + 1;
    end loop;
    score := score + case when rem = 1 then 1000000 when rem % 2 = 1 then 40 else 0 end;
    rem := 0;
    while free is not null and (nums[i + p_k - 1] + 1 + rem) = any(free) loop
      rem := rem + 1;
    end loop;
    score := score + case when rem = 1 then 1000000 when rem % 2 = 1 then 40 else 0 end;
    if best is null or score < best then
      best := score;
      seat_ids := ids[i : i + p_k - 1];
    end if;
  end loop;
  if best is not null then
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
language plpgsql volatile set search_path = pg_catalog, public, pg_temp
-- Measured: re-planning its statements on every call (custom plans) cost about 0.2 ms of
-- a 1.1 ms call; the generic plans use the same indexes (the window: ix_event_seats_pick).
set plan_cache_mode = force_generic_plan as $$
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

SALES = r"""
-- The tickets a hold will need, one per seat and per GA unit, with their serials and
-- the database clock the terminal signs them with (issue_tickets_in did this inside the
-- confirm transaction; now it comes before, so the confirm is one call).
create function bo_sale_places(p_hold uuid) returns jsonb language sql volatile
set search_path = pg_catalog, public, pg_temp as $$
  select jsonb_build_object(
    'now_s', floor(extract(epoch from now()))::bigint,
    'places', coalesce((select jsonb_agg(jsonb_build_object(
                 'event_id', x.event_id, 'seat_id', x.seat_id, 'section_id', x.section_id,
                 'unit', x.unit,
                 'serial', nextval('ticket_serial_seq')) order by x.o, x.unit)
               from (select hi.event_id, hi.seat_id, hi.section_id, hi.id as o, u.unit
                     from hold_items hi, generate_series(1, hi.qty) u(unit)
                     where hi.hold_id = p_hold) x), '[]'::jsonb))
$$;

-- Claim a checkout's key (core.idempotency.begin_command): the sale of a key claimed
-- before, or null when this call claimed it. A copy waits on the key's row until the
-- first copy ends.
create function bo_sale_claim(p_key uuid, p_request_hash text, p_terminal integer)
returns sales language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
declare
  v_sale sales;
  v_prior record;
begin
  select * into v_sale from sales s where s.key = p_key;
  if found then
    return v_sale;
  end if;
  insert into command_log (key, command, request_hash, terminal_id)
  values (p_key, 'checkout', p_request_hash, p_terminal) on conflict (key) do nothing;
  if found then
    return null;
  end if;
  select cl.command, cl.request_hash, cl.result into v_prior
    from command_log cl where cl.key = p_key;
  if v_prior.command is distinct from 'checkout'
     or v_prior.request_hash is distinct from p_request_hash then
    raise exception 'idempotency_conflict';
  end if;
  select * into v_sale from sales s where s.key = p_key;
  if not found then
    raise exception 'sale_in_progress';
  end if;
  return v_sale;
end $$;

-- The shift and the live hold a sale needs (saga._sale_params), refusals in its order.
create function bo_sale_hold(p_hold uuid, p_terminal integer, p_channel text, p_cash boolean,
                             p_any_hold boolean, out shift_id uuid, out total_minor bigint,
                             out currency text)
language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
declare h record;
begin
  if p_channel = 'kiosk' then
    if p_cash then
      raise exception 'cash_not_accepted';
    end if;
  else
    select sh.id into shift_id from shifts sh
      where sh.terminal_id = p_terminal and sh.status = 'open';
    if shift_id is null then
      raise exception 'no_open_shift';
    end if;
  end if;
  select hh.terminal_id, hh.status, hh.total_minor, hh.currency,
         hh.expires_at <= now() as expired
    into h from holds hh where hh.id = p_hold for update;
  if not found then
    raise exception 'unknown_hold' using detail = json_build_object('hold_id', p_hold)::text;
  end if;
  if h.terminal_id <> p_terminal and not p_any_hold then
    raise exception 'foreign_hold';
  end if;
  if h.status <> 'active' then
    raise exception 'hold_not_active' using detail = json_build_object('status', h.status)::text;
  end if;
  if h.expired then
    raise exception 'hold_expired';
  end if;
  total_minor := h.total_minor;
  currency := h.currency;
end $$;

-- A card sale's first step, one autocommit call: the key claimed, the sale row
-- 'authorizing' and its payment row 'pending' (both durable before the gateway is
-- asked: the write-ahead), the audit entry, and the hold's places with their serials.
-- kind: new | existing (a sale of this key: the caller resumes it).
create function bo_card_begin(p_key uuid, p_request_hash text, p_sale uuid, p_hold uuid,
                              p_terminal integer, p_operator integer, p_channel text,
                              p_pm text, p_brand text, p_last4 text, p_any_hold boolean,
                              p_chain text, p_lock_timeout text, p_payment_key text)
returns table (kind text, sale jsonb, places jsonb)
language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_sale sales;
  h record;
begin
  perform set_config('lock_timeout', p_lock_timeout, true);
  v_sale := bo_sale_claim(p_key, p_request_hash, p_terminal);
  if v_sale.id is not null then
    return query select 'existing'::text, to_jsonb(v_sale), null::jsonb;
    return;
  end if;
  select * into h from bo_sale_hold(p_hold, p_terminal, p_channel, false, p_any_hold);
  insert into sales (id, key, hold_id, terminal_id, operator_id, shift_id, channel, tender,
                     state, version, amount_minor, currency, payment_method, brand, last4,
                     attempts)
  values (p_sale, p_key, p_hold, p_terminal, p_operator, h.shift_id, p_channel, 'card',
          'authorizing', 0, h.total_minor, h.currency, p_pm, p_brand, p_last4, 0)
  on conflict do nothing
  returning * into v_sale;
  if v_sale.id is null then  -- another sale of this hold is in flight
    select * into v_sale from sales s where s.key = p_key;
    if not found then
      raise exception 'sale_in_progress';
    end if;
    return query select 'existing'::text, to_jsonb(v_sale), null::jsonb;
    return;
  end if;
  insert into payments (sale_id, order_id, shift_id, kind, method, status, amount_minor,
                        currency, gateway_ref, idempotency_key, brand, last4)
  values (p_sale, null, h.shift_id, 'charge', 'card', 'pending', h.total_minor, h.currency,
          null, p_payment_key, p_brand, p_last4);
  perform audit_link(p_chain, 'sale_authorizing', jsonb_build_object(
    'terminal', p_chain, 'operator', p_operator, 'entity', 'sale', 'id', p_sale::text,
    'data', jsonb_build_object(
      'hold_id', p_hold::text, 'amount_minor', h.total_minor, 'currency', h.currency,
      'tender', 'card', 'brand', p_brand, 'last4', p_last4))::text);
  return query select 'new'::text, to_jsonb(v_sale), bo_sale_places(p_hold);
end $$;

-- Confirm a paid hold and issue its tickets (tokens signed by the terminal with the
-- serials and clock of bo_sale_places), in the caller's call: bo_confirm_sale and
-- bo_issue_tickets (definers, their checks unchanged), the audit entries, the checkout's
-- result and the outbox message. Returns the result (saga.CheckoutResult's JSON).
create function bo_sale_finish(p_sale sales, p_order uuid, p_payment_ref text,
                               p_terminal integer, p_operator integer, p_customer text,
                               p_any_hold boolean, p_chain text, p_key_terminal integer,
                               p_key_id text, p_key_public bytea, p_tickets jsonb,
                               p_who jsonb, p_message_id uuid, p_email text,
                               p_language text, p_consent text, p_change bigint,
                               p_tendered bigint)
returns jsonb language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
declare
  v_lines jsonb;
  v_number bigint;
  v_event integer;
  v_total bigint;
  v_currency text;
  v_serials jsonb;
  v_order jsonb;
  v_result jsonb;
  v_n integer;
begin
  select jsonb_agg(jsonb_build_object('line_id', c.line_id, 'section_id', c.section_id,
                                      'seat_id', c.seat_id, 'qty', c.qty,
                                      'unit_price_minor', c.unit_price_minor,
                                      'tier_id', c.tier_id) order by c.o),
         min(c.number), min(c.event_id), min(c.total_minor), min(c.currency)
    into v_lines, v_number, v_event, v_total, v_currency
  from (select r.*, row_number() over () as o
        from bo_confirm_sale(p_sale.hold_id, p_order, p_terminal, p_operator, p_payment_ref,
                             p_sale.id, p_sale.shift_id, p_customer, p_sale.amount_minor,
                             p_any_hold) r) c;
  perform audit_link(p_chain, 'confirm_sale', jsonb_build_object(
    'terminal', p_chain, 'operator', p_operator, 'entity', 'order', 'id', p_order::text,
    'data', jsonb_build_object(
      'number', v_number, 'hold_id', p_sale.hold_id::text,
      'seats', coalesce((select jsonb_agg(l->'seat_id' order by (l->>'seat_id')::bigint)
                         from jsonb_array_elements(v_lines) e(l)
                         where l->>'seat_id' is not null), '[]'::jsonb),
      'total_minor', v_total, 'currency', v_currency, 'payment_ref', p_payment_ref))::text);
  -- Each signed token to its order line: a seat's line, or its GA section's.
  if jsonb_array_length(p_tickets) > 0 then
    perform bo_register_ticket_key(p_key_terminal, p_key_id, p_key_public);
    with t as (
      select (x->>'serial')::bigint as serial, x->>'token' as token, (x->>'unit')::integer
             as unit, (x->>'seat_id')::bigint as seat_id, (x->>'section_id')::integer
             as section_id
      from jsonb_array_elements(p_tickets) x
    ),
    m as (
      select t.*, (select (l->>'line_id')::bigint from jsonb_array_elements(v_lines) e(l)
                   where (t.seat_id is not null and (l->>'seat_id')::bigint = t.seat_id)
                      or (t.seat_id is null and l->>'seat_id' is null
                          and (l->>'section_id')::integer = t.section_id)
                   limit 1) as line_id
      from t
    )
    select bo_issue_tickets(p_order, p_terminal, p_operator, p_key_id,
                            array_agg(m.line_id), array_agg(m.unit), array_agg(m.serial),
                            array_agg(m.token)),
           jsonb_agg(m.serial order by m.line_id, m.unit)
      into v_n, v_serials from m;
    perform audit_link(p_chain, 'issue_tickets', jsonb_build_object(
      'terminal', p_chain, 'operator', p_operator, 'entity', 'order', 'id', p_order::text,
      'data', jsonb_build_object('serials', v_serials, 'key_id', p_key_id))::text);
  end if;
  v_order := jsonb_build_object('order_id', p_order, 'number', v_number, 'event_id', v_event,
                                'hold_id', p_sale.hold_id, 'total_minor', v_total,
                                'currency', v_currency, 'payment_ref', p_payment_ref,
                                'lines', v_lines);
  v_result := jsonb_build_object(
    'sale_id', p_sale.id, 'order', v_order, 'tender', p_sale.tender,
    'amount_minor', p_sale.amount_minor, 'currency', p_sale.currency,
    'change_minor', coalesce(p_change, 0), 'tendered_minor', p_tendered,
    'intent_id', case when p_sale.tender = 'card' then p_payment_ref end,
    'brand', p_sale.brand, 'last4', p_sale.last4, 'capture_pending', false,
    'ticket_serials', coalesce(v_serials, '[]'::jsonb));
  if p_email is not null then
    insert into order_contacts (order_id, terminal_id, email, language, consent_text)
    values (p_order, p_terminal, p_email, p_language, p_consent);
  end if;
  insert into outbox (topic, payload, message_id, channel, terminal_id)
  select 'sale.completed', jsonb_build_object(
           'sale_id', p_sale.id, 'order_id', p_order, 'order_number', v_number,
           'event_id', v_event, 'total_minor', v_total, 'currency', v_currency,
           'tender', p_sale.tender, 'lines', v_lines,
           'ticket_serials', coalesce(v_serials, '[]'::jsonb)) || p_who,
         p_message_id, ch, p_terminal
  from unnest(case when p_email is null then array['broker']
                   else array['broker', 'email'] end) ch;
  return v_result;
end $$;

-- A card sale's confirm step, one autocommit call after the gateway authorized: the
-- authorization recorded on the sale and on its payment row (written 'pending' by
-- bo_card_begin, in an earlier transaction, as bo_confirm_sale requires), the order and
-- its tickets, and the sale 'capturing' with its result, all durable before the capture.
-- A sale moved on by someone else (the recovery sweeper) raises taken_over.
create function bo_card_confirm(p_sale uuid, p_version integer, p_intent text, p_order uuid,
                                p_terminal integer, p_operator integer, p_customer text,
                                p_any_hold boolean, p_chain text, p_payment_key text,
                                p_key_terminal integer, p_key_id text, p_key_public bytea,
                                p_tickets jsonb, p_who jsonb, p_message_id uuid,
                                p_email text, p_language text, p_consent text)
returns jsonb language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
declare
  v_sale sales;
  v_result jsonb;
begin
  update sales s set state = 'authorized', version = s.version + 1, updated_at = now(),
                     intent_id = p_intent, attempts = s.attempts + 1
    where s.id = p_sale and s.version = p_version returning * into v_sale;
  if not found then
    raise exception 'taken_over';
  end if;
  insert into payments (sale_id, order_id, shift_id, kind, method, status, amount_minor,
                        currency, gateway_ref, idempotency_key, brand, last4)
  values (p_sale, null, v_sale.shift_id, 'charge', 'card', 'authorized', v_sale.amount_minor,
          v_sale.currency, p_intent, p_payment_key, v_sale.brand, v_sale.last4)
  on conflict (idempotency_key) do update set status = excluded.status,
    gateway_ref = excluded.gateway_ref;
  perform audit_link(p_chain, 'sale_authorized', jsonb_build_object(
    'terminal', p_chain, 'operator', p_operator, 'entity', 'sale', 'id', p_sale::text,
    'data', jsonb_build_object('from', 'authorizing', 'intent', p_intent))::text);
  v_result := bo_sale_finish(v_sale, p_order, p_intent, p_terminal, p_operator, p_customer,
                             p_any_hold, p_chain, p_key_terminal, p_key_id, p_key_public,
                             p_tickets, p_who, p_message_id, p_email, p_language, p_consent,
                             0, null);
  update sales s set state = 'capturing', version = s.version + 1, updated_at = now(),
                     order_id = p_order, result = v_result
    where s.id = p_sale returning * into v_sale;
  return to_jsonb(v_sale);
end $$;

-- A cash sale, one call (autocommit, or inside the caller's transaction for an
-- exchange): key, shift and hold, the tender, the sale row, the order and its tickets,
-- the drawer, the payment, the audit entries and the outbox message.
-- kind: new (sale is the result) | existing (sale is the row of this key).
create function bo_cash_sale(p_key uuid, p_request_hash text, p_sale uuid, p_hold uuid,
                             p_terminal integer, p_operator integer, p_channel text,
                             p_tendered bigint,
                             p_credit bigint, p_customer text, p_any_hold boolean,
                             p_chain text, p_lock_timeout text, p_payment_key text,
                             p_order uuid, p_key_terminal integer, p_key_id text,
                             p_key_public bytea, p_tickets jsonb, p_who jsonb,
                             p_message_id uuid, p_email text, p_language text,
                             p_consent text)
returns table (kind text, sale jsonb)
language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_sale sales;
  h record;
  v_change bigint;
  v_result jsonb;
begin
  perform set_config('lock_timeout', p_lock_timeout, true);
  v_sale := bo_sale_claim(p_key, p_request_hash, p_terminal);
  if v_sale.id is not null then
    return query select 'existing'::text, to_jsonb(v_sale);
    return;
  end if;
  select * into h from bo_sale_hold(p_hold, p_terminal, p_channel, true, p_any_hold);
  if p_tendered + p_credit < h.total_minor then
    raise exception 'tender_insufficient' using detail = json_build_object(
      'tendered', p_tendered + p_credit, 'total', h.total_minor)::text;
  end if;
  v_change := p_tendered + p_credit - h.total_minor;
  insert into sales (id, key, hold_id, terminal_id, operator_id, shift_id, channel, tender,
                     state, version, amount_minor, currency, tendered_minor, change_minor,
                     attempts)
  values (p_sale, p_key, p_hold, p_terminal, p_operator, h.shift_id, 'counter', 'cash',
          'completed', 0, h.total_minor, h.currency, p_tendered, v_change, 0)
  on conflict do nothing
  returning * into v_sale;
  if v_sale.id is null then
    raise exception 'sale_in_progress';
  end if;
  v_result := bo_sale_finish(v_sale, p_order, 'cash:' || p_sale, p_terminal, p_operator,
                             p_customer, p_any_hold, p_chain, p_key_terminal, p_key_id,
                             p_key_public, p_tickets, p_who, p_message_id, p_email,
                             p_language, p_consent, v_change, p_tendered);
  -- The drawer gains the total: tendered in, change out.
  insert into cash_movements (shift_id, kind, amount_minor, sale_id, refund_id)
  values (h.shift_id, 'sale', h.total_minor, p_sale, null);
  insert into payments (sale_id, order_id, shift_id, kind, method, status, amount_minor,
                        currency, gateway_ref, idempotency_key, brand, last4)
  values (p_sale, p_order, h.shift_id, 'charge', 'cash', 'captured', h.total_minor,
          h.currency, null, p_payment_key, null, null)
  on conflict (idempotency_key) do update set status = excluded.status,
    gateway_ref = excluded.gateway_ref,
    order_id = coalesce(excluded.order_id, payments.order_id);
  update sales s set order_id = p_order, result = v_result where s.id = p_sale;
  perform audit_link(p_chain, 'sale_completed', jsonb_build_object(
    'terminal', p_chain, 'operator', p_operator, 'entity', 'sale', 'id', p_sale::text,
    'data', jsonb_build_object('tender', 'cash', 'order_id', p_order::text,
                               'total_minor', h.total_minor, 'tendered_minor', p_tendered,
                               'change_minor', v_change))::text);
  return query select 'new'::text, v_result;
end $$;

-- One move of a sale (saga._move, the capture's and the reversal's last step) in one
-- call: the compare-and-set on version, the payment row's status, the audit entry (its
-- canonical payload made by the caller). p_async: the commit need not wait for the WAL
-- flush (a lost 'completed' costs only an idempotent re-capture by the sweeper).
create function bo_sale_move(p_sale uuid, p_version integer, p_state text, p_intent text,
                             p_order uuid, p_error text, p_attempt integer,
                             p_payment_key text, p_payment_status text, p_chain text,
                             p_action text, p_payload text, p_async boolean)
returns jsonb language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
declare v_sale sales;
begin
  if p_async then
    perform set_config('synchronous_commit', 'off', true);
  end if;
  update sales s set state = p_state, version = s.version + 1, updated_at = now(),
      intent_id = coalesce(p_intent, s.intent_id), order_id = coalesce(p_order, s.order_id),
      error_code = coalesce(p_error, s.error_code), attempts = s.attempts + p_attempt
    where s.id = p_sale and s.version = p_version returning * into v_sale;
  if not found then
    raise exception 'taken_over';
  end if;
  if p_payment_status is not null then
    update payments p set status = p_payment_status
      where p.idempotency_key = p_payment_key
        and (p_payment_status not in ('declined', 'voided') or p.status = 'pending');
  end if;
  if p_action is not null then
    perform audit_link(p_chain, p_action, p_payload);
  end if;
  return to_jsonb(v_sale);
end $$;
"""

SALE_FUNCTIONS = {
    "bo_sale_places(uuid)": "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    "bo_sale_claim(uuid, text, integer)": "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    "bo_sale_hold(uuid, integer, text, boolean, boolean)":
        "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    "bo_card_begin(uuid, text, uuid, uuid, integer, integer, text, text, text, text, boolean,"
    " text, text, text)": "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    "bo_sale_finish(sales, uuid, text, integer, integer, text, boolean, text, integer, text,"
    " bytea, jsonb, jsonb, uuid, text, text, text, bigint, bigint)":
        "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    "bo_card_confirm(uuid, integer, text, uuid, integer, integer, text, boolean, text, text,"
    " integer, text, bytea, jsonb, jsonb, uuid, text, text, text)":
        "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    # A kiosk is refused inside (cash_not_accepted), as the saga refused it before.
    "bo_cash_sale(uuid, text, uuid, uuid, integer, integer, text, bigint, bigint, text,"
    " boolean, text, text, text, uuid, integer, text, bytea, jsonb, jsonb, uuid, text, text,"
    " text)": "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
    "bo_sale_move(uuid, integer, text, text, uuid, text, integer, text, text, text, text,"
    " text, boolean)": "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker",
}


CHECK_IN = r"""
-- A gate's check-in in one call (core/tickets/checkin.py GateChecker): the scan's key
-- claimed, the ticket accepted at most once by one conditional UPDATE that writes the
-- check-in row, the outbox message and the scan's answer. kind: ok | prior (a copy of
-- this key ran first: its stored answer). A rejection raises scan_rejected, so nothing
-- of the call stays and the caller's slow path says why, under the same key.
create function bo_check_in(p_key uuid, p_request_hash text, p_serial bigint, p_event integer,
                            p_gate text, p_key_id text, p_kind integer, p_place bigint,
                            p_unit integer, p_terminal integer, p_operator integer,
                            p_before double precision, p_after double precision,
                            p_lock_timeout text, p_who jsonb, p_message_id uuid)
returns table (kind text, result jsonb, command text, request_hash text)
language plpgsql volatile set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_prior record;
  v_place text;
  v_result jsonb;
begin
  perform set_config('lock_timeout', p_lock_timeout, true);
  insert into command_log (key, command, request_hash, terminal_id)
  values (p_key, 'check_in', p_request_hash, p_terminal) on conflict (key) do nothing;
  if not found then
    select cl.command, cl.request_hash, cl.result into v_prior
      from command_log cl where cl.key = p_key;
    return query select 'prior'::text, v_prior.result, v_prior.command::text,
                        v_prior.request_hash::text;
    return;
  end if;
  with u as (
    update tickets t set status = 'used', used_at = now(), used_gate = p_gate
    from events e
    where t.serial = p_serial and t.event_id = p_event and t.status = 'valid'
      and t.key_id = p_key_id
      and (case when p_kind = 1 then t.seat_id = p_place
           else t.seat_id is null and t.section_id = p_place and t.unit = p_unit end)
      and not exists (select 1 from ticket_keys k where k.key_id = t.key_id
                      and k.revoked_at is not null and t.issued_at >= k.revoked_at)
      and e.id = t.event_id
      and now() between coalesce(e.doors_at, e.starts_at) - make_interval(secs => p_before)
                    and e.starts_at + make_interval(secs => p_after)
    returning t.id, t.serial, t.event_id, t.used_at
  ), c as (
    insert into checkins (ticket_id, serial, event_id, gate, terminal_id, operator_id,
                          offline, at)
    select id, serial, event_id, p_gate, p_terminal, p_operator, false, used_at from u
  )
  select case when t.seat_id is not null then s.code || ' ' || es.row_label || '-'
                                               || es.seat_number
              else s.code || ' #' || t.unit end
    into v_place
  from u join tickets t on t.id = u.id
  join sections s on s.id = t.section_id
  left join event_seats es on es.event_id = t.event_id and es.seat_id = t.seat_id;
  if v_place is null then
    raise exception 'scan_rejected';
  end if;
  insert into outbox (topic, payload, message_id, channel, terminal_id)
  values ('ticket.checked_in', jsonb_build_object('serial', p_serial, 'event_id', p_event,
                                                  'gate', p_gate) || p_who,
          p_message_id, 'broker', p_terminal);
  v_result := jsonb_build_object('accepted', true, 'reason', 'ok', 'serial', p_serial,
                                 'event_id', p_event,
                                 'details', jsonb_build_object('place', v_place));
  update command_log cl set result = v_result where cl.key = p_key;
  return query select 'ok'::text, v_result, null::text, null::text;
end $$;
"""
CHECK_IN_FUNCTION = ("bo_check_in(uuid, text, bigint, integer, text, text, integer, bigint,"
                     " integer, integer, integer, double precision, double precision, text,"
                     " jsonb, uuid)")


HOLD_FUNCTIONS = ("bo_choose_block(bo_seat_candidate[], integer, bo_row_free[])",
                  "bo_hold_best(uuid, bigint, text, text, integer, integer, integer[], uuid,"
                  " integer, integer, integer, text, text, text)")
SELLERS = "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker"


def upgrade() -> None:
    op.execute(HOLDS)
    for fn in HOLD_FUNCTIONS:
        op.execute(f"revoke execute on function {fn} from public")
        op.execute(f"grant execute on function {fn} to {SELLERS}")
    op.execute(SALES)
    for fn, groups in SALE_FUNCTIONS.items():
        op.execute(f"revoke execute on function {fn} from public")
        op.execute(f"grant execute on function {fn} to {groups}")
    op.execute(CHECK_IN)
    op.execute(f"revoke execute on function {CHECK_IN_FUNCTION} from public")
    op.execute(f"grant execute on function {CHECK_IN_FUNCTION} to boxoffice_gate")


def downgrade() -> None:
    op.execute(f"drop function if exists {CHECK_IN_FUNCTION}")
    for fn in SALE_FUNCTIONS:
        op.execute(f"drop function if exists {fn}")
    op.execute("""
        drop function if exists bo_hold_best(uuid, bigint, text, text, integer, integer,
                                             integer[], uuid, integer, integer, integer, text,
                                             text, text);
        drop function if exists bo_choose_block(bo_seat_candidate[], integer, bo_row_free[]);
        drop type if exists bo_row_free;
        drop type if exists bo_seat_candidate;
    """)
