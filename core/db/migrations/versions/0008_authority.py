"""database authority: roles, grants, row security, definer functions

Revision ID: 0008
Revises: 0007

The database is the security boundary (terminals hold a PostgreSQL login). This
revision is filled in by the security work; it is committed empty first so 0009 can
stack on it.
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
