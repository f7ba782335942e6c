"""transactional outbox: delivery state, source terminal, customer contacts; sales history

Revision ID: 0010
Revises: 0009

Every change writes its outgoing messages into ``outbox`` in its own transaction; the
worker delivers them (RabbitMQ, SMTP) at least once. One row per message and channel:
``message_id`` is the stable id a receiver deduplicates on (the same for the broker and
the email copy of one event). ``next_attempt_at`` is both the backoff and the worker's
lease: a worker claims a row by pushing it into the future, so a worker killed while
sending leaves a row that falls due again by itself. ``parked_at`` marks a message that
kept failing (kept with ``last_error`` for a supervisor, never dropped).

Authority (as in 0008): every terminal kind may INSERT outbox rows, only as itself (row
security on ``terminal_id``), and reads none; the worker reads and updates delivery
state; the monitor reads the queue and un-parks messages. A customer's email address
lives in ``order_contacts``, which sellers may insert for their own orders and only the
worker reads: no terminal reads another customer's address.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ALL = ("boxoffice_cashier, boxoffice_kiosk, boxoffice_monitor, boxoffice_gate,"
       " boxoffice_worker")
SELLERS = "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker"

GRANTS: tuple[tuple[str, str, str], ...] = (
    ("insert (topic, payload, message_id, channel, terminal_id)", "outbox", ALL),
    ("select, update (sent_at, attempts, next_attempt_at, last_error, parked_at)", "outbox",
     "boxoffice_worker"),
    ("select, update (parked_at, next_attempt_at, attempts)", "outbox", "boxoffice_monitor"),
    ("insert (order_id, terminal_id, email, language, consent_text)", "order_contacts",
     SELLERS),
    ("select", "order_contacts", "boxoffice_worker"),
)

POLICIES = f"""
alter table outbox enable row level security;
create policy bo_insert on outbox for insert to {ALL}
  with check (terminal_id = (select bo_my_terminal()));
create policy bo_read on outbox for select to boxoffice_worker, boxoffice_monitor
  using (true);
create policy bo_deliver on outbox for update to boxoffice_worker using (true)
  with check (true);
create policy bo_unpark on outbox for update to boxoffice_monitor using (true)
  with check (true);

alter table order_contacts enable row level security;
create policy bo_insert on order_contacts for insert to {SELLERS}
  with check (terminal_id = (select bo_my_terminal()));
create policy bo_read on order_contacts for select to boxoffice_worker using (true);
"""


# The sales history: one row per order line sold, per line reversed (a card sale undone
# after confirmation) and per line refunded, written by the database itself (definer
# triggers on order_lines, orders and refunds), so every path that sells or refunds
# (counter, kiosk, comps, offline replay, event cancellation) is recorded with no code
# of its own, and no terminal can write or rewrite it. Append-only; partitioned by
# month (the worker keeps three months ahead; a default partition catches the rest so
# a sale never fails for want of one).
HISTORY = """
create table sales_history (
  id bigint generated always as identity,
  at timestamptz not null,
  kind varchar(8) not null check (kind in ('sale', 'reversal', 'refund')),
  order_id uuid not null,
  refund_id uuid,
  line_id bigint not null,
  event_id integer not null,
  section_id integer not null,
  terminal_id integer not null,
  operator_id integer,
  tender varchar(8) not null,
  currency varchar(3) not null,
  units integer not null,
  amount_minor bigint not null,
  primary key (id, at)
) partition by range (at);
create table sales_history_default partition of sales_history default;
create index ix_sales_history_at on sales_history (at);
create index ix_sales_history_event on sales_history (event_id, at);

create function bo_history_partition(p_month date) returns void language plpgsql
security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  m date := date_trunc('month', p_month)::date;
  n text := format('sales_history_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
begin
  if to_regclass('public.' || n) is null then
    execute format('create table public.%I partition of public.sales_history'
                   ' for values from (%L) to (%L)',
                   n, m::timestamptz, (m + interval '1 month')::timestamptz);
  end if;
end $$;

create function bo_history_partitions(p_ahead integer) returns void language plpgsql
security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  for i in 0 .. greatest(least(p_ahead, 24), 0) loop
    perform bo_history_partition((date_trunc('month', now()) + make_interval(months => i))::date);
  end loop;
end $$;

create function bo_tender_of(p_ref text) returns text language sql immutable
set search_path = pg_catalog, public, pg_temp as $$
  select case when p_ref like 'cash:%' then 'cash' when p_ref = 'comp' then 'comp'
              else 'card' end
$$;

create function bo_history_sold() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  insert into sales_history (at, kind, order_id, line_id, event_id, section_id, terminal_id,
                             operator_id, tender, currency, units, amount_minor)
  select o.created_at, 'sale', o.id, new.id, new.event_id, new.section_id, o.terminal_id,
         o.operator_id, bo_tender_of(o.payment_ref), o.currency, new.qty,
         new.unit_price_minor * new.qty
  from orders o where o.id = new.order_id;
  return null;
end $$;
create trigger bo_history after insert on order_lines
  for each row execute function bo_history_sold();

create function bo_history_reversed() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  insert into sales_history (at, kind, order_id, line_id, event_id, section_id, terminal_id,
                             operator_id, tender, currency, units, amount_minor)
  select now(), 'reversal', new.id, l.id, l.event_id, l.section_id, new.terminal_id,
         new.operator_id, bo_tender_of(new.payment_ref), new.currency, -l.qty,
         -(l.unit_price_minor * l.qty)
  from order_lines l where l.order_id = new.id;
  return null;
end $$;
create trigger bo_history after update of status on orders
  for each row when (new.status = 'canceled' and old.status <> 'canceled')
  execute function bo_history_reversed();

create function bo_history_refunded() returns trigger language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
begin
  insert into sales_history (at, kind, order_id, refund_id, line_id, event_id, section_id,
                             terminal_id, operator_id, tender, currency, units, amount_minor)
  select new.created_at, 'refund', new.order_id, new.id, l.id, l.event_id, l.section_id,
         new.terminal_id, new.operator_id, new.method, new.currency, l.qty,
         l.unit_price_minor * l.qty
  from order_lines l where l.id = any(new.line_ids);
  return null;
end $$;
create trigger bo_history after insert on refunds
  for each row execute function bo_history_refunded();

create function bo_history_append_only() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  raise exception 'sales_history is append-only' using errcode = '42501';
end $$;
create trigger bo_append_only before update or delete on sales_history
  for each row execute function bo_history_append_only();
create trigger bo_append_only_truncate before truncate on sales_history
  for each statement execute function bo_history_append_only();
"""

# What was sold and refunded before this migration, into the history.
BACKFILL = """
insert into sales_history (at, kind, order_id, line_id, event_id, section_id, terminal_id,
                           operator_id, tender, currency, units, amount_minor)
select o.created_at, 'sale', o.id, l.id, l.event_id, l.section_id, o.terminal_id,
       o.operator_id, bo_tender_of(o.payment_ref), o.currency, l.qty,
       l.unit_price_minor * l.qty
from orders o join order_lines l on l.order_id = o.id;
insert into sales_history (at, kind, order_id, line_id, event_id, section_id, terminal_id,
                           operator_id, tender, currency, units, amount_minor)
select o.created_at, 'reversal', o.id, l.id, l.event_id, l.section_id, o.terminal_id,
       o.operator_id, bo_tender_of(o.payment_ref), o.currency, -l.qty,
       -(l.unit_price_minor * l.qty)
from orders o join order_lines l on l.order_id = o.id where o.status = 'canceled';
insert into sales_history (at, kind, order_id, refund_id, line_id, event_id, section_id,
                           terminal_id, operator_id, tender, currency, units, amount_minor)
select r.created_at, 'refund', r.order_id, r.id, l.id, l.event_id, l.section_id,
       r.terminal_id, r.operator_id, r.method, r.currency, l.qty, l.unit_price_minor * l.qty
from refunds r join order_lines l on l.id = any(r.line_ids);
"""


def upgrade() -> None:
    op.add_column("outbox", sa.Column("message_id", sa.Uuid(), nullable=False,
                                      server_default=sa.text("gen_random_uuid()")))
    op.add_column("outbox", sa.Column("channel", sa.String(10), nullable=False,
                                      server_default="broker"))
    op.add_column("outbox", sa.Column("terminal_id", sa.Integer(), nullable=True))
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                                      nullable=False, server_default=sa.text("now()")))
    op.add_column("outbox", sa.Column("last_error", sa.String(300), nullable=True))
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.alter_column("outbox", "attempts", server_default="0")
    op.create_check_constraint(op.f("ck_outbox_channel"), "outbox",
                               "channel in ('broker','email')")
    op.create_unique_constraint(op.f("uq_outbox_message_id_channel"), "outbox",
                                ["message_id", "channel"])
    op.create_foreign_key(op.f("fk_outbox_terminal_id_terminals"), "outbox", "terminals",
                          ["terminal_id"], ["id"])
    # The worker's claim reads only what is due.
    op.create_index("ix_outbox_due", "outbox", ["next_attempt_at"],
                    postgresql_where=sa.text("sent_at is null and parked_at is null"))

    op.create_table(
        "order_contacts",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        # What the customer agreed to (a versioned text id), and when (database clock).
        sa.Column("consent_text", sa.String(60), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("language in ('pt-BR','en','es')",
                           name=op.f("ck_order_contacts_language")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_order_contacts_order_id_orders")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_order_contacts_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_contacts")),
    )
    op.execute("revoke all on order_contacts from public")
    for privs, table, groups in GRANTS:
        op.execute(f"grant {privs} on {table} to {groups}")
    op.execute(POLICIES)

    op.execute(HISTORY)
    # Months from the first sale to three ahead, before the backfill lands in them.
    op.execute("""
        do $$
        declare m date := date_trunc('month', coalesce((select min(created_at) from orders),
                                                       now()))::date;
        begin
          while m <= (date_trunc('month', now()) + interval '3 months')::date loop
            perform bo_history_partition(m);
            m := (m + interval '1 month')::date;
          end loop;
        end $$;
    """)
    op.execute(BACKFILL)
    op.execute("revoke all on sales_history from public")
    op.execute("revoke execute on function bo_history_partition(date),"
               " bo_history_partitions(integer) from public")
    op.execute("grant select on sales_history to boxoffice_monitor, boxoffice_worker")
    op.execute("grant execute on function bo_history_partitions(integer) to boxoffice_worker")


def downgrade() -> None:
    op.execute("""
        drop trigger if exists bo_history on refunds;
        drop trigger if exists bo_history on orders;
        drop trigger if exists bo_history on order_lines;
        drop table if exists sales_history;
        drop function if exists bo_history_refunded();
        drop function if exists bo_history_reversed();
        drop function if exists bo_history_sold();
        drop function if exists bo_history_append_only();
        drop function if exists bo_tender_of(text);
        drop function if exists bo_history_partitions(integer);
        drop function if exists bo_history_partition(date);
    """)
    op.execute("""
        drop policy if exists bo_insert on outbox;
        drop policy if exists bo_read on outbox;
        drop policy if exists bo_deliver on outbox;
        drop policy if exists bo_unpark on outbox;
        alter table outbox disable row level security;
    """)
    op.execute(f"revoke insert, update on outbox from {ALL}")
    op.execute("grant update (sent_at, attempts) on outbox to boxoffice_worker")
    op.drop_table("order_contacts")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_constraint(op.f("fk_outbox_terminal_id_terminals"), "outbox", type_="foreignkey")
    op.drop_constraint(op.f("uq_outbox_message_id_channel"), "outbox", type_="unique")
    op.drop_constraint(op.f("ck_outbox_channel"), "outbox", type_="check")
    op.alter_column("outbox", "attempts", server_default=None)
    for col in ("parked_at", "last_error", "next_attempt_at", "terminal_id", "channel",
                "message_id"):
        op.drop_column("outbox", col)
