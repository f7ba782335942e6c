"""Heartbeats merge into the terminal's state document instead of replacing it."""

from sqlalchemy import text

from core.heartbeat import beat
from tests.conftest import make_actor


def test_beat_keeps_other_writers_keys(ctx):
    a = make_actor(ctx, "hb-1")
    beat(ctx.engine, a.terminal_id, {"screen": "sale", "sync": {"queue": 3}})
    beat(ctx.engine, a.terminal_id, {"screen": "checkout"})
    with ctx.engine.connect() as c:
        state, fresh = c.execute(text("select state, last_heartbeat > now() - interval '1 minute'"
                                      " from terminals where id = :i"),
                                 {"i": a.terminal_id}).one()
    assert state == {"screen": "checkout", "sync": {"queue": 3}} and fresh
