"""sync schema: leases, leased seats, offline sales applied, sync conflicts

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _now() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("ga_quota", sa.Integer(), nullable=False),
        sa.Column("ga_sold", sa.Integer(), nullable=False),
        sa.Column("ga_unit_price_minor", sa.BigInteger(), nullable=True),
        sa.Column("ga_tier_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        _now(),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_units", sa.Integer(), nullable=False),
        sa.Column("serials", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("order_numbers", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.CheckConstraint("kind in ('seats','ga')", name=op.f("ck_leases_kind")),
        sa.CheckConstraint("status in ('active','returned','revoked')", name=op.f("ck_leases_status")),
        sa.CheckConstraint("ga_sold >= 0 and ga_sold <= ga_quota", name=op.f("ck_leases_ga_counts")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_leases_terminal_id_terminals")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_leases_event_id_events")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_leases_section_id_sections")),
        sa.ForeignKeyConstraint(["ga_tier_id"], ["price_tiers.id"], name=op.f("fk_leases_ga_tier_id_price_tiers")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_leases_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leases")),
    )
    op.create_index("ix_leases_terminal_status", "leases", ["terminal_id", "status"], unique=False)
    op.create_index(op.f("ix_leases_event_id"), "leases", ["event_id"], unique=False)
    op.create_table(
        "lease_seats",
        sa.Column("lease_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.BigInteger(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lease_id"], ["leases.id"], name=op.f("fk_lease_seats_lease_id_leases")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_lease_seats_event_id_events")),
        sa.ForeignKeyConstraint(["seat_id"], ["seats.id"], name=op.f("fk_lease_seats_seat_id_seats")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_lease_seats_section_id_sections")),
        sa.ForeignKeyConstraint(["tier_id"], ["price_tiers.id"], name=op.f("fk_lease_seats_tier_id_price_tiers")),
        sa.PrimaryKeyConstraint("lease_id", "seat_id", name=op.f("pk_lease_seats")),
    )
    op.create_table(
        "lease_sales",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("lease_id", sa.Uuid(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("command_key", sa.Uuid(), nullable=False),
        sa.Column("payment_method", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("card_status", sa.String(length=10), nullable=True),
        sa.Column("card_ref", sa.String(length=120), nullable=True),
        sa.Column("flag", sa.String(length=40), nullable=True),
        sa.Column("sold_at_terminal", sa.String(length=40), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("payment_method in ('cash','card_saf')", name=op.f("ck_lease_sales_method")),
        sa.CheckConstraint("card_status is null or card_status in ('pending','captured','declined')", name=op.f("ck_lease_sales_card_status")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_lease_sales_order_id_orders")),
        sa.ForeignKeyConstraint(["lease_id"], ["leases.id"], name=op.f("fk_lease_sales_lease_id_leases")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_lease_sales_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_lease_sales")),
        sa.UniqueConstraint("command_key", name=op.f("uq_lease_sales_command_key")),
    )
    op.create_index(op.f("ix_lease_sales_lease_id"), "lease_sales", ["lease_id"], unique=False)
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("command_key", sa.Uuid(), nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=False),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now(),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_sync_conflicts_terminal_id_terminals")),
        sa.ForeignKeyConstraint(["resolved_by"], ["operators.id"], name=op.f("fk_sync_conflicts_resolved_by_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflicts")),
        sa.UniqueConstraint("command_key", name=op.f("uq_sync_conflicts_command_key")),
    )
    op.create_index(op.f("ix_sync_conflicts_terminal_id"), "sync_conflicts", ["terminal_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_conflicts_terminal_id"), table_name="sync_conflicts")
    op.drop_table("sync_conflicts")
    op.drop_index(op.f("ix_lease_sales_lease_id"), table_name="lease_sales")
    op.drop_table("lease_sales")
    op.drop_table("lease_seats")
    op.drop_index(op.f("ix_leases_event_id"), table_name="leases")
    op.drop_index("ix_leases_terminal_status", table_name="leases")
    op.drop_table("leases")
