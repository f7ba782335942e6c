"""what a terminal announces is what it did: a seller's or gate's outbox messages are checked
against the database

Revision ID: 0021
Revises: 0020

The outbox is how the casino's other systems (accounting, marketing, the customer's mail)
hear of a sale. A terminal writes its messages in the transaction of its change, and row
security only made it write them as itself: a kiosk's login, in a thief's hands, could
announce a sale of any amount that never happened, a refund, a price change or a
cancelled show, and every consumer of the box office's events would believe it.

Now a kiosk, a counter and a gate may write only the kinds their own flows write, and
each message must match the database: a sale's order is the caller's own and its total
and currency are the order's; a reversal names the caller's own sale; a refund is a
refund row the caller recorded, for that amount; a check-in names a ticket that exists
(or the check-in row of an offline sale's serial not replayed yet).
The back office, the monitor and the worker are not limited here (their writes are
checked where they are made).
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None

UPGRADE = r"""
create function bo_guard_outbox() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  p jsonb := new.payload;
  v_me integer := bo_my_terminal();
  -- session_user: inside this definer function current_user is the owner, a member of
  -- every role.
  v_kiosk boolean := pg_has_role(session_user, 'boxoffice_kiosk', 'MEMBER');
  v_gate boolean := pg_has_role(session_user, 'boxoffice_gate', 'MEMBER');
  v_ok boolean;
begin
  if new.topic = 'sale.completed' and not v_gate then
    v_ok := exists (select 1 from orders o where o.id = (p->>'order_id')::uuid
                      and o.terminal_id = v_me
                      and o.total_minor = (p->>'total_minor')::bigint
                      and o.currency = p->>'currency');
  elsif new.topic = 'sale.reversed' and not v_gate then
    v_ok := exists (select 1 from sales s where s.id = (p->>'sale_id')::uuid
                      and s.terminal_id = v_me);
  elsif new.topic = 'refund.completed' and not v_kiosk and not v_gate then
    v_ok := exists (select 1 from refunds r where r.id = (p->>'refund_id')::uuid
                      and r.terminal_id = v_me
                      and r.order_id = (p->>'order_id')::uuid
                      and r.amount_minor = (p->>'amount_minor')::bigint
                      and r.currency = p->>'currency');
  elsif new.topic = 'ticket.checked_in' and not v_kiosk then
    -- A ticket, or an offline sale's serial checked in before its sale is replayed
    -- (0012: a check-in row without a ticket yet).
    v_ok := exists (select 1 from tickets t where t.serial = (p->>'serial')::bigint
                      and t.event_id = (p->>'event_id')::integer)
            or exists (select 1 from checkins c where c.serial = (p->>'serial')::bigint
                         and c.event_id = (p->>'event_id')::integer);
  else
    v_ok := false;
  end if;
  if not coalesce(v_ok, false) then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = format('outbox: %s does not match what this terminal did', new.topic);
  end if;
  return new;
exception
  when invalid_text_representation or numeric_value_out_of_range then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = format('outbox: %s with a malformed payload', new.topic);
end $$;
create trigger bo_guard_outbox before insert on outbox for each row
  when ((pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
         or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER')
         or pg_has_role(current_user, 'boxoffice_gate', 'MEMBER'))
        and not pg_has_role(current_user, '{owner}', 'MEMBER'))
  execute function bo_guard_outbox();
revoke execute on function bo_guard_outbox() from public;
"""

DOWNGRADE = """
drop trigger if exists bo_guard_outbox on outbox;
drop function if exists bo_guard_outbox();
"""


def upgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(UPGRADE.replace("{owner}", owner))


def downgrade() -> None:
    op.execute(DOWNGRADE)
