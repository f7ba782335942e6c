"""audit_link(): append one hash-chained audit row in the database

Revision ID: 0005
Revises: 0004

One server-side function links audit rows for every caller (Python services and the
one-statement holds), so the chain is computed in exactly one place and a command pays
one round trip for its audit entry. ``core.audit.link_hash`` recomputes the same hash to
verify.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create function audit_link(p_chain text, p_action text, p_payload text)
        returns bigint language plpgsql as $$
        declare
          h record;
          v_seq bigint;
          v_at bigint;
          v_hash bytea;
        begin
          select seq, hash into h from audit_heads where chain = p_chain for update;
          if not found then
            insert into audit_heads (chain, seq, hash)
            values (p_chain, 0, decode(repeat('00', 32), 'hex'))
            on conflict (chain) do nothing;
            select seq, hash into h from audit_heads where chain = p_chain for update;
          end if;
          v_seq := h.seq + 1;
          v_at := floor(extract(epoch from now()) * 1000000)::bigint;
          v_hash := sha256(h.hash || convert_to('|' || v_seq || '|' || v_at || '|' || p_action
                                               || '|' || p_payload, 'UTF8'));
          update audit_heads set seq = v_seq, hash = v_hash where chain = p_chain;
          insert into audit_log (chain, seq, at_us, action, payload, prev_hash, hash)
          values (p_chain, v_seq, v_at, p_action, p_payload, h.hash, v_hash);
          return v_seq;
        end $$;
        """
    )


def downgrade() -> None:
    op.execute("drop function if exists audit_link(text, text, text)")
