"""tickets schema: signing keys, tickets, check-ins, revocations

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("ticket_serial_seq", start=100_000_001)))
    op.create_table(
        "ticket_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_ticket_keys_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_ticket_keys")),
    )
    op.create_index(op.f("ix_ticket_keys_terminal_id"), "ticket_keys", ["terminal_id"], unique=False)
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.BigInteger(), nullable=True),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("print_count", sa.Integer(), nullable=False),
        sa.Column("reprint_count", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_gate", sa.String(length=64), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint("status in ('valid','void','used')", name=op.f("ck_tickets_status")),
        sa.CheckConstraint("print_count >= 0 and reprint_count >= 0", name=op.f("ck_tickets_counts")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_tickets_order_id_orders")),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"], name=op.f("fk_tickets_line_id_order_lines")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_tickets_event_id_events")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_tickets_section_id_sections")),
        sa.ForeignKeyConstraint(["seat_id"], ["seats.id"], name=op.f("fk_tickets_seat_id_seats")),
        sa.ForeignKeyConstraint(["tier_id"], ["price_tiers.id"], name=op.f("fk_tickets_tier_id_price_tiers")),
        sa.ForeignKeyConstraint(["key_id"], ["ticket_keys.key_id"], name=op.f("fk_tickets_key_id_ticket_keys")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_tickets_terminal_id_terminals")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_tickets_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("serial", name=op.f("uq_tickets_serial")),
        sa.UniqueConstraint("line_id", "unit", name=op.f("uq_tickets_line_id")),
    )
    op.create_index(op.f("ix_tickets_order_id"), "tickets", ["order_id"], unique=False)
    op.create_index("ix_tickets_event_status", "tickets", ["event_id", "status"], unique=False)
    op.create_table(
        "checkins",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_checkins_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_checkins_event_id_events")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_checkins_terminal_id_terminals")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_checkins_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_checkins_ticket_id")),
    )
    op.create_index(op.f("ix_checkins_event_id"), "checkins", ["event_id"], unique=False)
    op.create_table(
        "revocations",
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_revocations_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_revocations_event_id_events")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_revocations_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_revocations")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_revocations_ticket_id")),
    )
    op.create_index(op.f("ix_revocations_event_id"), "revocations", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_table("revocations")
    op.drop_table("checkins")
    op.drop_table("tickets")
    op.drop_table("ticket_keys")
    op.execute(sa.schema.DropSequence(sa.Sequence("ticket_serial_seq")))
