"""``bench holds --as-terminals``: each worker holds on its own provisioned cashier login
(row security, column grants and migration 0020's checks paid as a counter pays them),
nothing is oversold, and the bench leaves no login behind."""

from __future__ import annotations

from sqlalchemy import text

from core.bench.holds import run_bench
from tests.conftest import make_settings


def test_bench_holds_on_terminal_logins(ctx, db_url, module_tmp):
    settings = make_settings(db_url, module_tmp)
    result = run_bench(settings, workers=2, seconds=1.0, scenario="best", pgbench_too=False,
                       as_terminals=True)
    assert result["as_terminals"] is True
    assert result["holds_per_s"] > 0 and result["oversold"] == 0
    assert result["rejected"] == {}, result["rejected"]
    with ctx.engine.connect() as c:
        by_bench = c.execute(text(
            "select count(*) from holds h join terminals t on t.id = h.terminal_id"
            " where t.name like 'bench%-t%'")).scalar_one()
        left = c.execute(text(
            "select count(*) from pg_roles r join terminal_logins l on l.login = r.rolname"
            " join terminals t on t.id = l.terminal_id where t.name like 'bench%-t%'"
        )).scalar_one()
    assert by_bench > 0  # the holds really were the terminals' own
    assert left == 0
