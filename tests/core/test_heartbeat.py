"""Heartbeats merge into the terminal's state document instead of replacing it."""

from sqlalchemy import text

from core.heartbeat import beat


def test_beat_keeps_other_writers_keys(ctx, terminal_logins):
    # The terminal beats on its own login; the owner reads what it wrote.
    a = terminal_logins.actor("hb-1", "cashier")
    own = terminal_logins.new_context("hb-1", "cashier", ctx.settings, pool_size=1)
    beat(own.engine, a.terminal_id, {"screen": "sale", "sync": {"queue": 3}})
    beat(own.engine, a.terminal_id, {"screen": "checkout"})
    with ctx.engine.connect() as c:
        state, fresh = c.execute(text("select state, last_heartbeat > now() - interval '1 minute'"
                                      " from terminals where id = :i"),
                                 {"i": a.terminal_id}).one()
    assert state == {"screen": "checkout", "sync": {"queue": 3}} and fresh
