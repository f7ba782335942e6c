"""The checkout benchmark and the sandbox command run end to end (short run): the
sandbox starts as ``boxoffice gateway-sandbox`` in its own process and the ledger
comparison finds no double charge and no orphan."""

from __future__ import annotations

from core.bench.checkout import run_bench
from tests.conftest import make_settings


def test_bench_checkout_short_run(ctx, db_url, module_tmp):
    settings = make_settings(db_url, module_tmp)
    result = run_bench(settings, workers=2, seconds=1.0)
    assert result["checkouts"] > 0 and result["checkouts_per_s"] > 0
    assert result["double_charges"] == 0 and result["orphans"] == 0
    assert result["intents_checked"] == result["checkouts"]
    assert result["holds_per_s"] > 0 and result["ratio"] > 0
    assert result["p99_ms"] >= result["p50_ms"] > 0
