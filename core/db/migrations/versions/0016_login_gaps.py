"""what the back office and the counter could not do on their own logins

Revision ID: 0016
Revises: 0015

Found by running the back-office and cancel tests on terminal logins instead of the
owner (issue 11: the least-privilege path is the one tested every day):

1. Publishing an event on an admin login inserts its ``event_seats`` rows, and row
   security had no insert policy for the admin: every publish failed.
2. A comp signs its tickets with the admin terminal's own key, and the admin could not
   register it (``bo_register_ticket_key``).
3. Publishing re-reads the seat table's statistics (``core.catalog.refresh_statistics``,
   see FIELD-NOTES: a fresh event's stale statistics cost 6x per pick in the on-sale
   rush); ANALYZE needs the table's owner, so it runs in a definer function.
4. Paying an owed refund (an event canceled, cash to give back) at a counter writes the
   refund's shift, terminal and operator and its payment's shift, which the cashier could
   not. Granting those columns alone would let a cashier move another shift's cash refund
   into its own drawer (its expected cash falls, the difference goes in a pocket), so a
   trigger allows exactly the pay-out: an owed refund becomes succeeded, on the calling
   terminal and its own open shift; and a refund payment's shift follows its refund.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADE = """
create policy bo_admin_publish on event_seats for insert to boxoffice_admin with check (true);

grant execute on function bo_register_ticket_key(integer, text, bytea) to boxoffice_admin;

create function bo_refresh_inventory_statistics() returns void language plpgsql
security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  analyze event_seats, ga_inventory;
end $$;
revoke execute on function bo_refresh_inventory_statistics() from public;
grant execute on function bo_refresh_inventory_statistics()
  to boxoffice_admin, boxoffice_monitor;

grant update (shift_id, terminal_id, operator_id) on refunds to boxoffice_cashier;
grant update (shift_id) on payments to boxoffice_cashier;

create function bo_guard_refund_payout() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer;
begin
  if bo_is_owner() then
    return new;
  end if;
  if (new.shift_id, new.terminal_id, new.operator_id)
       is not distinct from (old.shift_id, old.terminal_id, old.operator_id)
     and not (old.status = 'owed' and new.status is distinct from 'owed') then
    return new;
  end if;
  v_term := bo_my_terminal();
  if old.status <> 'owed' or new.status <> 'succeeded' or v_term is null
     or new.terminal_id is distinct from v_term
     or not exists (select 1 from shifts s where s.id = new.shift_id
                    and s.terminal_id = v_term and s.status = 'open') then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'only an owed refund is paid out, on this terminal''s own open shift';
  end if;
  return new;
end $$;
create trigger bo_guard_refund_payout before update on refunds for each row
  execute function bo_guard_refund_payout();

create function bo_guard_payment_shift() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() or new.shift_id is not distinct from old.shift_id then
    return new;
  end if;
  if new.refund_id is null or not exists (
       select 1 from refunds r where r.id = new.refund_id and r.status = 'succeeded'
         and r.shift_id = new.shift_id and r.terminal_id = bo_my_terminal()) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a payment''s shift moves only with its refund''s pay-out';
  end if;
  return new;
end $$;
create trigger bo_guard_payment_shift before update of shift_id on payments for each row
  execute function bo_guard_payment_shift();
"""

DOWNGRADE = """
drop trigger if exists bo_guard_payment_shift on payments;
drop function if exists bo_guard_payment_shift();
drop trigger if exists bo_guard_refund_payout on refunds;
drop function if exists bo_guard_refund_payout();
revoke update (shift_id) on payments from boxoffice_cashier;
revoke update (shift_id, terminal_id, operator_id) on refunds from boxoffice_cashier;
drop function if exists bo_refresh_inventory_statistics();
revoke execute on function bo_register_ticket_key(integer, text, bytea) from boxoffice_admin;
drop policy if exists bo_admin_publish on event_seats;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
