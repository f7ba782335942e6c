"""an online gate checks in an offline ticket before its sale is replayed

Revision ID: 0012
Revises: 0011

A counter selling offline signs tickets with its own key and serials reserved by its
lease (leases.serials); docs/offline.md says gates accept them like any other. Until the
counter reconnects and replays the sale, the central database has no ``tickets`` row for
such a serial, so the check-in is recorded without one (``checkins.ticket_id`` null) and
one serial is checked in at most once (unique ``checkins.serial``). When the sale is
replayed, the ticket row is born ``used`` at that time and gate, and the check-in is
linked to it (triggers, so no seller needs rights on ``checkins``).

Authority: the gate may not read leases (row security); ``bo_offline_ticket_leased``
(security definer) answers only whether a serial is inside a lease of the key's own
terminal, for that event and place.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = """
alter table checkins alter column ticket_id drop not null;
create unique index uq_checkins_serial on checkins (serial);

create function bo_offline_ticket_leased(p_key_id text, p_serial bigint, p_event_id int,
                                         p_kind int, p_place bigint, p_unit int)
returns boolean language sql stable security definer set search_path = public as $$
  select exists (
    select 1 from ticket_keys k join leases l on l.terminal_id = k.terminal_id
    where k.key_id = p_key_id and l.event_id = p_event_id
      and p_serial = any (l.serials)
      and not exists (select 1 from tickets t where t.serial = p_serial)
      and case when p_kind = 1 then exists (select 1 from lease_seats ls
                                            where ls.lease_id = l.id and ls.seat_id = p_place)
               else l.kind = 'ga' and l.section_id = p_place and p_unit >= 1 end)
$$;
revoke all on function bo_offline_ticket_leased(text, bigint, int, int, bigint, int)
  from public;
grant execute on function bo_offline_ticket_leased(text, bigint, int, int, bigint, int)
  to boxoffice_gate;

-- The replayed ticket is born used where an online gate already let it in.
create function bo_ticket_checked_in_early() returns trigger
language plpgsql security definer set search_path = public as $$
declare c record;
begin
  select at, gate into c from checkins where serial = new.serial and ticket_id is null;
  if found then
    new.status := 'used';
    new.used_at := c.at;
    new.used_gate := c.gate;
  end if;
  return new;
end $$;
create trigger bo_ticket_checked_in_early before insert on tickets
  for each row execute function bo_ticket_checked_in_early();

create function bo_link_early_checkin() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  update checkins set ticket_id = new.id where serial = new.serial and ticket_id is null;
  return null;
end $$;
create trigger bo_link_early_checkin after insert on tickets
  for each row execute function bo_link_early_checkin();
"""

DOWNGRADE = """
drop trigger if exists bo_link_early_checkin on tickets;
drop function if exists bo_link_early_checkin();
drop trigger if exists bo_ticket_checked_in_early on tickets;
drop function if exists bo_ticket_checked_in_early();
drop function if exists bo_offline_ticket_leased(text, bigint, int, int, bigint, int);
drop index if exists uq_checkins_serial;
delete from checkins where ticket_id is null;
alter table checkins alter column ticket_id set not null;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
