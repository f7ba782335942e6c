"""an event cancel on the admin's own login

Revision ID: 0017
Revises: 0016

Cancelling a show (core.backoffice.cancel) wrote orders, lines, tickets, revocations,
refunds, payments and approvals that the back office's admin login may not write, so it
ran only on the owner's connection. Its per-order step now runs in the database:

``bo_cancel_sign`` (admin logins only): each run of a cancel is signed by a supervisor
who typed their PIN on that login (the one-use proof of ``bo_authenticate``), recorded in
``bo_event_cancels``; a stolen admin config alone refunds nothing.
``bo_cancel_refund_order`` (admin logins only) refunds one order of a canceled show
whose cancellation that supervisor signed, exactly once per order (``bo_cancel_refunds``, which no terminal writes): the order must
belong to the event named and the event must be canceled; the amount is what the
order's still-sold lines were sold for, computed here; tickets are voided and revoked
here; a card refund is recorded pending and approved by the canceling supervisor (an
active supervisor or admin, checked here), a cash refund owed at the counter.
``bo_cancel_refund_settled`` (admin logins only) marks such a pending card refund done
once the gateway took it. The console holds the gateway's credentials as it did; a
refund the gateway did not confirm stays pending and the worker's retry sweep (which
already updates refunds on its own login) sends it again with the same gateway key.

Stopping sales (the event's status, its holds, leases and free places) already is within
the admin login's grants (0009, and it is a monitor).

``bo_guard_refund`` lets through exactly the refund rows ``bo_cancel_refund_order``
writes (their ids are in ``bo_cancel_refunds``, in the same transaction); every other
refund a terminal writes is checked as before.
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None

UPGRADE = """

-- One cancellation refund per order, ever: written only by bo_cancel_refund_order (no
-- terminal has a grant on it). bo_guard_refund lets exactly these refund rows through.
create table bo_cancel_refunds (
  order_id uuid primary key references orders (id),
  refund_id uuid not null unique,
  event_id integer not null references events (id),
  terminal_id integer not null references terminals (id),
  approved_by integer references operators (id),
  created_at timestamptz not null default now()
);

-- Who signed a show's cancellation: a supervisor who typed their PIN on that admin login
-- (checked by bo_cancel_sign). Its orders are refunded only under such a signature.
create table bo_event_cancels (
  event_id integer not null references events (id),
  operator_id integer not null references operators (id),
  terminal_id integer not null references terminals (id),
  signed_at timestamptz not null default now(),
  primary key (event_id, operator_id)
);

-- The caller is the owner or a live admin login (the back office's console); its
-- terminal, and the canceling operator checked to be an active supervisor or admin.
create function bo_cancel_caller(p_terminal integer, p_operator integer)
returns integer language plpgsql stable security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer;
  v_role text;
begin
  if not bo_is_owner() and not pg_has_role(session_user, 'boxoffice_admin', 'MEMBER') then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a show is canceled from the back office''s admin login';
  end if;
  v_term := bo_acting_terminal(p_terminal);
  if v_term is null then
    raise exception 'not_authorized' using errcode = '42501', detail = 'no terminal';
  end if;
  select o.role into v_role from operators o where o.id = p_operator and o.active;
  if v_role is null or v_role not in ('supervisor', 'admin') then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a show is canceled by an active supervisor';
  end if;
  return v_term;
end $$;

-- A supervisor signs the cancellation of a show with the one-use proof that they just
-- typed their PIN on this login (bo_authenticate); every run of a cancel (a resumed one
-- too) is signed. The owner's tools are trusted with the operator they name.
create function bo_cancel_sign(p_event integer, p_terminal integer, p_operator integer,
                               p_proof uuid)
returns void language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_cancel_caller(p_terminal, p_operator);
begin
  if not exists (select 1 from events e where e.id = p_event) then
    raise exception 'unknown_event' using detail = json_build_object('event_id', p_event)::text;
  end if;
  if not bo_consume_supervisor_proof(p_operator, p_proof) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a show is canceled by a supervisor who types their PIN';
  end if;
  insert into bo_event_cancels (event_id, operator_id, terminal_id)
  values (p_event, p_operator, v_term)
  on conflict (event_id, operator_id) do update set signed_at = now(),
                                                    terminal_id = excluded.terminal_id;
end $$;

-- The refund of one order of a canceled show, exactly once per order: every line still
-- sold is returned (seats and GA places freed), the order refunded, its tickets voided
-- and revoked, and a refund row of the amount those lines were sold for written: a card
-- order's refund pending (the caller sends it to the gateway), a cash order's owed at
-- the counter, a comp's (nothing paid) done. A repeat returns the first refund.
-- outcome: refunded (done now) | exists (done before) | already_refunded (nothing left
-- sold) | deferred (the card payment is still settling).
create function bo_cancel_refund_order(p_event integer, p_order uuid, p_key uuid,
                                       p_terminal integer, p_operator integer)
returns table (outcome text, refund_id uuid, method text, status text, amount_minor bigint,
               currency text, line_ids bigint[], serials bigint[], approval_id uuid,
               comp boolean)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_term integer := bo_cancel_caller(p_terminal, p_operator);
  o record;
  r record;
  s record;
  v_event text;
  v_comp boolean;
  v_card boolean := false;
  v_lines bigint[];
  v_amount bigint;
  v_serials bigint[];
  v_rid uuid := gen_random_uuid();
  v_aid uuid;
  v_status text;
begin
  select e.status into v_event from events e where e.id = p_event for share;
  if not found then
    raise exception 'unknown_event' using detail = json_build_object('event_id', p_event)::text;
  end if;
  if v_event <> 'canceled' then
    raise exception 'event_not_canceled' using errcode = '42501',
      detail = json_build_object('event_id', p_event, 'status', v_event)::text;
  end if;
  if not bo_is_owner() and not exists (select 1 from bo_event_cancels c
                                       where c.event_id = p_event
                                         and c.operator_id = p_operator) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'this supervisor did not sign the show''s cancellation with their PIN';
  end if;
  select * into o from orders oo where oo.id = p_order and oo.event_id = p_event for update;
  if not found then
    raise exception 'unknown_order' using detail = json_build_object('order_id', p_order)::text;
  end if;
  if exists (select 1 from refunds rr where rr.key = p_key and rr.order_id <> p_order) then
    raise exception 'idempotency_conflict' using errcode = '42501';
  end if;
  select * into r from refunds rr where rr.id = (select c.refund_id from bo_cancel_refunds c
                                                 where c.order_id = p_order);
  if found then
    return query select 'exists', r.id, r.method::text, r.status::text, r.amount_minor,
                        r.currency::text, r.line_ids, null::bigint[], r.approval_id,
                        exists (select 1 from comps c where c.order_id = p_order);
    return;
  end if;
  if exists (select 1 from refunds rr where rr.key = p_key) then
    raise exception 'idempotency_conflict' using errcode = '42501';
  end if;
  if not exists (select 1 from order_lines l where l.order_id = p_order and l.status = 'sold')
  then
    return query select 'already_refunded', null::uuid, '-', null::text, 0::bigint,
                        o.currency::text, null::bigint[], null::bigint[], null::uuid, false;
    return;
  end if;
  if o.status = 'payment_unverified' then
    raise exception 'order_payment_unverified' using errcode = '42501';
  end if;
  v_comp := exists (select 1 from comps c where c.order_id = p_order);
  -- How the money came in (core.sales.refunds.card_intent): it goes back the same way.
  if not v_comp then
    select ss.tender, ss.state into s from sales ss where ss.order_id = p_order
     order by ss.state = 'completed' desc limit 1;
    if found and s.tender = 'card' then
      if s.state <> 'completed' then
        return query select 'deferred', null::uuid, 'card', null::text,
                            o.total_minor::bigint, o.currency::text, null::bigint[],
                            null::bigint[], null::uuid, false;
        return;
      end if;
      v_card := true;
    elsif coalesce(o.payment_ref, '') like 'pi\\_%' then
      v_card := true;
    elsif coalesce(o.payment_ref, '') like 'saf:%' then
      if not exists (select 1 from lease_sales ls where ls.order_id = p_order
                     and ls.card_status = 'captured' and ls.card_ref is not null) then
        return query select 'deferred', null::uuid, 'card', null::text,
                            o.total_minor::bigint, o.currency::text, null::bigint[],
                            null::bigint[], null::uuid, false;
        return;
      end if;
      v_card := true;
    end if;
  end if;
  -- The places go back (only those still sold to this order).
  with l as (
    update order_lines ol set status = 'refunded'
     where ol.order_id = p_order and ol.status = 'sold'
    returning ol.id, ol.section_id, ol.seat_id, ol.qty, ol.unit_price_minor
  ), seats as (
    update event_seats es set status = 'available', order_id = null, version = es.version + 1
     where es.event_id = p_event and es.order_id = p_order and es.status = 'sold'
       and es.seat_id in (select l.seat_id from l where l.seat_id is not null)
  ), ga as (
    update ga_inventory g set sold = g.sold - x.qty, version = g.version + 1
      from (select l.section_id, sum(l.qty) as qty from l where l.seat_id is null
            group by l.section_id) x
     where g.event_id = p_event and g.section_id = x.section_id
  )
  select array_agg(l.id order by l.id), coalesce(sum(l.qty * l.unit_price_minor), 0)
    into v_lines, v_amount from l;
  update orders oo set status = 'refunded' where oo.id = p_order;
  with v as (
    update tickets t set status = 'void', voided_at = now(),
           void_reason = 'refund: event_canceled'
     where t.order_id = p_order and t.status <> 'void'
    returning t.id, t.serial, t.event_id
  ), rv as (
    insert into revocations (serial, ticket_id, event_id, reason, terminal_id)
    select v.serial, v.id, v.event_id, 'refund: event_canceled', v_term from v
    on conflict (serial) do nothing
  )
  select coalesce(array_agg(v.serial order by v.serial), '{}') into v_serials from v;
  if v_card then
    v_status := 'pending';
    -- The canceling supervisor approves each card refund (as a counter's refund of
    -- another shift is approved), recorded here with the show's cancellation.
    v_aid := gen_random_uuid();
    insert into approvals (id, kind, terminal_id, requested_by, approved_by, reason_code,
                           entity, entity_id, amount_minor)
    values (v_aid, 'refund', v_term, null, p_operator, 'event_canceled', 'order',
            p_order::text, v_amount);
  else
    v_status := case when v_amount > 0 then 'owed' else 'succeeded' end;
  end if;
  insert into bo_cancel_refunds (order_id, refund_id, event_id, terminal_id, approved_by)
  values (p_order, v_rid, p_event, v_term, p_operator);
  insert into refunds (id, key, order_id, sale_id, line_ids, method, status, amount_minor,
                       currency, reason_code, shift_id, approval_id, terminal_id, operator_id)
  values (v_rid, p_key, p_order,
          (select ss.id from sales ss where ss.order_id = p_order
            order by ss.state = 'completed' desc limit 1),
          v_lines, case when v_card then 'card' else 'cash' end, v_status, v_amount,
          o.currency, 'event_canceled', null, v_aid, v_term, null);
  insert into payments (refund_id, order_id, shift_id, kind, method, status, amount_minor,
                        currency, idempotency_key)
  values (v_rid, p_order, null, 'refund', case when v_card then 'card' else 'cash' end,
          v_status, v_amount, o.currency, 'bo-refund-' || v_rid);
  return query select 'refunded', v_rid, case when v_card then 'card' else 'cash' end,
                      v_status, v_amount, o.currency::text, v_lines, v_serials, v_aid, v_comp;
end $$;

-- The gateway took a cancellation's card refund (the console sent it with the refund's
-- own gateway key): the pending refund and its payment are marked done, once.
create function bo_cancel_refund_settled(p_refund uuid, p_gateway_ref text,
                                         p_terminal integer, p_operator integer)
returns boolean language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_cancel_caller(p_terminal, p_operator);
begin
  if p_gateway_ref is null or p_gateway_ref !~ '^[A-Za-z0-9_:.-]{1,120}$' then
    raise exception 'invalid_input' using errcode = '22023', detail = 'gateway reference';
  end if;
  update refunds r set status = 'succeeded', gateway_ref = p_gateway_ref, updated_at = now()
   where r.id = p_refund and r.status = 'pending' and r.method = 'card'
     and exists (select 1 from bo_cancel_refunds c join events e on e.id = c.event_id
                 where c.refund_id = p_refund and e.status = 'canceled');
  if not found then
    return false;
  end if;
  update payments p set status = 'succeeded', gateway_ref = p_gateway_ref
   where p.idempotency_key = 'bo-refund-' || p_refund;
  return true;
end $$;
"""

# bo_guard_refund (0013): the owner's rows and, now, the cancellation's pass.
_GUARD_OLD = "if bo_is_owner() then\n    return new;\n  end if;\n  v_term := bo_acting_terminal(null);"
_GUARD_NEW = ("if bo_is_owner() or exists (select 1 from bo_cancel_refunds c"
              " where c.refund_id = new.id) then\n    return new;\n  end if;\n"
              "  v_term := bo_acting_terminal(null);")

DEFINERS = {
    "bo_cancel_caller(integer, integer)": None,
    "bo_cancel_sign(integer, integer, integer, uuid)": "boxoffice_admin",
    "bo_cancel_refund_order(integer, uuid, uuid, integer, integer)": "boxoffice_admin",
    "bo_cancel_refund_settled(uuid, text, integer, integer)": "boxoffice_admin",
}

DOWNGRADE = """
drop function if exists bo_cancel_refund_settled(uuid, text, integer, integer);
drop function if exists bo_cancel_refund_order(integer, uuid, uuid, integer, integer);
drop function if exists bo_cancel_sign(integer, integer, integer, uuid);
drop function if exists bo_cancel_caller(integer, integer);
drop table if exists bo_cancel_refunds;
drop table if exists bo_event_cancels;
"""


def _replace_guard(old: str, new: str) -> None:
    op.execute(f"""
        do $$
        declare d text := pg_get_functiondef('bo_guard_refund()'::regprocedure);
        begin
          if position(E'{old}' in d) = 0 then
            raise exception 'bo_guard_refund is not the one this migration knows';
          end if;
          execute replace(d, E'{old}', E'{new}');
        end $$;
    """)


def upgrade() -> None:
    op.execute(UPGRADE)
    for fn, groups in DEFINERS.items():
        op.execute(f"revoke execute on function {fn} from public")
        if groups:
            op.execute(f"grant execute on function {fn} to {groups}")
    op.execute("revoke all on bo_cancel_refunds, bo_event_cancels from public")
    # Read by the back office's reports (what a cancellation did, who signed it), written
    # by nobody but bo_cancel_refund_order and bo_cancel_sign.
    op.execute("grant select on bo_cancel_refunds, bo_event_cancels to boxoffice_admin")
    _replace_guard(_GUARD_OLD, _GUARD_NEW)


def downgrade() -> None:
    _replace_guard(_GUARD_NEW, _GUARD_OLD)
    op.execute(DOWNGRADE)
