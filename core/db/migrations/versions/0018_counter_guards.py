"""the counter's last client claims, checked by the database

Revision ID: 0018
Revises: 0017

Issue 11's remainder for the counter and the worker: what a cashier's (or the worker's)
own login could still write with nothing but the client's word for it.

1. The drawer. A cashier login inserted any ``cash_movements`` row: a ``paid_out`` (or a
   negative ``sale``) lowers the expected cash and hides a skim. Now (trigger, for every
   kind but ``refund``, which 0013 guards): cash moves only in the terminal's own open
   shift; ``float`` once, in the transaction that opened the shift, as much as the shift
   says; ``sale`` only for a cash sale of this shift that bo_confirm_sale made an order of,
   its total, once; ``paid_in``/``paid_out`` (signed) only with an approval of that kind
   and amount for this shift, recorded in the same transaction, asked by the shift's
   cashier and approved by another operator (bo_record_approval: the supervisor's PIN
   typed on this login), one approval per movement (``core.sales.shifts.pay_out``).
2. The shift itself. The counter's UPDATE of ``shifts`` wrote expected cash, count and
   variance as it liked: a cashier closed its own shift with expected = counted. Now a
   shift opens for an active operator on its own counter with nothing counted; the count
   happens once, with the expected cash computed here from the movements; closing with a
   variance over ``bo_settings.variance_approval_over_minor`` (the owner's or an admin's)
   needs a ``shift_variance`` approval of this shift and amount, recorded in the same
   transaction by another operator than the shift's; a closed shift stays closed. The
   monitor loses INSERT on shifts (it never opens one).
3. Who sold, who asked. An order or a sale recorded on a shift names that shift's
   operator (or nobody): an offline sale replayed through bo_confirm_leased_sale included,
   whose operator came from the client's journal (the cashier who sold offline is the
   operator of the shift the sale is recorded on; bo_confirm_leased_sale already checks
   that shift is the caller's own). A counter's refund names the operator of its open
   shift as the one who asked, and its approver is never that operator.
4. Payment outcomes. A terminal changes the status of its own payments only (the worker,
   which drives every terminal's stuck sales, any), following the record it belongs to,
   moved first in the same transaction and only forward: a sale's payment follows the
   saga's state (authorized, completed -> captured, declined, voided, reversed), a
   refund's payment its refund, a stored card's (offline) payment the outcome on its
   ``lease_sales`` row; the gateway reference, brand and last 4 change only with the
   status, and a payment stays with its order. A stored card's outcome is pending ->
   captured | declined once (a decline flagged). The counter updates only its own sales
   (row security; it updated any terminal's sale before), and a sale that has its order
   keeps its intent (a card refund goes back to it).
6. Orders and seats. A counter's status grants reached every terminal's order and seat:
   an order becomes refunded with its refund row only, canceled only by the reversal of
   its own sale (or the worker's), and a sold seat goes back on sale only with its line
   refunded or its order canceled (checked at commit).
5. The worker's writes. It inserted orders, order lines and tickets (and was exempt from
   bo_guard_direct), refunds, sales, holds, lease_sales and sync conflicts, and updated
   any column of leases, lease_seats and lease_sales. Everything it does goes through the
   sale functions (definers) or updates: those grants are revoked, with the order
   numbers' sequence.

Guards skip the owner's own sessions and statements run inside the owner's definer
functions (``current_user``), which check for themselves; the orders trigger looks at
``session_user``, because orders are only written inside definers.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None

UPGRADE = r"""
insert into bo_settings (name, value) values ('variance_approval_over_minor', '2000')
  on conflict (name) do nothing;

create function bo_guard_cash_movement() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_my_terminal();
  s record;
  v_ok boolean := false;
begin
  select sh.id, sh.terminal_id, sh.operator_id, sh.status, sh.opening_float_minor,
         sh.opened_at
    into s from shifts sh where sh.id = new.shift_id;
  if v_term is null or s.id is null or s.terminal_id <> v_term or s.status <> 'open' then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'cash moves only in this terminal''s own open drawer';
  end if;
  if new.kind = 'float' then
    -- Once, in the transaction that opened the drawer, as much as the shift says.
    v_ok := s.opened_at = now() and new.amount_minor = s.opening_float_minor
            and new.sale_id is null and new.refund_id is null
            and not exists (select 1 from cash_movements m where m.shift_id = new.shift_id
                              and m.kind = 'float');
  elsif new.kind = 'sale' then
    -- A cash sale of this drawer that bo_confirm_sale turned into an order, its total, once.
    v_ok := new.refund_id is null and exists (
        select 1 from sales x join orders o on o.hold_id = x.hold_id
        where x.id = new.sale_id and x.tender = 'cash' and x.terminal_id = v_term
          and x.shift_id = new.shift_id and x.amount_minor = new.amount_minor
          and o.payment_ref = 'cash:' || x.id and o.shift_id = new.shift_id
          and o.total_minor = new.amount_minor)
      and not exists (select 1 from cash_movements m where m.shift_id = new.shift_id
                        and m.sale_id = new.sale_id);
  elsif new.kind in ('paid_in', 'paid_out') then
    -- One supervisor's approval per movement, of this kind and amount, for this drawer,
    -- recorded in this transaction, asked by the shift's cashier and approved by another.
    v_ok := new.sale_id is null and new.refund_id is null
      and case when new.kind = 'paid_in' then new.amount_minor > 0
               else new.amount_minor < 0 end
      and (select count(*) from approvals a
           where a.kind = new.kind and a.entity = 'shift' and a.entity_id = new.shift_id::text
             and a.terminal_id = v_term and a.created_at = now()
             and a.amount_minor = abs(new.amount_minor) and a.requested_by = s.operator_id
             and a.approved_by <> s.operator_id)
        > (select count(*) from cash_movements m
           where m.shift_id = new.shift_id and m.kind = new.kind
             and m.amount_minor = new.amount_minor and m.created_at = now());
    if not v_ok then
      raise exception 'approval_required' using errcode = '42501',
        detail = json_build_object('why', new.kind)::text;
    end if;
  end if;
  if not v_ok then
    raise exception 'not_authorized' using errcode = '42501', detail = format(
      'a %s movement is written by its own flow (float: opening the drawer; sale: a cash sale)',
      new.kind);
  end if;
  return new;
end $$;
create trigger bo_guard_cash_movement before insert on cash_movements for each row
  when (new.kind <> 'refund' and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_cash_movement();

create function bo_guard_shift() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_my_terminal();
  v_expected bigint;
  v_limit bigint;
  a record;
begin
  if tg_op = 'INSERT' then
    if v_term is null or new.terminal_id is distinct from v_term
       or (select l.kind from terminal_logins l where l.login = session_user)
          is distinct from 'cashier'
       or new.status <> 'open' or new.opening_float_minor < 0 or new.opened_at <> now()
       or num_nonnulls(new.closed_at, new.expected_cash_minor, new.counted_cash_minor,
                       new.variance_minor, new.approval_id) > 0
       or not exists (select 1 from operators o where o.id = new.operator_id and o.active) then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'a counter opens its own drawer, for an active operator, nothing counted yet';
    end if;
    return new;
  end if;
  if old.status = 'closed' then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = 'a closed shift stays as it was closed';
  end if;
  if new.status = 'open' then
    if old.status <> 'open' or num_nonnulls(new.closed_at, new.expected_cash_minor,
                                             new.counted_cash_minor, new.variance_minor,
                                             new.approval_id) > 0 then
      raise exception 'status_change_refused' using errcode = '42501',
        detail = 'an open shift has nothing counted';
    end if;
    return new;
  end if;
  if old.status = 'open' then
    select coalesce(sum(m.amount_minor), 0) into v_expected
      from cash_movements m where m.shift_id = old.id;
    if new.expected_cash_minor is distinct from v_expected or new.counted_cash_minor is null
       or new.variance_minor is distinct from new.counted_cash_minor - v_expected then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'expected cash is the sum of the drawer''s movements, the variance the count minus it';
    end if;
  elsif (new.expected_cash_minor, new.counted_cash_minor, new.variance_minor)
        is distinct from (old.expected_cash_minor, old.counted_cash_minor, old.variance_minor)
  then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a blind count is entered once';
  end if;
  if new.status = 'pending_approval' then
    if new.closed_at is not null or new.approval_id is not null then
      raise exception 'status_change_refused' using errcode = '42501',
        detail = 'a shift waiting for approval is not closed';
    end if;
    return new;
  end if;
  if new.closed_at is distinct from now() then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a shift closes now, by the database clock';
  end if;
  v_limit := coalesce((select st.value::bigint from bo_settings st
                       where st.name = 'variance_approval_over_minor'), 0);
  if new.approval_id is not null or abs(new.variance_minor) > v_limit then
    select * into a from approvals ap where ap.id = new.approval_id;
    if new.approval_id is null or not found or a.kind <> 'shift_variance'
       or a.entity <> 'shift' or a.entity_id <> old.id::text
       or a.approved_by = old.operator_id or a.created_at <> now()
       or a.amount_minor is distinct from new.variance_minor then
      raise exception 'approval_required' using errcode = '42501',
        detail = json_build_object('why', 'variance')::text;
    end if;
  end if;
  return new;
end $$;
create trigger bo_guard_shift before insert or update on shifts for each row
  when (not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_shift();

create function bo_guard_operator() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer;
  v_op integer;
  v_found boolean;
  v_shift uuid;
  a record;
begin
  if bo_is_owner() then
    return new;
  end if;
  v_term := bo_my_terminal();
  if tg_table_name = 'refunds' then
    if (select l.kind from terminal_logins l where l.login = session_user)
       is distinct from 'cashier' then
      return new;
    end if;
    select sh.id, sh.operator_id into v_shift, v_op from shifts sh
      where sh.terminal_id = v_term and sh.status = 'open';
    v_found := v_shift is not null;
  else
    v_shift := new.shift_id;
    select sh.operator_id into v_op from shifts sh where sh.id = v_shift;
    v_found := found;
  end if;
  if new.operator_id is not null and (
       (v_found and new.operator_id <> v_op)
       or (not v_found and not exists (select 1 from operators o
                                       where o.id = new.operator_id and o.active))) then
    raise exception 'not_authorized' using errcode = '42501', detail = format(
      '%s: the operator is the one whose shift is open on this counter', tg_table_name);
  end if;
  if tg_table_name = 'refunds' then
    -- (nested: PL/pgSQL evaluates both sides of an AND, and only refunds have this field)
    if new.approval_id is not null then
      select * into a from approvals ap where ap.id = new.approval_id;
      if found and a.approved_by is not distinct from new.operator_id then
        raise exception 'self_approval' using errcode = '42501',
          detail = 'nobody approves their own refund';
      end if;
    end if;
  end if;
  return new;
end $$;
create trigger bo_guard_operator before insert on orders for each row
  when (new.shift_id is not null and new.operator_id is not null)
  execute function bo_guard_operator();
create trigger bo_guard_operator before insert on sales for each row
  when (new.shift_id is not null and new.operator_id is not null)
  execute function bo_guard_operator();
-- Named to fire after bo_guard_refund (alphabetical order), whose refusals say more.
create trigger bo_guard_requester before insert or update of operator_id on refunds
  for each row when (not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_operator();

create function bo_guard_payment() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_my_terminal();
  v_any boolean := pg_has_role(session_user, 'boxoffice_worker', 'MEMBER');
  v_of integer;
  v_now text;
  v_ok boolean;
begin
  if old.kind = 'refund' then
    select r.terminal_id, r.status into v_of, v_now from refunds r where r.id = old.refund_id;
  elsif old.sale_id is not null then
    select s.terminal_id, case s.state when 'authorized' then 'authorized'
             when 'completed' then 'captured' when 'declined' then 'declined'
             when 'voided' then 'voided' when 'reversed' then 'reversed' end
      into v_of, v_now from sales s where s.id = old.sale_id;
  else
    select ls.terminal_id, ls.card_status into v_of, v_now
      from lease_sales ls where ls.order_id = old.order_id;
  end if;
  if not v_any and (v_term is null or v_of is distinct from v_term) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a terminal records the outcome of its own payments only';
  end if;
  if old.order_id is not null and new.order_id is distinct from old.order_id then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a payment stays with its order';
  end if;
  if new.status is not distinct from old.status then
    if (new.gateway_ref, new.brand, new.last4)
       is distinct from (old.gateway_ref, old.brand, old.last4) then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'a payment''s reference changes only with its outcome';
    end if;
    return new;
  end if;
  -- The status follows the record it belongs to (the refund, the sale's saga state, the
  -- stored card's outcome), moved first in the same transaction, and only forward.
  v_ok := new.status is not distinct from v_now and case
    when old.kind = 'refund' then old.status in ('pending', 'owed') and new.status = 'succeeded'
    when old.sale_id is null then old.status = 'pending' and new.status in ('captured', 'declined')
    else old.status = 'pending'
         or (old.status = 'authorized' and new.status in ('captured', 'reversed', 'declined',
                                                          'voided'))
         or (old.status = 'captured' and new.status = 'reversed') end;
  if not v_ok then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = format('payments %s -> %s (its record says %s)', old.status, new.status,
                      coalesce(v_now, 'nothing'));
  end if;
  return new;
end $$;
create trigger bo_guard_payment before update of status, gateway_ref, order_id, brand, last4
  on payments for each row when (not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_payment();

create function bo_guard_card_outcome() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  if new.card_status is not distinct from old.card_status then
    if (new.card_ref, new.flag) is distinct from (old.card_ref, old.flag) then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'a stored card''s reference and flag change only with its outcome';
    end if;
    return new;
  end if;
  if old.payment_method is distinct from 'card_saf' or old.card_status is distinct from 'pending'
     or new.card_status not in ('captured', 'declined')
     or (new.card_status = 'captured' and new.flag is distinct from old.flag)
     or (new.card_status = 'declined'
         and new.flag is distinct from 'card_declined_at_capture') then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = format('lease_sales card %s -> %s', old.card_status, new.card_status);
  end if;
  return new;
end $$;
create trigger bo_guard_card_outcome before update on lease_sales for each row
  when (not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_card_outcome();

-- A sold seat goes back on sale only with its order line refunded (a refund row, 0013) or
-- its order canceled: a counter's column grant let it free any terminal's sold seat and
-- sell it twice. Checked at commit, whatever the order of the statements.
create function bo_guard_unsell() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if exists (select 1 from order_lines l where l.order_id = old.order_id
               and l.seat_id = old.seat_id and l.status <> 'sold')
     or exists (select 1 from orders o where o.id = old.order_id
                  and o.status in ('canceled', 'payment_unverified')) then
    return null;
  end if;
  raise exception 'status_change_refused' using errcode = '42501',
    detail = 'a sold seat goes back on sale only with its refund';
end $$;
create constraint trigger bo_guard_unsell after update of status on event_seats
  deferrable initially deferred for each row
  when (old.status = 'sold' and new.status <> 'sold'
        and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_unsell();

-- Once a sale has its order, its intent is the one the order was confirmed on, and a
-- card refund goes back to it: a counter rewriting it sent a customer's refund to another
-- card.
create function bo_guard_sale_record() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  raise exception 'not_authorized' using errcode = '42501',
    detail = 'a sale''s payment reference and order stay as they were confirmed';
end $$;
create trigger bo_guard_sale_record before update of intent_id, order_id on sales
  for each row
  when (old.order_id is not null
        and (new.intent_id is distinct from old.intent_id
             or new.order_id is distinct from old.order_id)
        and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_sale_record();

-- An order's status moves with its money: refunded (or partly) in the transaction that
-- records its refund, canceled only by the reversal of its own sale (its terminal, the
-- sale 'reversing') or by the worker. A counter's UPDATE of orders.status reached every
-- terminal's order: a canceled order frees its seats. Checked at commit (the refund row
-- is written after the order's status).
create function bo_guard_order_status() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_status text;
begin
  select o.status into v_status from orders o where o.id = new.id;
  if v_status is distinct from new.status then
    return null;  -- moved again later in the transaction: that row's check decides
  end if;
  if v_status in ('refunded', 'partially_refunded') then
    if exists (select 1 from refunds r where r.order_id = new.id and r.created_at = now()) then
      return null;
    end if;
  elsif v_status = 'canceled' then
    -- (An order the worker found unverified took no money: its terminal may cancel it,
    -- as 0013 allows.)
    if pg_has_role(session_user, 'boxoffice_worker', 'MEMBER')
       or (new.terminal_id = bo_my_terminal()
           and (old.status = 'payment_unverified' or exists (
                  select 1 from sales s where s.order_id = new.id
                    and s.state in ('reversing', 'reversed')))) then
      return null;
    end if;
  else
    return null;
  end if;
  raise exception 'status_change_refused' using errcode = '42501', detail = format(
    'orders -> %s: with its refund, or by the reversal of its own sale', v_status);
end $$;
create constraint trigger bo_guard_order_status after update of status on orders
  deferrable initially deferred for each row
  when (new.status is distinct from old.status
        and new.status in ('refunded', 'partially_refunded', 'canceled')
        and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_order_status();

alter policy bo_counter_update on sales
  using (terminal_id = (select bo_my_terminal()))
  with check (terminal_id = (select bo_my_terminal()));

revoke insert on shifts from boxoffice_monitor;
revoke insert on orders, order_lines, tickets, refunds, lease_sales, sales, holds, hold_items,
  sync_conflicts from boxoffice_worker;
revoke update on leases, lease_seats, lease_sales from boxoffice_worker;
do $$ begin
  execute format('revoke usage on sequence %s from boxoffice_worker',
                 pg_get_serial_sequence('orders', 'number'));
end $$;
"""

DOWNGRADE = r"""
drop trigger if exists bo_guard_order_status on orders;
drop function if exists bo_guard_order_status();
drop trigger if exists bo_guard_sale_record on sales;
drop function if exists bo_guard_sale_record();
drop trigger if exists bo_guard_unsell on event_seats;
drop function if exists bo_guard_unsell();
do $$ begin
  execute format('grant usage on sequence %s to boxoffice_worker',
                 pg_get_serial_sequence('orders', 'number'));
end $$;
grant update on leases, lease_seats, lease_sales to boxoffice_worker;
grant insert on orders, order_lines, tickets, refunds, lease_sales, sales, holds, hold_items,
  sync_conflicts to boxoffice_worker;
grant insert on shifts to boxoffice_monitor;
alter policy bo_counter_update on sales using (true) with check (true);
drop trigger if exists bo_guard_card_outcome on lease_sales;
drop function if exists bo_guard_card_outcome();
drop trigger if exists bo_guard_payment on payments;
drop function if exists bo_guard_payment();
drop trigger if exists bo_guard_requester on refunds;
drop trigger if exists bo_guard_operator on sales;
drop trigger if exists bo_guard_operator on orders;
drop function if exists bo_guard_operator();
drop trigger if exists bo_guard_shift on shifts;
drop function if exists bo_guard_shift();
drop trigger if exists bo_guard_cash_movement on cash_movements;
drop function if exists bo_guard_cash_movement();
delete from bo_settings where name = 'variance_approval_over_minor';
"""

# Trigger functions only: no login calls them.
FUNCTIONS = ("bo_guard_cash_movement()", "bo_guard_shift()", "bo_guard_operator()",
             "bo_guard_payment()", "bo_guard_card_outcome()", "bo_guard_unsell()",
             "bo_guard_sale_record()", "bo_guard_order_status()")


def upgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(UPGRADE.replace("{owner}", owner))
    for fn in FUNCTIONS:
        op.execute(f"revoke execute on function {fn} from public")


def downgrade() -> None:
    op.execute(DOWNGRADE)
