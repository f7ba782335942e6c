"""payments schema: sales (saga state), payments, shifts, cash movements, refunds,
approvals

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["operators.id"], name=op.f("fk_approvals_approved_by_operators")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["operators.id"], name=op.f("fk_approvals_requested_by_operators")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_approvals_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_table(
        "shifts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opening_float_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_cash_minor", sa.BigInteger(), nullable=True),
        sa.Column("counted_cash_minor", sa.BigInteger(), nullable=True),
        sa.Column("variance_minor", sa.BigInteger(), nullable=True),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "status in ('open','pending_approval','closed')", name=op.f("ck_shifts_status")
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["approvals.id"], name=op.f("fk_shifts_approval_id_approvals")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_shifts_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_shifts_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    op.create_index(
        "uq_shifts_open_terminal",
        "shifts",
        ["terminal_id"],
        unique=True,
        postgresql_where="status <> 'closed'",
    )
    op.create_table(
        "sales",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("shift_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("tender", sa.String(length=4), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_method", sa.String(length=80), nullable=True),
        sa.Column("intent_id", sa.String(length=120), nullable=True),
        sa.Column("brand", sa.String(length=20), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=True),
        sa.Column("tendered_minor", sa.BigInteger(), nullable=True),
        sa.Column("change_minor", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state in ('authorizing','authorized','voiding','capturing','reversing','completed','declined','voided','reversed','failed')",
            name=op.f("ck_sales_state"),
        ),
        sa.CheckConstraint("tender in ('card','cash')", name=op.f("ck_sales_tender")),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_sales_hold_id_holds")),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_sales_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_sales_order_id_orders")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_sales_shift_id_shifts")),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_sales_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("key", name=op.f("uq_sales_key")),
    )
    op.create_index(op.f("ix_sales_hold_id"), "sales", ["hold_id"], unique=False)
    op.create_index(op.f("ix_sales_intent_id"), "sales", ["intent_id"], unique=False)
    op.create_index(
        "ix_sales_open",
        "sales",
        ["updated_at"],
        unique=False,
        postgresql_where="state in ('authorizing','authorized','voiding','capturing','reversing')",
    )
    op.create_index(op.f("ix_sales_order_id"), "sales", ["order_id"], unique=False)
    op.create_index(op.f("ix_sales_shift_id"), "sales", ["shift_id"], unique=False)
    op.create_index(
        "uq_sales_hold_in_flight",
        "sales",
        ["hold_id"],
        unique=True,
        postgresql_where="state in ('authorizing','authorized','capturing')",
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("sale_id", sa.Uuid(), nullable=True),
        sa.Column("line_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("method", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=False),
        sa.Column("gateway_ref", sa.String(length=120), nullable=True),
        sa.Column("shift_id", sa.Uuid(), nullable=True),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("method in ('card','cash')", name=op.f("ck_refunds_method")),
        sa.CheckConstraint("status in ('pending','succeeded')", name=op.f("ck_refunds_status")),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["approvals.id"], name=op.f("fk_refunds_approval_id_approvals")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_refunds_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")
        ),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name=op.f("fk_refunds_sale_id_sales")),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_refunds_shift_id_shifts")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_refunds_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("key", name=op.f("uq_refunds_key")),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)
    op.create_index(op.f("ix_refunds_shift_id"), "refunds", ["shift_id"], unique=False)
    op.create_table(
        "cash_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("shift_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("sale_id", sa.Uuid(), nullable=True),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind in ('float','sale','refund','paid_in','paid_out')",
            name=op.f("ck_cash_movements_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_cash_movements_refund_id_refunds")
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sales.id"], name=op.f("fk_cash_movements_sale_id_sales")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_cash_movements_shift_id_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_movements")),
    )
    op.create_index(
        op.f("ix_cash_movements_shift_id"), "cash_movements", ["shift_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("sale_id", sa.Uuid(), nullable=True),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("shift_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gateway_ref", sa.String(length=120), nullable=True),
        sa.Column("idempotency_key", sa.String(length=120), nullable=True),
        sa.Column("brand", sa.String(length=20), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind in ('charge','refund')", name=op.f("ck_payments_kind")),
        sa.CheckConstraint("method in ('card','cash')", name=op.f("ck_payments_method")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_payments_refund_id_refunds")
        ),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name=op.f("fk_payments_sale_id_sales")),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_payments_shift_id_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payments_idempotency_key")),
    )
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)
    op.create_index(op.f("ix_payments_refund_id"), "payments", ["refund_id"], unique=False)
    op.create_index(op.f("ix_payments_sale_id"), "payments", ["sale_id"], unique=False)
    op.create_index(op.f("ix_payments_shift_id"), "payments", ["shift_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_shift_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_sale_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_refund_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_cash_movements_shift_id"), table_name="cash_movements")
    op.drop_table("cash_movements")
    op.drop_index(op.f("ix_refunds_shift_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(
        "uq_sales_hold_in_flight",
        table_name="sales",
        postgresql_where="state in ('authorizing','authorized','capturing')",
    )
    op.drop_index(op.f("ix_sales_shift_id"), table_name="sales")
    op.drop_index(op.f("ix_sales_order_id"), table_name="sales")
    op.drop_index(
        "ix_sales_open",
        table_name="sales",
        postgresql_where="state in ('authorizing','authorized','voiding','capturing','reversing')",
    )
    op.drop_index(op.f("ix_sales_intent_id"), table_name="sales")
    op.drop_index(op.f("ix_sales_hold_id"), table_name="sales")
    op.drop_table("sales")
    op.drop_index(
        "uq_shifts_open_terminal", table_name="shifts", postgresql_where="status <> 'closed'"
    )
    op.drop_table("shifts")
    op.drop_table("approvals")
