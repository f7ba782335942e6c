"""back office: event settings, seat blocks, price requests, comps, owed refunds

Revision ID: 0009
Revises: 0008

What a casino needs to run its own rooms and shows: per-event hold lifetimes, age gate,
dynamic pricing switch and the price change that needs a second supervisor; why each
seat is blocked (house, press, technical); price changes waiting for approval; comp
tickets with their reason; a cash refund of a canceled show that is owed at the counter
(``refunds.status = 'owed'``) until a cashier pays it out of a drawer; and when an
operator last signed in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


MONITOR = "boxoffice_monitor"
ADMIN = "boxoffice_admin"  # a member of boxoffice_monitor (migration 0008)

# Who runs the back office (migration 0008 made the roles): the supervisor console's live
# steering (pause/resume, price overrides and requests, seat blocks, GA capacity) is the
# monitor's; rooms, events, comps and staff are the admin login's. Staff PINs go through
# bo_add_operator and bo_reset_pin (definer functions): no login writes or reads a hash.
GRANTS: tuple[tuple[str, str, str], ...] = (
    ("select, insert, update (kind, reason, operator_id, terminal_id, at), delete",
     "seat_blocks", MONITOR),
    ("update (capacity)", "ga_inventory", MONITOR),
    ("select, insert, update (status, decided_by, decided_at)", "price_requests", MONITOR),
    ("update (dynamic_pricing)", "events", MONITOR),
    ("select (last_sign_in_at, created_at, disabled_at, locked_until)", "operators", MONITOR),
    ("update (display_name, role, active, disabled_at)", "operators", ADMIN),
    ("select, insert, update", "venues", ADMIN),
    ("select, insert, update", "sections", ADMIN),
    ("select, insert, update", "seats", ADMIN),
    ("select, insert, update", "events", ADMIN),
    ("insert, update", "event_seats", ADMIN),
    ("insert, update", "ga_inventory", ADMIN),
    ("insert, update", "price_tiers", ADMIN),
    ("insert, update", "pricing_rules", ADMIN),
    ("insert, update", "holds", ADMIN),
    ("insert", "hold_items", ADMIN),
    ("select, insert", "comps", ADMIN),
)
_GRANTED = ("seat_blocks", "ga_inventory", "price_requests", "events", "operators", "venues",
            "sections", "seats", "event_seats", "price_tiers", "pricing_rules", "holds",
            "hold_items", "comps")

# A successful sign-in is recorded inside bo_authenticate (migration 0008), so a face
# needs no write on operators. Replaced from its own definition: the one statement that
# resets the failure counters on success also stamps the time.
_RESET = ("update operators o set failed_attempts = 0, lockouts = 0 where o.id = r.id\n"
          "    and (o.failed_attempts <> 0 or o.lockouts <> 0);")
_STAMP = ("update operators o set failed_attempts = 0, lockouts = 0,"
          " last_sign_in_at = now() where o.id = r.id;")


def _replace_authenticate(old: str, new: str) -> None:
    op.execute(f"""
        do $$
        declare d text := pg_get_functiondef('bo_authenticate(text, text)'::regprocedure);
        begin
          if position(E'{old}' in d) = 0 then
            raise exception 'bo_authenticate is not the one this migration knows';
          end if;
          execute replace(d, E'{old}', E'{new}');
        end $$;
    """)


def _grant_backoffice() -> None:
    for privs, table, groups in GRANTS:
        op.execute(f"grant {privs} on {table} to {groups}")
    op.execute(f"grant usage on all sequences in schema public to {ADMIN}")
    op.execute(f"grant execute on function bo_add_operator(text, text, text, text),"
               f" bo_reset_pin(integer, text) to {ADMIN}")
    _replace_authenticate(_RESET, _STAMP)


def upgrade() -> None:
    op.add_column("events", sa.Column("counter_hold_s", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("kiosk_hold_s", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("min_age", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("dynamic_pricing", sa.Boolean(), nullable=False,
                                      server_default=sa.text("true")))
    op.add_column("events", sa.Column("price_approval_over_pct", sa.Integer(), nullable=False,
                                      server_default=sa.text("20")))
    op.add_column("events", sa.Column("cloned_from", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("events", sa.Column("cancel_reason", sa.String(200), nullable=True))
    op.create_foreign_key(op.f("fk_events_cloned_from_events"), "events", "events",
                          ["cloned_from"], ["id"])
    op.create_check_constraint(op.f("ck_events_backoffice_limits"), "events",
                               "(counter_hold_s is null or counter_hold_s between 10 and 7200)"
                               " and (kiosk_hold_s is null or kiosk_hold_s between 10 and 7200)"
                               " and (min_age is null or min_age between 0 and 99)"
                               " and price_approval_over_pct between 0 and 1000")

    op.add_column("operators", sa.Column("last_sign_in_at", sa.DateTime(timezone=True),
                                         nullable=True))
    op.add_column("operators", sa.Column("created_at", sa.DateTime(timezone=True),
                                         nullable=False, server_default=sa.text("now()")))
    op.add_column("operators", sa.Column("disabled_at", sa.DateTime(timezone=True),
                                         nullable=True))

    op.add_column("price_changes", sa.Column("approved_by", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_price_changes_approved_by_operators"), "price_changes",
                          "operators", ["approved_by"], ["id"])

    op.drop_constraint(op.f("ck_refunds_status"), "refunds", type_="check")
    op.create_check_constraint(op.f("ck_refunds_status"), "refunds",
                               "status in ('pending','succeeded','owed')")

    op.create_table(
        "seat_blocks",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("kind in ('house','press','technical','other')",
                           name=op.f("ck_seat_blocks_kind")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_seat_blocks_event_id_events")),
        sa.ForeignKeyConstraint(["seat_id"], ["seats.id"],
                                name=op.f("fk_seat_blocks_seat_id_seats")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"],
                                name=op.f("fk_seat_blocks_operator_id_operators")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_seat_blocks_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("event_id", "seat_id", name=op.f("pk_seat_blocks")),
    )
    op.create_table(
        "price_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("old_minor", sa.BigInteger(), nullable=False),
        sa.Column("new_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(120), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status in ('pending','approved','rejected')",
                           name=op.f("ck_price_requests_status")),
        sa.CheckConstraint("decided_by is null or decided_by <> requested_by",
                           name=op.f("ck_price_requests_not_self")),
        sa.ForeignKeyConstraint(["tier_id"], ["price_tiers.id"],
                                name=op.f("fk_price_requests_tier_id_price_tiers")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_price_requests_event_id_events")),
        sa.ForeignKeyConstraint(["requested_by"], ["operators.id"],
                                name=op.f("fk_price_requests_requested_by_operators")),
        sa.ForeignKeyConstraint(["decided_by"], ["operators.id"],
                                name=op.f("fk_price_requests_decided_by_operators")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_price_requests_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_requests")),
    )
    op.create_index(op.f("ix_price_requests_event_id"), "price_requests", ["event_id"])
    op.create_table(
        "comps",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(120), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_comps_order_id_orders")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_comps_event_id_events")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"],
                                name=op.f("fk_comps_operator_id_operators")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_comps_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_comps")),
    )
    op.create_index(op.f("ix_comps_event_id"), "comps", ["event_id"])
    op.execute("revoke all on seat_blocks, price_requests, comps from public")
    _grant_backoffice()


def downgrade() -> None:
    _replace_authenticate(_STAMP, _RESET)
    op.execute(f"revoke all on {', '.join(_GRANTED)} from {ADMIN}")
    op.execute(f"revoke all on all sequences in schema public from {ADMIN}")
    op.execute(f"revoke update (capacity) on ga_inventory from {MONITOR}")
    op.execute(f"revoke update (dynamic_pricing) on events from {MONITOR}")
    op.execute(f"revoke select (last_sign_in_at, created_at, disabled_at, locked_until)"
               f" on operators from {MONITOR}")
    op.drop_table("comps")
    op.drop_table("price_requests")
    op.drop_table("seat_blocks")
    op.drop_constraint(op.f("ck_refunds_status"), "refunds", type_="check")
    op.create_check_constraint(op.f("ck_refunds_status"), "refunds",
                               "status in ('pending','succeeded')")
    op.drop_constraint(op.f("fk_price_changes_approved_by_operators"), "price_changes",
                       type_="foreignkey")
    op.drop_column("price_changes", "approved_by")
    for col in ("disabled_at", "created_at", "last_sign_in_at"):
        op.drop_column("operators", col)
    op.drop_constraint(op.f("ck_events_backoffice_limits"), "events", type_="check")
    op.drop_constraint(op.f("fk_events_cloned_from_events"), "events", type_="foreignkey")
    for col in ("cancel_reason", "canceled_at", "cloned_from", "price_approval_over_pct",
                "dynamic_pricing", "min_age", "kiosk_hold_s", "counter_hold_s"):
        op.drop_column("events", col)
