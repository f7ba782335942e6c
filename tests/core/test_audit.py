"""The hash-chained audit log: intact chains verify; tampering of any kind is found.

Two counters append by holding on their own cashier logins; the tampering below is the
owner's (the maintenance switch works only there) and so is ``audit verify``."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text

from core import audit
from core.reservation import hold_best_available
from tests.core.helpers import event_id, key


def _tamper(engine, sql: str, **params) -> None:
    with engine.begin() as c:
        c.execute(text("set local boxoffice.audit_maintenance = 'on'"))
        c.execute(text(sql), params)


def _chain_rows(ctx, chain):
    with ctx.engine.connect() as c:
        return c.execute(text("select seq, payload from audit_log where chain = :c order by seq"),
                         {"c": chain}).all()


def test_intact_then_altered_deleted_and_truncated(ctx, terminal_logins):
    ev = event_id(ctx.engine, "MAGICA")
    own = {name: (terminal_logins.context(name, "cashier", ctx.settings),
                  terminal_logins.actor(name)) for name in ("audit-a", "audit-b")}
    for name in ("audit-a", "audit-b", "audit-a", "audit-a", "audit-b", "audit-a"):
        c, actor = own[name]
        hold_best_available(c, actor, key(), ev, 1)
    checked, problems = audit.verify(ctx.engine)
    assert problems == [] and checked >= 6
    assert [r.seq for r in _chain_rows(ctx, "audit-a")] == [1, 2, 3, 4]

    _tamper(ctx.engine, "update audit_log set payload = replace(payload, :a, :b)"
            " where chain = 'audit-a' and seq = 2", a='BRL', b='USD')
    _, problems = audit.verify(ctx.engine)
    assert [(p.chain, p.seq) for p in problems] == [("audit-a", 2)]
    assert "altered" in problems[0].problem

    _tamper(ctx.engine, "delete from audit_log where chain = 'audit-b' and seq = 1")
    _, problems = audit.verify(ctx.engine)
    assert any(p.chain == "audit-b" and "missing" in p.problem for p in problems)

    _tamper(ctx.engine, "delete from audit_log where chain = 'audit-a' and seq = 4")
    _, problems = audit.verify(ctx.engine)
    assert any(p.chain == "audit-a" and "deleted at the end" in p.problem for p in problems)


def test_database_refuses_update_and_delete(ctx, cashier_ctx):
    import pytest
    from sqlalchemy.exc import DBAPIError

    # A counter's login may not even try; the owner is stopped by the trigger.
    for sql in ("delete from audit_log", "update audit_log set action = 'x'"):
        with pytest.raises(DBAPIError, match="permission denied"), \
                cashier_ctx.engine.begin() as c:
            c.execute(text(sql))
    with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as c:
        c.execute(text("delete from audit_log"))
    with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as c:
        c.execute(text("update audit_log set action = 'x'"))


def test_cli_audit_verify_exit_codes(ctx, db_url):
    env = {"BOXOFFICE_DATABASE__URL": db_url, "PATH": "/usr/bin:/bin",
           "HOME": str(ctx.settings.terminal.data_dir)}
    out = subprocess.run([sys.executable, "-m", "boxoffice_cli.main", "audit", "verify"],
                         env=env, capture_output=True, text=True, timeout=60)
    # The previous test in this module tampered with the log: the CLI must say so.
    assert out.returncode == 1, out.stderr
    assert "TAMPERED" in out.stdout and "problem(s)" in out.stdout
