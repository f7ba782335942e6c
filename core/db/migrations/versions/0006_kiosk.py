"""kiosk: the self-exclusion list checked before a kiosk sale

Revision ID: 0006
Revises: 0005

Identifiers are stored as SHA-256 digests of their normalized form: the kiosk only needs
to know whether a person is on the list, never to read the list back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "self_exclusions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("identifier_hash", sa.LargeBinary(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_self_exclusions"),
        sa.UniqueConstraint("identifier_hash", name="uq_self_exclusions_identifier_hash"),
    )


def downgrade() -> None:
    op.drop_table("self_exclusions")
