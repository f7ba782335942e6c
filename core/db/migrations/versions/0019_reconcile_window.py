"""reconciliation of every card order, and no forged ticket in its window

Revision ID: 0019
Revises: 0018

What 0013's reconciliation left open (issue 11).

1. Store-and-forward card sales. An offline card sale (``payment_ref`` 'saf:<order>',
   ``bo_confirm_leased_sale``) is charged when its counter reconnects, and the counter's
   own login records the outcome (``lease_sales.card_status``, ``card_ref``): it could
   claim a capture the gateway never made, or never revoke a declined sale's tickets. Such
   a sale now owes a check from its replay (rules 'saf'); the outcome, once recorded, names
   the intent the worker looks up (the reference recorded when forwarded), and is
   recorded once. A declined forward is settled 'unverified' like an invented
   authorization: the order is marked, its tickets voided and revoked, the monitor alerts.
   The house took the risk of an offline sale: its tickets are admitted while the charge
   is under way (they were admitted offline before the replay already).

2. Card orders confirmed before 0013 owe no check. Backfilled here (rules 'pre_0013'), for
   orders that still have a valid ticket for an event not over, and checked by the rules
   of their day: the intent exists, its status, amount and currency, but not the metadata
   (hold, terminal, sale) that sales carry only since. Store-and-forward sales forwarded
   before this revision get 'saf_legacy' (their charge carried no charge key).

3. A forged ticket scanned within the reconciler's pass. ``bo_reconcile_due`` is notified
   when a check falls due (a hint that wakes the worker at once; any role can NOTIFY, so the
   worker only re-reads what is due). ``bo_check_in`` answers a ticket whose card order's
   check is still pending and younger than ``bo_settings.checkin_verify_within_s``
   (owner's or admin's, default 60) with no acceptance: the slow path says "verifying",
   nothing is marked used. Older than that it is admitted as before (gateway trouble must
   never turn paying guests away) and the monitor's ``reconcile_behind`` alert says why.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None

BASE = "boxoffice_terminal"
CHANNEL = "bo_reconcile_due"  # core.sales.reconcile.WAKE_CHANNEL
VERIFY_WITHIN_S = 60  # core.tickets.checkin.VERIFY_WITHIN_S

TABLES = f"""
alter table payment_checks add column rules varchar(10) not null default 'current';
alter table payment_checks add constraint ck_payment_checks_rules
  check (rules in ('current', 'saf', 'saf_legacy', 'pre_0013'));
-- The worker asks, for every intent it settles, whether another order's check holds it.
create index ix_payment_checks_intent on payment_checks (intent_id);
insert into bo_settings (name, value) values ('checkin_verify_within_s', '{VERIFY_WITHIN_S}')
  on conflict (name) do nothing;
"""

FUNCTIONS = rf"""
-- How long a gate says "verifying" for a card order the worker has not checked yet. An
-- unreadable value (an admin's typo) falls back to the default rather than to 0 or to
-- turning every guest away.
create function bo_checkin_verify_within() returns integer language sql stable
set search_path = pg_catalog, public, pg_temp as $$
  select coalesce((select least(value::integer, 3600) from bo_settings
                   where name = 'checkin_verify_within_s' and value ~ '^[0-9]{{1,6}}$'),
                  {VERIFY_WITHIN_S})
$$;

-- Every card order a terminal confirms owes a check: online card orders and, since this
-- revision, store-and-forward card sales (their intent is known once forwarded). The
-- notification wakes the worker; it carries nothing (any role can NOTIFY any channel).
create or replace function bo_payment_check_due() returns trigger language plpgsql
security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() or new.payment_ref like 'cash:%' or new.payment_ref = 'comp' then
    return null;
  end if;
  insert into payment_checks (order_id, intent_id, hold_id, terminal_id, amount_minor,
                              currency, rules)
  values (new.id, new.payment_ref, new.hold_id, new.terminal_id, new.total_minor,
          new.currency, case when new.payment_ref like 'saf:%' then 'saf' else 'current' end)
  on conflict (order_id) do nothing;
  perform pg_notify('{CHANNEL}', '');
  return null;
end $$;
drop trigger bo_payment_check_due on orders;
create trigger bo_payment_check_due after insert on orders for each row
  when (new.payment_ref not like 'cash:%' and new.payment_ref <> 'comp')
  execute function bo_payment_check_due();

-- A stored card's outcome, recorded by its counter (set_card_outcome): once, and a
-- capture names the intent the worker will look up. A decline is settled by the worker
-- too, so a login that records it without revoking the tickets leaves none valid.
create function bo_saf_outcome() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  -- The owner's tools may correct an outcome; the check still follows the reference.
  if old.card_status is distinct from 'pending' and not bo_is_owner() then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'a stored card''s outcome is recorded once';
  end if;
  if new.card_status = 'captured' then
    update payment_checks c set intent_id = left(coalesce(new.card_ref, ''), 120)
     where c.order_id = new.order_id and c.result = 'pending' and c.rules = 'saf';
  end if;
  perform pg_notify('{CHANNEL}', '');
  return new;
end $$;
create trigger bo_saf_outcome before update of card_status, card_ref on lease_sales
  for each row
  when (old.payment_method = 'card_saf'
        and (old.card_status is distinct from new.card_status
             or old.card_ref is distinct from new.card_ref))
  execute function bo_saf_outcome();
"""

# Only orders whose tickets can still open a door: an old order of a past show has
# nothing left to void, and a check would cost a gateway lookup and a monitor alert.
BACKFILL = """
insert into payment_checks (order_id, intent_id, hold_id, terminal_id, amount_minor,
                            currency, due_at, rules)
select o.id,
       case when ls.card_status = 'captured' then left(coalesce(ls.card_ref, ''), 120)
            else o.payment_ref end,
       o.hold_id, o.terminal_id, o.total_minor, o.currency, now(),
       case when o.payment_ref not like 'saf:%' then 'pre_0013'
            when ls.card_status = 'captured' then 'saf_legacy'
            else 'saf' end
from orders o left join lease_sales ls on ls.order_id = o.id
where o.payment_ref not like 'cash:%' and o.payment_ref <> 'comp'
  and o.status in ('paid', 'partially_refunded')
  and (o.payment_ref not like 'saf:%' or ls.payment_method = 'card_saf')
  and not exists (select 1 from payment_checks c where c.order_id = o.id)
  and exists (select 1 from tickets t join events e on e.id = t.event_id
              where t.order_id = o.id and t.status = 'valid'
                and e.status <> 'canceled' and e.starts_at > now() - interval '1 day');
"""

CHECK_IN_FUNCTION = ("bo_check_in(uuid, text, bigint, integer, text, text, integer, bigint,"
                     " integer, integer, integer, double precision, double precision, text,"
                     " jsonb, uuid)")


def _check_in_0015() -> str:
    """0015's bo_check_in, the one this revision replaces (and downgrade restores)."""
    path = Path(__file__).with_name("0015_hot_path_functions.py")
    spec = importlib.util.spec_from_file_location("bo_migration_0015", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return str(mod.CHECK_IN)


# The ticket of a card order the worker has not checked yet, sold moments ago: not
# accepted (the slow path answers "verifying"). Same text in core.tickets.checkin._ACCEPT.
NOT_VERIFYING = """
      and not exists (select 1 from payment_checks pc where pc.order_id = t.order_id
                      and pc.result = 'pending' and pc.rules = 'current'
                      and pc.due_at > now() - make_interval(secs => bo_checkin_verify_within()))
      and e.id = t.event_id"""


def _check_in() -> str:
    old = _check_in_0015()
    anchor = "\n      and e.id = t.event_id"
    assert old.count(anchor) == 1, "0015's bo_check_in changed: redo 0019's edit"
    return old.replace("create function bo_check_in", "create or replace function bo_check_in"
                       ).replace(anchor, NOT_VERIFYING)


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(FUNCTIONS)
    op.execute("revoke execute on function bo_checkin_verify_within() from public")
    op.execute(f"grant execute on function bo_checkin_verify_within() to {BASE}")
    op.execute("revoke execute on function bo_saf_outcome() from public")
    op.execute(_check_in())
    op.execute(BACKFILL)


DOWNGRADE = """
drop trigger if exists bo_saf_outcome on lease_sales;
drop function if exists bo_saf_outcome();
create or replace function bo_payment_check_due() returns trigger language plpgsql
security definer set search_path = pg_catalog, public, pg_temp as $$
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
drop trigger bo_payment_check_due on orders;
create trigger bo_payment_check_due after insert on orders for each row
  when (new.payment_ref not like 'cash:%' and new.payment_ref not like 'saf:%'
        and new.payment_ref <> 'comp')
  execute function bo_payment_check_due();
-- Checks 0013 would not have written; an open one would never be settled by 0013's worker.
delete from payment_checks where rules <> 'current' and result in ('pending', 'authorized');
drop index if exists ix_payment_checks_intent;
alter table payment_checks drop constraint ck_payment_checks_rules;
alter table payment_checks drop column rules;
delete from bo_settings where name = 'checkin_verify_within_s';
"""


def downgrade() -> None:
    op.execute(_check_in_0015().replace("create function bo_check_in",
                                        "create or replace function bo_check_in"))
    op.execute(DOWNGRADE)
    op.execute("drop function if exists bo_checkin_verify_within()")
