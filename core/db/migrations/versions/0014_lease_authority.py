"""offline lease sales replayed through database functions; lease grants need a supervisor

Revision ID: 0014
Revises: 0013

Until now a counter's login replayed its offline sales by writing orders, order lines,
tickets, lease_sales and the lease's seats itself, and took (or returned) leases by
inserting ``leases`` and ``lease_seats`` rows: a curious cashier could invent a lease, give
its seats a price of 0, or sell seats of another terminal's lease. These state changes
now run in definer functions (owned by the owner, fixed search_path, EXECUTE revoked from
PUBLIC), where the checks cannot be skipped:

- ``bo_confirm_leased_sale`` (boxoffice_cashier): the lease is the calling terminal's
  (``session_user`` -> terminal) and active, its event not canceled; the seats are still
  leased to that lease (or the GA units fit its quota); prices are the lease's quoted
  prices and the total must match; the order number is one the lease reserved and unused;
  the shift is this terminal's own (the drawer the cash was taken into); every ticket
  token is parsed here (``bo_ticket_claims``) and must name this event, a place of this
  order, a serial of the lease's reserved block not used before, and a key of the
  terminal's own that is not revoked. Hold, order, lines, lease_sales, tickets, payment,
  cash movement and the audit entry are written in that one call. The Ed25519 signature
  itself cannot be checked in PostgreSQL (no such function in core or pgcrypto): core
  checks it before the call and every gate checks it at the door, so a forged signature
  only spoils the forger's own ticket.
- ``bo_take_lease`` (boxoffice_cashier, boxoffice_monitor): a lease needs a supervisor's
  approval recorded in the same call (an active supervisor or admin whose PIN was typed
  on this login: the one-use proof of ``bo_authenticate``), except a renewal: a terminal
  may take again, for the same event and section, at most as many places as a lease a
  supervisor (or the owner) granted it before, when it holds no active lease of that kind
  (``[[sync.auto_leases]]`` re-taken after the return on reconnect). Another terminal's
  lease needs the approval in every case.
- ``bo_return_lease`` (boxoffice_cashier, boxoffice_monitor): a terminal returns its own
  lease; a revoke, or another terminal's lease, needs a supervisor's proof.
- ``bo_add_exclusion`` (boxoffice_cashier, boxoffice_monitor): the self-exclusion list
  grows only with a supervisor's proof typed on that login.

Grants taken away, and why some stay:

- boxoffice_cashier: INSERT on orders, order_lines, tickets; INSERT/UPDATE on leases,
  lease_seats; INSERT on lease_sales; the orders-number sequence; UPDATE of
  ``event_seats.lease_id`` and ``ga_inventory.leased``. UPDATE (card_status, card_ref, flag)
  on lease_sales stays: recording a stored card's capture outcome (``set_card_outcome``)
  is still a direct write, like the payments row it updates (refunds need that too).
  Row security now confines that UPDATE to the counter's own lease_sales rows.
  INSERT on sync_conflicts stays (a replay that cannot apply is reported by the
  terminal), UPDATE of tickets (print counts, voiding a declined card's tickets) and
  INSERT on revocations stay for refunds and declines.
- boxoffice_kiosk: UPDATE of ``event_seats.lease_id`` and ``ga_inventory.leased``.
- boxoffice_monitor: INSERT on leases and lease_seats (UPDATE of leases stays: cancelling
  an event revokes its leases, core.backoffice.cancel).
- boxoffice_worker: INSERT on leases and lease_seats (nothing of the worker takes leases;
  its INSERT on orders, order_lines and tickets stays for the recovery paths it owns).

Seats move into or out of ``leased`` only inside these functions (or by the monitor,
cancelling an event, and the worker): a trigger refuses it to kiosk and cashier logins,
and the cashier's old exception in ``bo_guard_inventory`` (leased -> sold from its own
lease) is gone with the direct writes.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The lease's grant: owner (the owner's tools), approved (a supervisor's PIN), renewal
# (re-taken within a grant of the same event and section). Null for leases from before.
COLUMNS = """
alter table leases add column grant_kind varchar(10);
alter table leases add column approved_by integer references operators (id);
alter table leases add column asked_section integer;
"""

# Token layout (core.tickets.token): base32 of version u8 | key id 4 bytes | serial u48 |
# event u32 | issued-at u32 | kind u8 | place u32 | unit u16 | signature. The first 42
# characters carry the 26 bytes of claims (210 bits); null fields for an unreadable token.
FUNCTIONS = r"""
create function bo_ticket_claims(p_token text,
  out version integer, out key_id text, out serial bigint, out event_id bigint,
  out issued_at bigint, out kind integer, out place bigint, out unit integer)
language sql immutable parallel safe set search_path = pg_catalog, pg_temp as $$
  with b as (
    select string_agg(
             ((strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', substr(t, i, 1)) - 1)::bit(5))::text,
             '' order by i) as bits
    from (select upper(btrim(p_token)) as t) x, generate_series(1, 42) i
    where length(x.t) = 144 and x.t ~ '^[A-Z2-7]+$'
  ),
  f as (
    select ('0' || substr(bits, 1, 8))::bit(9)::integer as version,
           substr(bits, 9, 32) as kid,
           (repeat('0', 16) || substr(bits, 41, 48))::bit(64)::bigint as serial,
           (repeat('0', 32) || substr(bits, 89, 32))::bit(64)::bigint as event_id,
           (repeat('0', 32) || substr(bits, 121, 32))::bit(64)::bigint as issued_at,
           ('0' || substr(bits, 153, 8))::bit(9)::integer as kind,
           (repeat('0', 32) || substr(bits, 161, 32))::bit(64)::bigint as place,
           ('0' || substr(bits, 193, 16))::bit(17)::integer as unit
    from b where length(bits) = 210
  )
  select f.version, lpad(to_hex((repeat('0', 32) || f.kid)::bit(64)::bigint), 8, '0'),
         f.serial, f.event_id, f.issued_at, f.kind, f.place, f.unit
  from f
$$;

-- A supervisor's approval typed on this login: the approver is an active supervisor or
-- admin and the one-use proof of bo_authenticate is theirs, fresh and unused (the owner's
-- tools are trusted with the approver they name). Returns false when no approver is given.
create function bo_consume_supervisor_proof(p_approver integer, p_proof uuid)
returns boolean language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare v_role text;
begin
  if p_approver is null then
    return false;
  end if;
  select o.role into v_role from operators o where o.id = p_approver and o.active;
  if v_role is null or v_role not in ('supervisor', 'admin') then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'the approver is not an active supervisor';
  end if;
  if not bo_is_owner() then
    update bo_approval_proofs a set used_at = now()
      where a.token = p_proof and a.operator_id = p_approver and a.login = session_user
        and a.used_at is null and a.expires_at > now();
    if not found then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'no fresh supervisor PIN for this approval';
    end if;
  end if;
  return true;
end $$;

create function bo_take_lease(p_lease uuid, p_terminal integer, p_event integer,
                              p_seats bigint[], p_section integer, p_quantity integer,
                              p_operator integer, p_approver integer, p_proof uuid)
returns jsonb language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_owner boolean := bo_is_owner();
  v_me integer;
  v_term integer := p_terminal;
  v_chosen boolean := coalesce(cardinality(p_seats), 0) > 0;
  v_want integer := coalesce(cardinality(p_seats), 0);
  v_kind text;
  v_grant text;
  v_currency text;
  v_units integer;
  v_seats jsonb;
  v_n integer;
  v_price bigint;
  v_tier integer;
  v_serials bigint[];
  v_numbers bigint[];
begin
  if not v_owner then
    v_me := bo_acting_terminal(null);
    v_term := coalesce(p_terminal, v_me);
  end if;
  if v_term is null or not exists (select 1 from terminals t where t.id = v_term) then
    raise exception 'invalid_input' using errcode = '22023',
      detail = '{"detail": "a lease is for a registered terminal"}';
  end if;
  if not v_chosen and (p_section is null or coalesce(p_quantity, 0) < 1) then
    raise exception 'invalid_input' using errcode = '22023',
      detail = '{"detail": "Give seat ids, or a section and a quantity of at least 1."}';
  end if;
  if v_chosen then
    v_kind := 'seats';
  else
    select case when s.kind = 'seated' then 'seats' else 'ga' end into v_kind
      from sections s join events e on e.venue_id = s.venue_id
      where s.id = p_section and e.id = p_event;
    if v_kind is null then
      raise exception 'lease_claim_failed' using detail = '{"stage": "section"}';
    end if;
  end if;
  -- One grant decision at a time per terminal (a renewal checks what is active).
  perform pg_advisory_xact_lock(hashtext('bo_take_lease'), v_term);
  if bo_consume_supervisor_proof(p_approver, p_proof) then
    v_grant := 'approved';
    insert into approvals (id, kind, terminal_id, requested_by, approved_by, reason_code,
                           entity, entity_id, amount_minor)
    values (gen_random_uuid(), 'lease', coalesce(v_me, v_term), p_operator, p_approver,
            'offline_lease', 'lease', p_lease::text, null);
  elsif v_owner then
    v_grant := 'owner';
  elsif v_term = v_me and not v_chosen and exists (
          select 1 from leases l where l.terminal_id = v_term and l.event_id = p_event
            and l.asked_section = p_section and l.grant_kind is not null
            and cardinality(l.serials) >= p_quantity)
        and not exists (
          select 1 from leases l where l.terminal_id = v_term and l.event_id = p_event
            and l.asked_section = p_section and l.status = 'active') then
    v_grant := 'renewal';
  else
    raise exception 'lease_needs_supervisor' using errcode = '42501', detail = '{}';
  end if;
  insert into leases (id, terminal_id, event_id, kind, section_id, ga_quota, ga_sold,
                      ga_unit_price_minor, ga_tier_id, currency, status, operator_id,
                      returned_units, serials, order_numbers, grant_kind, approved_by,
                      asked_section)
  select p_lease, v_term, p_event, v_kind, case when v_kind = 'ga' then p_section end,
         case when v_kind = 'ga' then p_quantity else 0 end, 0, null, null, e.currency,
         'active', p_operator, 0, '{}'::bigint[], '{}'::bigint[], v_grant, p_approver,
         case when v_chosen then null else p_section end
  from events e where e.id = p_event
  returning currency into v_currency;
  if v_currency is null then
    raise exception 'lease_claim_failed' using detail = '{"stage": "event"}';
  end if;
  if v_kind = 'seats' then
    -- Chosen seats all or nothing, locked in seat order; or the best free seats of the
    -- section nobody is looking at (SKIP LOCKED). Expired holds count as free.
    with ev as (
      select ev.id from events ev where ev.id = p_event and ev.status = 'on_sale'
        and now() >= ev.sales_start and now() < ev.sales_end
    ),
    picked as (
      select es.seat_id from event_seats es, ev
      where v_chosen and es.event_id = p_event and es.seat_id = any(p_seats)
        and (es.status = 'available' or (es.status = 'held' and es.hold_expires_at <= now()))
      order by es.seat_id
      for update of es
    ),
    best as (
      select es.seat_id from event_seats es, ev
      where not v_chosen and es.event_id = p_event and es.section_id = p_section
        and (es.status = 'available' or (es.status = 'held' and es.hold_expires_at <= now()))
      order by es.quality_rank, es.seat_id
      limit case when v_chosen then 0 else p_quantity end
      for update of es skip locked
    ),
    locked as (select seat_id from picked union all select seat_id from best),
    claimed as (
      update event_seats es
      set status = 'leased', lease_id = p_lease, hold_id = null, hold_expires_at = null,
          version = es.version + 1
      from locked
      where es.event_id = p_event and es.seat_id = locked.seat_id
        and (select count(*) from locked)
            = case when v_chosen then cardinality(p_seats) else p_quantity end
      returning es.seat_id, es.section_id, es.row_label, es.seat_number
    ),
    priced as (
      select c.seat_id, c.section_id, c.row_label, c.seat_number, pt.id as tier_id,
             pt.current_minor
      from claimed c join price_tiers pt on pt.event_id = p_event
        and pt.section_id = c.section_id
    ),
    ls as (
      insert into lease_seats (lease_id, event_id, seat_id, section_id, unit_price_minor,
                               tier_id)
      select p_lease, p_event, p.seat_id, p.section_id, p.current_minor, p.tier_id
      from priced p
    )
    select count(*), coalesce(jsonb_agg(jsonb_build_object(
             'seat_id', p.seat_id, 'section_id', p.section_id, 'row_label', p.row_label,
             'seat_number', p.seat_number, 'tier_id', p.tier_id,
             'current_minor', p.current_minor) order by p.seat_id), '[]'::jsonb)
      into v_n, v_seats
    from priced p;
    if not v_chosen then
      v_want := p_quantity;
    end if;
    if v_n = 0 or v_n <> v_want then
      raise exception 'lease_claim_failed' using
        detail = json_build_object('stage', case when v_chosen then 'seats' else 'best' end)::text;
    end if;
    v_units := v_n;
  else
    with ev as (
      select ev.id from events ev where ev.id = p_event and ev.status = 'on_sale'
        and now() >= ev.sales_start and now() < ev.sales_end
    ),
    g as (
      update ga_inventory gi set leased = gi.leased + p_quantity, version = gi.version + 1
      from ev
      where gi.event_id = p_event and gi.section_id = p_section
        and gi.held + gi.sold + gi.leased + p_quantity <= gi.capacity
      returning gi.section_id
    )
    select pt.id, pt.current_minor into v_tier, v_price from g
    join price_tiers pt on pt.event_id = p_event and pt.section_id = g.section_id;
    if v_tier is null then
      raise exception 'lease_claim_failed' using detail = '{"stage": "ga"}';
    end if;
    v_units := p_quantity;
    v_seats := '[]'::jsonb;
  end if;
  -- One ticket serial and one order number per leased unit, reserved now.
  update leases set
    ga_unit_price_minor = v_price, ga_tier_id = v_tier,
    serials = (select array_agg(nextval('ticket_serial_seq') order by g)
               from generate_series(1, v_units) g),
    order_numbers = (select array_agg(nextval(pg_get_serial_sequence('orders', 'number'))
                                      order by g) from generate_series(1, v_units) g)
  where id = p_lease returning serials, order_numbers into v_serials, v_numbers;
  return jsonb_build_object('terminal_id', v_term, 'kind', v_kind, 'currency', v_currency,
                            'ga_price', v_price, 'ga_tier', v_tier, 'seats', v_seats,
                            'serials', to_jsonb(v_serials), 'order_numbers', to_jsonb(v_numbers),
                            'grant', v_grant);
end $$;

create function bo_return_lease(p_lease uuid, p_revoke boolean, p_approver integer,
                                p_proof uuid)
returns jsonb language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  l record;
  v_freed bigint[];
  v_n integer;
  v_status text := case when p_revoke then 'revoked' else 'returned' end;
begin
  select * into l from leases where id = p_lease for update;
  if not found then
    raise exception 'unknown_lease' using
      detail = json_build_object('lease_id', p_lease)::text;
  end if;
  if not bo_is_owner() and (p_revoke or l.terminal_id <> bo_acting_terminal(null))
     and not bo_consume_supervisor_proof(p_approver, p_proof) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a revoke, or another terminal''s lease, needs a supervisor''s PIN';
  end if;
  if l.status <> 'active' then
    return jsonb_build_object('terminal_id', l.terminal_id, 'event_id', l.event_id,
                              'kind', l.kind, 'section_id', l.section_id,
                              'status', l.status, 'returned_units', 0, 'seats', '[]'::jsonb,
                              'done', false);
  end if;
  if l.kind = 'seats' then
    with locked as (
      select es.seat_id from event_seats es
      join lease_seats ls on ls.event_id = es.event_id and ls.seat_id = es.seat_id
      where ls.lease_id = p_lease and es.lease_id = p_lease and es.status = 'leased'
      order by es.event_id, es.seat_id
      for update of es
    ),
    freed as (
      update event_seats es set status = 'available', lease_id = null,
                                version = es.version + 1
      from locked where es.event_id = l.event_id and es.seat_id = locked.seat_id
      returning es.seat_id
    )
    select coalesce(array_agg(seat_id order by seat_id), '{}') into v_freed from freed;
    v_n := cardinality(v_freed);
  else
    v_n := l.ga_quota - l.ga_sold;
    v_freed := '{}';
    update ga_inventory set leased = leased - v_n, version = version + 1
      where event_id = l.event_id and section_id = l.section_id;
  end if;
  update leases set status = v_status, ended_at = now(), returned_units = v_n
    where id = p_lease;
  return jsonb_build_object('terminal_id', l.terminal_id, 'event_id', l.event_id,
                            'kind', l.kind, 'section_id', l.section_id, 'status', v_status,
                            'returned_units', v_n, 'seats', to_jsonb(v_freed), 'done', true);
end $$;

-- Refusals carry the catalogue code as the message and its details as JSON.
create function bo_confirm_leased_sale(
  p_key uuid, p_order uuid, p_hold uuid, p_lease uuid, p_terminal integer,
  p_event integer, p_operator integer, p_shift uuid, p_number bigint, p_seats bigint[],
  p_ga_qty integer, p_method text, p_card_ref text, p_total bigint, p_currency text,
  p_customer text, p_sold_at text, p_sold_ts timestamptz, p_tokens text[],
  p_printed integer[])
returns table (number bigint, line_id bigint, section_id integer, seat_id bigint,
               qty integer, unit_price_minor bigint, tier_id integer)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_term integer := bo_acting_terminal(p_terminal);
  l record;
  v_seats bigint[];
  v_sec integer[];
  v_seat bigint[];
  v_qty integer[];
  v_price bigint[];
  v_tier integer[];
  v_total bigint;
  v_units integer;
  v_shift uuid;
  v_number bigint;
  v_n integer;
  v_name text;
  v_serials bigint[] := '{}';
  c record;
begin
  select ll.*, e.status as event_status into l
    from leases ll join events e on e.id = ll.event_id
    where ll.id = p_lease for update of ll;
  if not found then
    raise exception 'unknown_lease' using
      detail = json_build_object('lease_id', p_lease)::text;
  end if;
  if l.terminal_id <> v_term then
    raise exception 'foreign_lease' using errcode = '42501', detail = '{}';
  end if;
  if l.status <> 'active' then
    raise exception 'lease_not_active' using
      detail = json_build_object('status', l.status)::text;
  end if;
  if l.event_status = 'canceled' then
    raise exception 'event_canceled' using detail = '{}';
  end if;
  if p_event is distinct from l.event_id then
    raise exception 'invalid_input' using
      detail = '{"detail": "The sale''s event is not the lease''s."}';
  end if;
  -- The order is the terminal's id for the sale: recorded once (the command key is the
  -- client's exactly-once; this is the database's, whatever key a caller sends).
  if exists (select 1 from orders o where o.id = p_order)
     or exists (select 1 from holds h where h.id = p_hold) then
    raise exception 'invalid_input' using
      detail = '{"detail": "this sale was recorded already"}';
  end if;
  if p_method is null or p_method not in ('cash', 'card_saf')
     or length(coalesce(p_card_ref, '')) > 120 then
    raise exception 'invalid_input' using
      detail = '{"detail": "A leased sale is paid in cash or by a stored card reference."}';
  end if;
  if p_number is not null and (not p_number = any(l.order_numbers)
                               or exists (select 1 from orders o where o.number = p_number)) then
    raise exception 'invalid_input' using detail = json_build_object(
      'detail', format('order number %s is not the lease''s, or is used', p_number))::text;
  end if;
  if (coalesce(cardinality(p_seats), 0) > 0) = (coalesce(p_ga_qty, 0) <> 0) then
    raise exception 'invalid_input' using
      detail = '{"detail": "A leased sale sells seats or GA units."}';
  end if;
  if coalesce(cardinality(p_seats), 0) > 0 then
    select array_agg(distinct s order by s) into v_seats from unnest(p_seats) s;
    if cardinality(v_seats) <> cardinality(p_seats) then
      raise exception 'invalid_input' using detail = '{"detail": "A seat was listed twice."}';
    end if;
    -- Only seats still leased to this lease become sold (all or none), in seat order,
    -- at the price quoted when the lease was taken.
    with locked as (
      select es.seat_id from event_seats es
      where es.event_id = l.event_id and es.seat_id = any(v_seats)
        and es.status = 'leased' and es.lease_id = p_lease
      order by es.seat_id
      for update of es
    ),
    sold as (
      update event_seats es set status = 'sold', order_id = p_order, version = es.version + 1
      from locked
      where es.event_id = l.event_id and es.seat_id = locked.seat_id
        and (select count(*) from locked) = cardinality(v_seats)
      returning es.seat_id
    )
    select array_agg(ls.section_id order by ls.seat_id), array_agg(ls.seat_id order by ls.seat_id),
           array_agg(1 order by ls.seat_id), array_agg(ls.unit_price_minor order by ls.seat_id),
           array_agg(ls.tier_id order by ls.seat_id)
      into v_sec, v_seat, v_qty, v_price, v_tier
    from sold join lease_seats ls on ls.lease_id = p_lease and ls.seat_id = sold.seat_id;
    if coalesce(cardinality(v_seat), 0) <> cardinality(v_seats) then
      raise exception 'leased_seat_gone' using
        detail = json_build_object('seat_ids', v_seats)::text;
    end if;
    v_units := cardinality(v_seats);
  else
    if l.kind <> 'ga' then
      raise exception 'invalid_input' using
        detail = '{"detail": "This lease holds seats, not GA units."}';
    end if;
    if p_ga_qty < 1 then
      raise exception 'invalid_input' using detail = '{"detail": "A GA quantity is positive."}';
    end if;
    update leases set ga_sold = ga_sold + p_ga_qty
      where id = p_lease and ga_sold + p_ga_qty <= ga_quota;
    if not found then
      raise exception 'lease_exhausted' using
        detail = json_build_object('left', l.ga_quota - l.ga_sold)::text;
    end if;
    update ga_inventory gi set leased = gi.leased - p_ga_qty, sold = gi.sold + p_ga_qty,
                               version = gi.version + 1
      where gi.event_id = l.event_id and gi.section_id = l.section_id;
    v_sec := array[l.section_id]; v_seat := array[null::bigint]; v_qty := array[p_ga_qty];
    v_price := array[l.ga_unit_price_minor]; v_tier := array[l.ga_tier_id];
    v_units := p_ga_qty;
  end if;
  select sum(u.p * u.q) into v_total from unnest(v_price, v_qty) u(p, q);
  if v_total is distinct from p_total or p_currency is distinct from l.currency then
    raise exception 'amount_mismatch' using
      detail = json_build_object('amount', p_total, 'total', v_total)::text;
  end if;
  -- The drawer the cash went into: the shift the cashier sold in (this terminal's own),
  -- else the one open here now.
  if p_shift is not null then
    if not exists (select 1 from shifts sh where sh.id = p_shift and sh.terminal_id = v_term)
    then
      raise exception 'invalid_input' using
        detail = '{"detail": "the sale''s shift is not this terminal''s"}';
    end if;
    v_shift := p_shift;
  else
    select sh.id into v_shift from shifts sh
      where sh.terminal_id = v_term and sh.status = 'open' limit 1;
  end if;
  -- The terminal's tickets: each token names this event, a place of this sale, a serial
  -- of the lease's block never used, and a live key of this terminal.
  if coalesce(cardinality(p_tokens), 0) > 0 then
    select count(*) as n, count(distinct x.serial) as serials,
           count(distinct (x.kind, x.place, case when x.kind = 1 then 0 else x.unit end))
             as places,
           -- An unreadable token parses to nulls: it fits nothing.
           coalesce(bool_and(coalesce(x.version = 1 and x.event_id = l.event_id
                             and x.serial = any(l.serials)
                             and (x.kind = 1 and x.place = any(v_seat)
                                  or x.kind = 2 and l.kind = 'ga' and x.place = l.section_id
                                     and x.unit between 1 and v_units), false)), false) as fit,
           coalesce(bool_and(exists (select 1 from ticket_keys k
                                     where k.key_id = x.key_id and k.terminal_id = v_term
                                       and k.revoked_at is null)), false) as keys,
           bool_or(exists (select 1 from tickets t where t.serial = x.serial)) as used,
           array_agg(x.serial order by x.ord) as list,
           array_agg(x.kind order by x.ord) as kinds,
           array_agg(x.place order by x.ord) as place_ids,
           array_agg(x.unit order by x.ord) as units,
           array_agg(x.key_id order by x.ord) as key_ids,
           array_agg(x.issued_at order by x.ord) as issued
      into c
    from (select t.ord, cl.* from unnest(p_tokens) with ordinality t(tok, ord)
          cross join lateral bo_ticket_claims(t.tok) cl) x;
    if c.n <> v_units or c.places <> v_units then
      raise exception 'invalid_input' using detail = json_build_object('detail', format(
        'offline ticket rejected: %s tickets for %s places', c.n, v_units))::text;
    end if;
    if not c.fit or c.serials <> c.n or c.used then
      raise exception 'invalid_input' using detail = json_build_object('detail',
        'offline ticket rejected: a token names another event or place, or a serial not'
        ' reserved by this lease, or used already')::text;
    end if;
    if not c.keys then
      raise exception 'invalid_input' using detail = json_build_object('detail',
        'offline ticket rejected: signed by a key that is not this terminal''s live key')::text;
    end if;
    v_serials := c.list;
  end if;
  insert into holds (id, event_id, terminal_id, operator_id, channel, status, expires_at,
                     extensions, total_minor, currency, ended_at)
  values (p_hold, l.event_id, v_term, p_operator, 'counter', 'confirmed', now(), 0, v_total,
          l.currency, now());
  insert into hold_items (hold_id, event_id, section_id, seat_id, qty, unit_price_minor,
                          tier_id)
  select p_hold, l.event_id, u.s, u.st, u.q, u.p, u.t
  from unnest(v_sec, v_seat, v_qty, v_price, v_tier) u(s, st, q, p, t);
  insert into orders (id, number, event_id, hold_id, terminal_id, operator_id, shift_id,
                      status, total_minor, currency, payment_ref, customer_name, created_at)
  values (p_order, coalesce(p_number, nextval(pg_get_serial_sequence('orders', 'number'))),
          l.event_id, p_hold, v_term, p_operator, v_shift, 'paid', v_total, l.currency,
          case when p_method = 'cash' then 'cash:offline:' else 'saf:' end || p_order,
          left(p_customer, 120),
          -- When it was sold (the terminal's clock), never later than the replay.
          least(coalesce(p_sold_ts, now()), now()))
  returning orders.number into v_number;
  insert into order_lines (order_id, event_id, section_id, seat_id, qty, unit_price_minor,
                           tier_id, status)
  select p_order, l.event_id, u.s, u.st, u.q, u.p, u.t, 'sold'
  from unnest(v_sec, v_seat, v_qty, v_price, v_tier) u(s, st, q, p, t);
  insert into lease_sales (order_id, lease_id, terminal_id, command_key, payment_method,
                           amount_minor, currency, card_status, card_ref, sold_at_terminal)
  values (p_order, p_lease, v_term, p_key, p_method, v_total, l.currency,
          case when p_method = 'card_saf' then 'pending' end, p_card_ref, left(p_sold_at, 40));
  if coalesce(cardinality(p_tokens), 0) > 0 then
    insert into tickets (serial, order_id, line_id, unit, event_id, section_id, seat_id,
                         unit_price_minor, currency, tier_id, key_id, token, terminal_id,
                         operator_id, status, print_count, reprint_count, issued_at)
    select x.serial, p_order, ol.id, case when x.kind = 1 then 1 else x.unit end, l.event_id,
           ol.section_id, ol.seat_id, ol.unit_price_minor, l.currency, ol.tier_id, x.key_id,
           x.tok, v_term, p_operator, 'valid', greatest(coalesce(x.printed, 0), 0), 0,
           to_timestamp(x.issued)
    -- The claims as checked above (each token is parsed once).
    from unnest(c.list, c.kinds, c.place_ids, c.units, c.key_ids, c.issued, p_tokens,
                p_printed) x(serial, kind, place, unit, key_id, issued, tok, printed)
    join order_lines ol on ol.order_id = p_order
      and ((x.kind = 1 and ol.seat_id = x.place) or (x.kind = 2 and ol.seat_id is null));
    get diagnostics v_n = row_count;
    if v_n <> v_units then
      raise exception 'invalid_input' using detail = json_build_object('detail',
        'offline ticket rejected: the tokens do not match the sale''s places')::text;
    end if;
  end if;
  -- A stored card is not money yet: it becomes captured or declined when charged.
  insert into payments (order_id, shift_id, kind, method, status, amount_minor, currency,
                        gateway_ref, idempotency_key)
  values (p_order, v_shift, 'charge', case when p_method = 'cash' then 'cash' else 'card' end,
          case when p_method = 'cash' then 'captured' else 'pending' end, v_total, l.currency,
          null, 'offline:' || p_order)
  on conflict (idempotency_key) do nothing;
  if p_method = 'cash' and v_shift is not null then
    insert into cash_movements (shift_id, kind, amount_minor, sale_id, refund_id)
    values (v_shift, 'sale', v_total, null, null);
  end if;
  select t.name into v_name from terminals t where t.id = v_term;
  perform audit_link(v_name, 'confirm_leased_sale', jsonb_build_object(
    'terminal', v_name, 'operator', p_operator, 'entity', 'order', 'id', p_order::text,
    'data', jsonb_build_object(
      'number', v_number, 'lease_id', p_lease::text, 'seats', to_jsonb(coalesce(v_seats, '{}')),
      'ticket_serials', to_jsonb(v_serials), 'ga_qty', coalesce(p_ga_qty, 0),
      'total_minor', v_total, 'currency', l.currency, 'payment', p_method,
      'sold_at_terminal', p_sold_at))::text);
  return query
  select v_number, ol.id, ol.section_id, ol.seat_id, ol.qty, ol.unit_price_minor, ol.tier_id
  from order_lines ol where ol.order_id = p_order order by ol.seat_id nulls last, ol.id;
end $$;

-- The self-exclusion list grows with a supervisor's PIN typed on this login.
create function bo_add_exclusion(p_norm text, p_until timestamptz, p_source text,
                                 p_approver integer, p_proof uuid)
returns bigint language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare v_id bigint;
begin
  if not bo_is_owner() and not bo_consume_supervisor_proof(p_approver, p_proof) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'the self-exclusion list grows with a supervisor''s PIN';
  end if;
  insert into self_exclusions (identifier_hash, until, source)
  values (bo_exclusion_digest(p_norm), p_until, left(p_source, 40))
  on conflict (identifier_hash) do update set until = excluded.until, source = excluded.source
  returning id into v_id;
  return v_id;
end $$;

-- Seats enter or leave a lease only inside the lease functions (run as the owner), or by
-- the monitor cancelling an event, or the worker: never by a seller's own statement.
create function bo_guard_leasing() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  if pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
     or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER') then
    if not pg_has_role(current_user, '{owner}', 'MEMBER') then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'seats are leased and returned by bo_take_lease and bo_return_lease';
    end if;
  end if;
  return new;
end $$;
create trigger bo_guard_leasing before update on event_seats for each row
  when ((new.status = 'leased') <> (old.status = 'leased')
        or new.lease_id is distinct from old.lease_id)
  execute function bo_guard_leasing();
"""

# bo_guard_inventory without the counter's own-lease exceptions (leased -> sold is only
# bo_confirm_leased_sale's now, which runs as the owner).
GUARD = r"""
create or replace function bo_guard_inventory() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_seller boolean := pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
                      or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER');
begin
  if pg_has_role(current_user, '{owner}', 'MEMBER')
     or pg_has_role(current_user, 'boxoffice_worker', 'MEMBER') then
    return new;
  end if;
  if tg_table_name = 'event_seats' then
    if new.status = 'sold' and old.status <> 'sold' then
      null;
    elsif old.status = 'sold' and new.status <> 'sold' then
      if pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER')
         or pg_has_role(current_user, 'boxoffice_monitor', 'MEMBER') or (v_seller and exists (
           select 1 from orders o where o.id = old.order_id
             and o.terminal_id = bo_my_terminal() and o.status = 'canceled')) then
        return new;
      end if;
    else
      return new;
    end if;
  end if;
  raise exception 'status_change_refused' using errcode = '42501',
    detail = format('%s: sold places change in bo_confirm_sale', tg_table_name);
end $$;
"""

# The function as 0008 made it, for the downgrade.
GUARD_0008 = r"""
create or replace function bo_guard_inventory() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_seller boolean := pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
                      or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER');
begin
  if pg_has_role(current_user, '{owner}', 'MEMBER')
     or pg_has_role(current_user, 'boxoffice_worker', 'MEMBER') then
    return new;
  end if;
  if tg_table_name = 'event_seats' then
    if new.status = 'sold' and old.status <> 'sold' then
      if old.status = 'leased' and new.lease_id is not distinct from old.lease_id
         and pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER') then
        return new;
      end if;
    elsif old.status = 'sold' and new.status <> 'sold' then
      if pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER')
         or pg_has_role(current_user, 'boxoffice_monitor', 'MEMBER') or (v_seller and exists (
           select 1 from orders o where o.id = old.order_id
             and o.terminal_id = bo_my_terminal() and o.status = 'canceled')) then
        return new;
      end if;
    else
      return new;
    end if;
  else  -- ga_inventory: sold grows only from a counter's own lease (leased -> sold)
    if new.sold - old.sold = old.leased - new.leased
       and pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER') then
      return new;
    end if;
  end if;
  raise exception 'status_change_refused' using errcode = '42501',
    detail = format('%s: sold places change in bo_confirm_sale', tg_table_name);
end $$;
"""

DEFINERS = {
    "bo_consume_supervisor_proof(integer, uuid)": None,
    "bo_ticket_claims(text)": None,
    "bo_take_lease(uuid, integer, integer, bigint[], integer, integer, integer, integer, uuid)":
        "boxoffice_cashier, boxoffice_monitor",
    "bo_return_lease(uuid, boolean, integer, uuid)": "boxoffice_cashier, boxoffice_monitor",
    "bo_confirm_leased_sale(uuid, uuid, uuid, uuid, integer, integer, integer, uuid, bigint,"
    " bigint[], integer, text, text, bigint, text, text, text, timestamptz, text[],"
    " integer[])": "boxoffice_cashier",
    "bo_add_exclusion(text, timestamptz, text, integer, uuid)":
        "boxoffice_cashier, boxoffice_monitor",
}

REVOKES = (
    "revoke insert on orders, order_lines, tickets from boxoffice_cashier",
    "revoke insert, update on leases, lease_seats from boxoffice_cashier",
    "revoke insert, update on lease_sales from boxoffice_cashier",
    "grant update (card_status, card_ref, flag) on lease_sales to boxoffice_cashier",
    "revoke update (lease_id) on event_seats from boxoffice_cashier, boxoffice_kiosk",
    "revoke update (leased) on ga_inventory from boxoffice_cashier, boxoffice_kiosk",
    "revoke insert on leases, lease_seats from boxoffice_monitor, boxoffice_worker",
)

UNDO_REVOKES = (
    "grant insert on orders, order_lines, tickets to boxoffice_cashier",
    "grant insert, update on leases, lease_seats to boxoffice_cashier",
    "grant insert, update on lease_sales to boxoffice_cashier",
    "grant update (lease_id) on event_seats to boxoffice_cashier, boxoffice_kiosk",
    "grant update (leased) on ga_inventory to boxoffice_cashier, boxoffice_kiosk",
    "grant insert on leases, lease_seats to boxoffice_monitor, boxoffice_worker",
)

# A counter records the capture outcome of its own stored cards only; every kind that reads
# lease_sales still reads them all (a refund at another counter reads the card reference).
LEASE_SALES_RLS = """
alter table lease_sales enable row level security;
create policy bo_read on lease_sales for select
  to boxoffice_cashier, boxoffice_monitor, boxoffice_worker using (true);
create policy bo_own_update on lease_sales for update to boxoffice_cashier
  using (terminal_id = (select bo_my_terminal()))
  with check (terminal_id = (select bo_my_terminal()));
create policy bo_any on lease_sales for all to boxoffice_worker using (true) with check (true);
"""

UNDO_LEASE_SALES_RLS = """
drop policy if exists bo_any on lease_sales;
drop policy if exists bo_own_update on lease_sales;
drop policy if exists bo_read on lease_sales;
alter table lease_sales disable row level security;
"""

ORDER_NUMBERS = """
do $$ begin
  execute format('{verb} usage on sequence %s {prep} boxoffice_cashier',
                 pg_get_serial_sequence('orders', 'number'));
end $$;
"""


def upgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(COLUMNS)
    op.execute(FUNCTIONS.replace("{owner}", owner))
    op.execute(GUARD.replace("{owner}", owner))
    for fn, groups in DEFINERS.items():
        op.execute(f"revoke execute on function {fn} from public")
        if groups:
            op.execute(f"grant execute on function {fn} to {groups}")
    for stmt in REVOKES:
        op.execute(stmt)
    op.execute(ORDER_NUMBERS.format(verb="revoke", prep="from"))
    op.execute(LEASE_SALES_RLS)


def downgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(UNDO_LEASE_SALES_RLS)
    op.execute(ORDER_NUMBERS.format(verb="grant", prep="to"))
    for stmt in UNDO_REVOKES:
        op.execute(stmt)
    op.execute(GUARD_0008.replace("{owner}", owner))
    op.execute("""
        drop trigger if exists bo_guard_leasing on event_seats;
        drop function if exists bo_guard_leasing();
        drop function if exists bo_add_exclusion(text, timestamptz, text, integer, uuid);
        drop function if exists bo_confirm_leased_sale(uuid, uuid, uuid, uuid, integer,
          integer, integer, uuid, bigint, bigint[], integer, text, text, bigint, text, text,
          text, timestamptz, text[], integer[]);
        drop function if exists bo_return_lease(uuid, boolean, integer, uuid);
        drop function if exists bo_take_lease(uuid, integer, integer, bigint[], integer,
          integer, integer, integer, uuid);
        drop function if exists bo_consume_supervisor_proof(integer, uuid);
        drop function if exists bo_ticket_claims(text);
        alter table leases drop column if exists asked_section;
        alter table leases drop column if exists approved_by;
        alter table leases drop column if exists grant_kind;
    """)
