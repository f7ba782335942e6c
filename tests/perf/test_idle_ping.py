"""A pooled connection idle past the ping interval is pinged at checkout; the ping must
leave it outside any transaction, or the next autocommit statement (a one-statement hold)
fails: psycopg refuses to switch autocommit inside a transaction. Found by bench scale."""

from __future__ import annotations

import time

from sqlalchemy import text

from core.db import engine as engine_mod
from core.uow import autocommit


def test_autocommit_after_an_idle_ping(ctx, monkeypatch):
    with autocommit(ctx.engine) as conn:
        conn.execute(text("select 1"))
    monkeypatch.setattr(engine_mod, "IDLE_PING_S", 0.0)
    time.sleep(0.01)
    for _ in range(3):  # every pooled connection has now been idle "too long"
        with autocommit(ctx.engine) as conn:
            assert conn.execute(text("select 2")).scalar_one() == 2
