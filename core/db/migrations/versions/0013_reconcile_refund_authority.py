"""card authorizations reconciled with the gateway; refunds approved in the database

Revision ID: 0013
Revises: 0012

Two gaps of issue 11 that a terminal's own login could walk through.

1. An invented card authorization. ``bo_confirm_sale`` sells against a payment row the
   selling terminal recorded in an earlier transaction; the database cannot ask the
   gateway whether that authorization exists, so a kiosk login could record one and sell
   on it. Every card order a terminal confirms now owes a check (``payment_checks``,
   written by a trigger on ``orders``, which no terminal may write): the worker, which
   holds the gateway's credentials, looks the intent up and records the verdict through
   ``bo_record_payment_check`` (worker only). A payment that does not reconcile marks its
   order ``payment_unverified`` and voids and revokes its tickets, so gates REJECT them.
   No terminal can write a verdict, nor move an order into or out of that status.

2. Refunds without a supervisor. The counter's role may insert refunds, mark lines
   refunded and take cash out of its drawer; the PIN check lived in the client. Now a
   refund row is checked when it is written (trigger, as the owner) by the rule of
   ``core.sales.refunds._approval_reason``: a used ticket, an order of another shift (or
   of none) or an amount over ``bo_settings.refund_approval_over_minor`` (written by the
   owner or an admin login, never by a terminal) needs an approval row of kind
   ``refund`` for this order, recorded in the same transaction by another operator than
   the one asking, and used by no other refund. A line goes back only with a refund row
   (or its order canceled), a drawer's refund movement only for a cash refund of the
   same amount and shift.

3. A customer's address on someone else's order. 0010 let a seller insert an
   ``order_contacts`` row naming itself as the terminal, for any order: a cashier could
   put its own address on a kiosk customer's order and receive that order's refund and
   cancellation mail. The row's order must now be the inserting terminal's own.

4. A thief at a kiosk trying staff PINs under a login that does not exist. 0008 audits
   a failed PIN on a kiosk for a real login only (the monitor alerts on it), and an
   unknown login walks ``bo_pin_probes`` instead, unrecorded: guessing "admin" raised no
   alarm. A trigger on ``bo_pin_probes`` now audits those failures too, as the owner,
   without the typed login (a stranger's text has no place in the audit chain).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BASE = "boxoffice_terminal"
DEFAULT_REFUND_LIMIT = 50_000  # config.settings.SalesSettings.refund_approval_over_minor

TABLES = f"""
create table payment_checks (
  order_id uuid primary key references orders (id),
  intent_id varchar(120) not null,
  hold_id uuid not null,
  terminal_id integer not null references terminals (id),
  amount_minor bigint not null,
  currency varchar(3) not null,
  due_at timestamptz not null default now(),
  result varchar(12) not null default 'pending'
    check (result in ('pending', 'authorized', 'ok', 'unverified')),
  reason varchar(60),
  intent_status varchar(30),
  checks integer not null default 0,
  checked_at timestamptz,
  checked_by name
);
-- The worker's pass reads only what is still open.
create index ix_payment_checks_open on payment_checks (due_at)
  where result in ('pending', 'authorized');
create index ix_payment_checks_unverified on payment_checks (checked_at)
  where result = 'unverified';

create table bo_settings (
  name text primary key,
  value text not null,
  updated_at timestamptz not null default now(),
  constraint ck_bo_settings_money check (name not like '%\\_minor' or value ~ '^[0-9]{{1,15}}$')
);
insert into bo_settings (name, value) values ('refund_approval_over_minor',
                                              '{DEFAULT_REFUND_LIMIT}');

alter table orders drop constraint ck_orders_status;
alter table orders add constraint ck_orders_status check (status in
  ('paid', 'partially_refunded', 'refunded', 'canceled', 'payment_unverified'));

-- One approval, one refund.
create unique index uq_refunds_approval_id on refunds (approval_id)
  where approval_id is not null;
"""

FUNCTIONS = r"""
-- A card order confirmed by a terminal owes a check against the gateway. Written here
-- from the order row itself (its reference, amount, hold and terminal), which no
-- terminal may rewrite. The owner's own tools are trusted and owe none.
create function bo_payment_check_due() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() or new.payment_ref like 'cash:%' or new.payment_ref like 'saf:%'
     or new.payment_ref = 'comp' then
    return null;
  end if;
  insert into payment_checks (order_id, intent_id, hold_id, terminal_id, amount_minor,
                              currency)
  values (new.id, new.payment_ref, new.hold_id, new.terminal_id, new.total_minor,
          new.currency)
  on conflict (order_id) do nothing;
  return null;
end $$;
-- The WHEN clause keeps cash sales (the counter's hot path) free of the function call.
create trigger bo_payment_check_due after insert on orders for each row
  when (new.payment_ref not like 'cash:%' and new.payment_ref not like 'saf:%'
        and new.payment_ref <> 'comp')
  execute function bo_payment_check_due();

-- Only the owner (and so bo_record_payment_check) moves an order into or out of
-- payment_unverified: a terminal can neither clear the mark nor fake one. Cancelling it
-- stays open (the saga's reversal of a refused capture): it gives nothing back, the
-- verdict stays in payment_checks and its tickets stay void.
create function bo_guard_unverified() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  if pg_has_role(current_user, '{owner}', 'MEMBER')
     or (old.status = 'payment_unverified' and new.status = 'canceled') then
    return new;
  end if;
  raise exception 'status_change_refused' using errcode = '42501',
    detail = format('orders %s -> %s', old.status, new.status);
end $$;
create trigger bo_guard_unverified before update of status on orders for each row
  when ((old.status = 'payment_unverified') <> (new.status = 'payment_unverified'))
  execute function bo_guard_unverified();

-- The worker's verdict on one card order. 'authorized' (captured later) is checked
-- again; 'ok' and 'unverified' are final. 'unverified' marks the order and voids and
-- revokes its tickets (the gate REJECTs them, online and from its revocation list).
create function bo_record_payment_check(p_order uuid, p_result text, p_reason text,
                                        p_intent_status text)
returns table (result text, changed boolean, tickets_voided integer, tickets_used integer,
               order_status text)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  c record;
  v_voided integer := 0;
  v_used integer := 0;
begin
  if not bo_is_owner() and not pg_has_role(session_user, 'boxoffice_worker', 'MEMBER') then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'payments are reconciled by the worker';
  end if;
  if p_result is null or p_result not in ('authorized', 'ok', 'unverified') then
    raise exception 'invalid_input' using errcode = '22023', detail = 'unknown verdict';
  end if;
  select * into c from payment_checks pc where pc.order_id = p_order for update;
  if not found then
    raise exception 'unknown_order' using detail = json_build_object('order_id', p_order)::text;
  end if;
  if c.result in ('ok', 'unverified') then
    return query select c.result::text, false, 0, 0,
                        (select o.status from orders o where o.id = p_order)::text;
    return;
  end if;
  update payment_checks pc set result = p_result, reason = left(p_reason, 60),
         intent_status = left(p_intent_status, 30), checks = pc.checks + 1,
         checked_at = now(), checked_by = session_user
   where pc.order_id = p_order;
  if p_result = 'unverified' then
    update orders o set status = 'payment_unverified'
     where o.id = p_order and o.status in ('paid', 'partially_refunded');
    with v as (
      update tickets t set status = 'void', voided_at = now(),
             void_reason = left('payment unverified: ' || coalesce(p_reason, '?'), 200)
       where t.order_id = p_order and t.status = 'valid'
      returning t.id, t.serial, t.event_id
    ), r as (
      insert into revocations (serial, ticket_id, event_id, reason, terminal_id)
      select v.serial, v.id, v.event_id, 'payment unverified', bo_my_terminal() from v
      on conflict do nothing
    )
    select count(*) into v_voided from v;
    select count(*) into v_used from tickets t where t.order_id = p_order and t.status = 'used';
  end if;
  return query select p_result, true, v_voided, v_used,
                      (select o.status from orders o where o.id = p_order)::text;
end $$;

create function bo_refund_threshold() returns bigint language sql stable
set search_path = pg_catalog, public, pg_temp as $$
  select coalesce((select value::bigint from bo_settings
                   where name = 'refund_approval_over_minor'), 0)
$$;

-- Why a refund of these lines needs a supervisor (null: it does not), by the rule of
-- core.sales.refunds._approval_reason: a ticket already used at a gate, an order of
-- another shift than this terminal's open one (or of none), an amount over the limit.
create function bo_refund_approval_reason(p_order uuid, p_lines bigint[], p_terminal integer)
returns text language plpgsql stable security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_acting_terminal(p_terminal);
  v_order_shift uuid;
  v_shift uuid;
  v_amount bigint;
begin
  if exists (select 1 from tickets t where t.order_id = p_order and t.line_id = any(p_lines)
             and t.used_at is not null) then
    return 'ticket used';
  end if;
  select o.shift_id into v_order_shift from orders o where o.id = p_order;
  select s.id into v_shift from shifts s where s.terminal_id = v_term and s.status = 'open';
  if v_order_shift is null or v_order_shift is distinct from v_shift then
    return 'another shift';
  end if;
  select coalesce(sum(l.qty * l.unit_price_minor), 0) into v_amount from order_lines l
   where l.order_id = p_order and l.id = any(p_lines);
  if v_amount > bo_refund_threshold() then
    return 'amount over limit';
  end if;
  return null;
end $$;

-- A refund row written by a terminal: its own, for lines of the order that no other
-- refund has taken, at their price, money back the way it came in, and approved by
-- another operator in this transaction when the rule says so.
create function bo_guard_refund() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer;
  o record;
  a record;
  v_lines integer;
  v_amount bigint;
  v_shift uuid;
  v_why text;
begin
  if bo_is_owner() then
    return new;
  end if;
  v_term := bo_acting_terminal(null);
  if new.terminal_id is distinct from v_term then
    raise exception 'foreign_terminal' using errcode = '42501',
      detail = 'a terminal records its own refunds';
  end if;
  select * into o from orders where id = new.order_id;
  if not found then
    raise exception 'unknown_order' using detail = json_build_object('order_id', new.order_id)::text;
  end if;
  if o.status = 'payment_unverified' then
    raise exception 'order_payment_unverified' using errcode = '42501';
  end if;
  select count(*), coalesce(sum(l.qty * l.unit_price_minor), 0) into v_lines, v_amount
    from order_lines l where l.order_id = new.order_id and l.id = any(new.line_ids);
  if v_lines = 0 or v_lines <> cardinality(new.line_ids) or v_amount <> new.amount_minor
     or new.currency <> o.currency then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a refund is of the order''s own lines, at their price';
  end if;
  if exists (select 1 from refunds r where r.order_id = new.order_id
             and r.line_ids && new.line_ids) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a line is refunded once';
  end if;
  select s.id into v_shift from shifts s where s.terminal_id = v_term and s.status = 'open';
  if not ((new.method = 'cash' and new.status = 'succeeded' and new.shift_id = v_shift
           and bo_tender_of(o.payment_ref) <> 'card')
          or (new.method = 'card' and new.status = 'pending'
              and bo_tender_of(o.payment_ref) = 'card')) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'money goes back the way it came: cash from this terminal''s open drawer, a card to its card';
  end if;
  v_why := bo_refund_approval_reason(new.order_id, new.line_ids, v_term);
  if v_why is not null then
    select * into a from approvals ap where ap.id = new.approval_id;
    if new.approval_id is null or not found or a.kind <> 'refund' or a.entity <> 'order'
       or a.entity_id <> new.order_id::text or a.terminal_id <> v_term
       or a.approved_by is not distinct from new.operator_id
       or a.requested_by is distinct from new.operator_id
       or coalesce(a.amount_minor, -1) < new.amount_minor or a.created_at <> now()
       or exists (select 1 from refunds r where r.approval_id = new.approval_id) then
      raise exception 'approval_required' using errcode = '42501',
        detail = json_build_object('why', v_why)::text;
    end if;
  end if;
  return new;
end $$;
create trigger bo_guard_refund before insert on refunds for each row
  execute function bo_guard_refund();

-- A line goes back to the house with its refund row (or its order canceled: a reversed
-- card sale): checked at commit, whatever the order of the statements.
create function bo_guard_line_refund() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() then
    return null;
  end if;
  if exists (select 1 from refunds r where r.order_id = new.order_id and new.id = any(r.line_ids))
     or exists (select 1 from orders o where o.id = new.order_id
                and o.status in ('canceled', 'payment_unverified')) then
    return null;
  end if;
  raise exception 'approval_required' using errcode = '42501',
    detail = json_build_object('why', 'no refund recorded')::text;
end $$;
create constraint trigger bo_guard_line_refund after update of status on order_lines
  deferrable initially deferred for each row
  when (old.status = 'sold' and new.status <> 'sold')
  execute function bo_guard_line_refund();

-- Cash leaves a drawer as a refund only for a cash refund of that drawer, once.
create function bo_guard_cash_refund() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() then
    return new;
  end if;
  if new.refund_id is null or not exists (
       select 1 from refunds r where r.id = new.refund_id and r.method = 'cash'
         and r.status = 'succeeded' and r.shift_id = new.shift_id
         and r.amount_minor = -new.amount_minor)
     or exists (select 1 from cash_movements m where m.refund_id = new.refund_id) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'cash leaves the drawer only for a recorded cash refund';
  end if;
  return new;
end $$;
create trigger bo_guard_cash_refund before insert on cash_movements for each row
  when (new.kind = 'refund') execute function bo_guard_cash_refund();
"""

DEFINERS = {
    "bo_payment_check_due()": None,
    "bo_guard_unverified()": None,
    "bo_record_payment_check(uuid, text, text, text)": "boxoffice_worker",
    "bo_refund_threshold()": BASE,
    "bo_refund_approval_reason(uuid, bigint[], integer)": BASE,
    "bo_guard_refund()": None,
    "bo_guard_line_refund()": None,
    "bo_guard_cash_refund()": None,
}


def upgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(TABLES)
    op.execute(FUNCTIONS.replace("{owner}", owner))
    for fn, groups in DEFINERS.items():
        op.execute(f"revoke execute on function {fn} from public")
        if groups:
            op.execute(f"grant execute on function {fn} to {groups}")
    # Verdicts are read by every kind (the monitor's alert, the gate's reasons); written
    # by nobody but bo_record_payment_check. The refund limit is the owner's or an
    # admin login's to change, never a terminal's.
    op.execute("revoke all on payment_checks, bo_settings from public")
    op.execute(f"grant select on payment_checks, bo_settings to {BASE}")
    op.execute("grant insert, update (value, updated_at) on bo_settings to boxoffice_admin")
    op.execute(PROBE_AUDIT)
    op.execute("revoke execute on function bo_probe_failed() from public")
    op.execute("""alter policy bo_insert on order_contacts with check (
        terminal_id = (select bo_my_terminal())
        and exists (select 1 from orders o where o.id = order_id
                    and o.terminal_id = (select bo_my_terminal())))""")


PROBE_AUDIT = """
create function bo_probe_failed() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_my_terminal();
begin
  if v_term is not null and (select kind from terminals where id = v_term) = 'kiosk' then
    perform audit_link((select name from terminals where id = v_term), 'pin_failed',
                       json_build_object('login', null,
                                         'lockout', new.lockouts > old.lockouts)::text);
  end if;
  return null;
end $$;
create trigger bo_probe_failed after update on bo_pin_probes for each row
  when (new.failures > old.failures or new.lockouts > old.lockouts)
  execute function bo_probe_failed();
"""


def downgrade() -> None:
    op.execute("drop trigger if exists bo_probe_failed on bo_pin_probes;"
               " drop function if exists bo_probe_failed();")
    op.execute("alter policy bo_insert on order_contacts with check"
               " (terminal_id = (select bo_my_terminal()))")
    op.execute("""
        drop trigger if exists bo_guard_cash_refund on cash_movements;
        drop trigger if exists bo_guard_line_refund on order_lines;
        drop trigger if exists bo_guard_refund on refunds;
        drop trigger if exists bo_guard_unverified on orders;
        drop trigger if exists bo_payment_check_due on orders;
        drop function if exists bo_guard_cash_refund();
        drop function if exists bo_guard_line_refund();
        drop function if exists bo_guard_refund();
        drop function if exists bo_refund_approval_reason(uuid, bigint[], integer);
        drop function if exists bo_refund_threshold();
        drop function if exists bo_record_payment_check(uuid, text, text, text);
        drop function if exists bo_guard_unverified();
        drop function if exists bo_payment_check_due();
        drop index if exists uq_refunds_approval_id;
        update orders set status = 'canceled' where status = 'payment_unverified';
        alter table orders drop constraint ck_orders_status;
        alter table orders add constraint ck_orders_status check (status in
          ('paid', 'partially_refunded', 'refunded', 'canceled'));
        drop table if exists bo_settings;
        drop table if exists payment_checks;
    """)
