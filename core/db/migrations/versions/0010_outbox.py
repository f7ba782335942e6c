"""transactional outbox: delivery state, source terminal, customer contacts

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


def downgrade() -> None:
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
