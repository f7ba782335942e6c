"""Issue 16: what keeps the present fast under a year of history.

Measured with ``boxoffice bench scale`` (about 1,000 past events, a million tickets and
their orders, holds and payments, 3 million audit rows): the monitor's live figures read
today's orders and sales by ``created_at`` and each terminal's active holds, and without
these indexes each of those read walked the whole year on every refresh. Partial where
only a small live part is ever asked for (active holds), plain where a time range is.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sales per minute, revenue of the day (orders, sales, refunds by created_at).
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_index("ix_sales_created_at", "sales", ["created_at"])
    op.create_index("ix_refunds_created_at", "refunds", ["created_at"])
    # A terminal's live holds (monitor's terminal list, kiosk release at start): the
    # year's confirmed holds of the same terminal no longer sit in the way.
    op.create_index("ix_holds_terminal_active", "holds", ["terminal_id"],
                    postgresql_where="status = 'active'")


def downgrade() -> None:
    op.drop_index("ix_holds_terminal_active", table_name="holds")
    op.drop_index("ix_refunds_created_at", table_name="refunds")
    op.drop_index("ix_sales_created_at", table_name="sales")
    op.drop_index("ix_orders_created_at", table_name="orders")
