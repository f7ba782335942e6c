"""inventory a terminal's login cannot bend: no seat or GA place freed, held or taken
from another seller outside the sale's own steps

Revision ID: 0020
Revises: 0019

Found by trying a kiosk's and a counter's own logins against the inventory tables
(issue 11). Their grants let them update the columns a hold and a refund write, and the
row-security policies only kept them off blocked seats, so each of these worked:

1. A counter set any sold seat ``available`` (``bo_guard_inventory`` let a cashier free
   sold seats unconditionally): the seat sold again while the first ticket stayed valid,
   an oversold seat. Now a sold seat goes back only when its order line is refunded (or
   its order canceled) in the same transaction, checked at commit.
2. A kiosk set ``ga_inventory.sold`` to 0: a general-admission section could be sold
   again in full. Now ``sold`` falls only with refunded lines: at commit a section never
   counts fewer sold places than its sold lines. ``held`` moves only with active holds:
   a kiosk can no longer mark a section sold out (held raised) or make other customers'
   holds unconfirmable (held lowered).
3. A kiosk marked every available seat of an event ``held`` under a made-up hold for six
   hours, and could move another terminal's live hold onto its own or release it. Now
   a seat is held only by an active hold of the caller's own terminal and event, for no
   longer than that hold, and a live hold of another terminal is left alone.
4. A counter voided any terminal's tickets (its status grant and an open update policy):
   a guest with a paid ticket is turned away at the door. Now a ticket is voided only
   with its refunded line or its order over (canceled, refunded, payment unverified, or
   an offline card sale whose stored card was declined).
5. A kiosk's own flow could still hold the whole house, hold after hold. A kiosk now
   holds at most ``bo_settings.kiosk_max_held_places`` places at once (default 20: a
   customer buys at most 6, and a crashed session's holds linger until they expire).

The checks that need the transaction's final state (1-4) are deferred constraint
triggers: a hold is written by one statement with several parts whose order inside the
statement is the planner's. They are queued only for rows changed by a terminal's login
itself (``current_user``), never inside the owner's definer functions or the worker.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None

UPGRADE = r"""
create index if not exists ix_order_lines_ga_sold on order_lines (event_id, section_id)
  where seat_id is null and status = 'sold';

insert into bo_settings (name, value) values ('kiosk_max_held_places', '20')
  on conflict (name) do nothing;

-- 1. A sold seat freed by a terminal: its line is refunded or its order is over.
create function bo_check_seat_returned() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if exists (select 1 from event_seats es where es.event_id = new.event_id
               and es.seat_id = new.seat_id and es.status = 'sold'
               and es.order_id = old.order_id) then
    return null;
  end if;
  if exists (select 1 from order_lines l join orders o on o.id = l.order_id
              where l.order_id = old.order_id and l.event_id = old.event_id
                and l.seat_id = old.seat_id and l.status = 'sold'
                and o.status not in ('canceled', 'refunded')) then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = 'event_seats: a sold seat goes back on sale only with its refunded line';
  end if;
  return null;
end $$;
create constraint trigger bo_check_seat_returned after update on event_seats
  deferrable initially deferred for each row
  when (old.status = 'sold' and new.status <> 'sold'
        and not pg_has_role(current_user, '{owner}', 'MEMBER')
        and not pg_has_role(current_user, 'boxoffice_worker', 'MEMBER'))
  execute function bo_check_seat_returned();

-- 2. GA counters move only with what they count. Checked in the direction of the change,
-- so a count the owner set by hand (a seeded sell-out) does not block a legitimate step.
create function bo_check_ga_counts() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  g ga_inventory;
  v_held bigint;
  v_sold bigint;
begin
  select * into g from ga_inventory where event_id = new.event_id
    and section_id = new.section_id;
  if new.held <> old.held then
    select coalesce(sum(hi.qty), 0) into v_held from holds h
      join hold_items hi on hi.hold_id = h.id
     where h.status = 'active' and h.event_id = g.event_id
       and hi.section_id = g.section_id and hi.seat_id is null;
    if (new.held > old.held and g.held > v_held)
       or (new.held < old.held and g.held < v_held) then
      raise exception 'status_change_refused' using errcode = '42501',
        detail = format('ga_inventory: held %s but active holds hold %s', g.held, v_held);
    end if;
  end if;
  if new.sold < old.sold then
    select coalesce(sum(l.qty), 0) into v_sold from order_lines l
     where l.event_id = g.event_id and l.section_id = g.section_id
       and l.seat_id is null and l.status = 'sold';
    if g.sold < v_sold then
      raise exception 'status_change_refused' using errcode = '42501',
        detail = format('ga_inventory: sold %s but %s places are sold', g.sold, v_sold);
    end if;
  end if;
  return null;
end $$;
create constraint trigger bo_check_ga_counts after update on ga_inventory
  deferrable initially deferred for each row
  when ((new.held <> old.held or new.sold <> old.sold)
        and not pg_has_role(current_user, '{owner}', 'MEMBER')
        and not pg_has_role(current_user, 'boxoffice_worker', 'MEMBER'))
  execute function bo_check_ga_counts();

-- 3a. Another terminal's live hold is not the caller's to release or take over.
create function bo_guard_foreign_hold() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if exists (select 1 from holds h where h.id = old.hold_id
               and h.terminal_id is distinct from bo_my_terminal()) then
    raise exception 'foreign_hold' using errcode = '42501', detail = '{}';
  end if;
  return new;
end $$;
create trigger bo_guard_foreign_hold before update on event_seats for each row
  when (old.hold_id is not null and new.hold_id is distinct from old.hold_id
        and old.hold_expires_at > now()
        and (pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
             or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER'))
        and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_foreign_hold();

-- 3b. A seat is held only under an active hold of the caller's terminal, for that event,
-- and no longer than the hold itself.
create function bo_check_seat_hold() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  es event_seats;
  h holds;
begin
  select * into es from event_seats where event_id = new.event_id and seat_id = new.seat_id;
  if es.status <> 'held' or es.hold_id is null then
    return null;
  end if;
  select * into h from holds where id = es.hold_id;
  if h.id is null or h.event_id <> es.event_id or h.status <> 'active'
     or h.terminal_id is distinct from bo_my_terminal()
     or es.hold_expires_at > h.expires_at then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = 'event_seats: a seat is held only under an active hold of this terminal';
  end if;
  return null;
end $$;
create constraint trigger bo_check_seat_hold after update on event_seats
  deferrable initially deferred for each row
  when (new.hold_id is not null
        and (new.hold_id is distinct from old.hold_id
             or new.hold_expires_at is distinct from old.hold_expires_at)
        and not pg_has_role(current_user, '{owner}', 'MEMBER')
        and not pg_has_role(current_user, 'boxoffice_worker', 'MEMBER'))
  execute function bo_check_seat_hold();

-- 4. A kiosk holds a bounded number of places at once.
create function bo_guard_kiosk_holds() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_limit integer := coalesce((select value::integer from bo_settings
                               where name = 'kiosk_max_held_places'), 20);
  v_held bigint;
begin
  select coalesce(sum(hi.qty), 0) into v_held from holds h
    join hold_items hi on hi.hold_id = h.id
   where h.terminal_id = new.terminal_id and h.status = 'active' and h.expires_at > now();
  if v_held >= v_limit then
    raise exception 'hold_limit_reached' using errcode = '42501',
      detail = json_build_object('limit', v_limit)::text;
  end if;
  return new;
end $$;
create trigger bo_guard_kiosk_holds before insert on holds for each row
  when (pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
        and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_kiosk_holds();

-- 5. A ticket is voided only with its refunded line or its order over: a counter's
-- status grant voided any terminal's tickets (a guest turned away at the door).
create function bo_check_ticket_void() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if exists (select 1 from order_lines l join orders o on o.id = l.order_id
              where l.id = new.line_id and l.status = 'sold'
                and o.status not in ('canceled', 'refunded', 'payment_unverified')
                -- An offline card sale whose stored card was declined on reconnect: its
                -- counter revokes the tickets when it records the decline (0019 checks
                -- that decline with the gateway, like any card payment).
                and not exists (select 1 from lease_sales ls where ls.order_id = o.id
                                  and ls.card_status = 'declined')) then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = 'tickets: a ticket is voided only with its refund or its order canceled';
  end if;
  return null;
end $$;
create constraint trigger bo_check_ticket_void after update on tickets
  deferrable initially deferred for each row
  when (old.status <> 'void' and new.status = 'void'
        and not pg_has_role(current_user, '{owner}', 'MEMBER')
        and not pg_has_role(current_user, 'boxoffice_worker', 'MEMBER'))
  execute function bo_check_ticket_void();

revoke execute on function bo_check_seat_returned(), bo_check_ga_counts(),
  bo_guard_foreign_hold(), bo_check_seat_hold(), bo_guard_kiosk_holds(),
  bo_check_ticket_void() from public;
"""

DOWNGRADE = """
drop trigger if exists bo_check_ticket_void on tickets;
drop function if exists bo_check_ticket_void();
drop trigger if exists bo_guard_kiosk_holds on holds;
drop function if exists bo_guard_kiosk_holds();
drop trigger if exists bo_check_seat_hold on event_seats;
drop function if exists bo_check_seat_hold();
drop trigger if exists bo_guard_foreign_hold on event_seats;
drop function if exists bo_guard_foreign_hold();
drop trigger if exists bo_check_ga_counts on ga_inventory;
drop function if exists bo_check_ga_counts();
drop trigger if exists bo_check_seat_returned on event_seats;
drop function if exists bo_check_seat_returned();
delete from bo_settings where name = 'kiosk_max_held_places';
drop index if exists ix_order_lines_ga_sold;
"""


def upgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(UPGRADE.replace("{owner}", owner))


def downgrade() -> None:
    op.execute(DOWNGRADE)
