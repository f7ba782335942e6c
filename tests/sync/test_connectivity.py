"""Hysteresis: a flaky link does not flap; state reaches apps and the heartbeat row."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from sync.connectivity import ConnectivityWatch
from tests.sync.conftest import lease, make_terminal
from tests.sync.helpers import event_id, section_id

pytestmark = pytest.mark.usefixtures("sync_logins")


def test_hysteresis_no_flapping():
    readings = iter([True, False, True, False, False, True, False, False, False,
                     True, True, False, True, True, True])
    watch = ConnectivityWatch({"database": lambda: next(readings)}, offline_after=3,
                              online_after=3)
    changes: list[tuple[str, bool]] = []
    watch.subscribe(lambda link, online: changes.append((link, online)))
    for _ in range(15):
        watch.probe_once()
    # first reading decides; then only three in a row switch
    assert changes == [("database", True), ("database", False), ("database", True)]
    assert watch.links["database"].transitions == 3


def test_probe_exception_counts_as_failure():
    def boom() -> bool:
        raise OSError("connection refused")

    watch = ConnectivityWatch({"gateway": boom}, offline_after=1, online_after=1)
    watch.probe_once()
    assert watch.is_online("gateway") is False
    assert "connection refused" in (watch.links["gateway"].last_error or "")


def test_state_reaches_apps_and_heartbeat(ctx, db_url, proxy, tmp_path):
    term = make_terminal(ctx, db_url, proxy, tmp_path, "hb-a")
    seen: list[dict] = []
    term.subscribe(seen.append)
    term.start(background=False)
    poker = event_id(ctx.engine, "POKER-OPEN")
    lease(term, uuid.uuid4(), poker, section_id=section_id(ctx.engine, poker, "ENTRADA"),
                    quantity=5)
    proxy.cut()
    term.watch.probe_once()
    assert seen[-1]["online"] is False
    term.sell_from_lease(poker, ga_qty=2, method="cash")
    assert seen[-1]["queue_depth"] == 1 and seen[-1]["leases"][0]["remaining"] == 3
    proxy.restore()
    term.watch.probe_once()
    assert seen[-1]["online"] is True and seen[-1]["queue_depth"] == 0, term.last_reconnect
    with ctx.engine.connect() as c:
        state = c.execute(text("select state, last_heartbeat is not null as beat from"
                               " terminals where id = :i"), {"i": term.actor.terminal_id}).one()
    assert state.beat and state.state["sync"]["online"] is True
    assert state.state["sync"]["queue_depth"] == 0
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("boxoffice_sync_online", {"terminal": "hb-a"}) == 1
    assert REGISTRY.get_sample_value("boxoffice_sync_queue_depth", {"terminal": "hb-a"}) == 0
    term.stop()


def test_background_push_and_reconnect(ctx, db_url, proxy, tmp_path):
    """Started for real (watch and pusher threads): a sale returns at once, the pusher
    sends it; after a cut and a restore the watch catches up by itself."""
    import threading

    term = make_terminal(ctx, db_url, proxy, tmp_path, "bg-a", sync__probe_interval_s=0.05)
    sent = threading.Event()
    term.subscribe(lambda st: sent.set() if st["queue_depth"] == 0 and st["applied"] else None)
    term.start()
    poker = event_id(ctx.engine, "POKER-OPEN")
    lease(term, uuid.uuid4(), poker, section_id=section_id(ctx.engine, poker, "ENTRADA"),
                    quantity=6)
    term.sell_from_lease(poker, ga_qty=1, method="cash")
    assert sent.wait(20)
    offline, back = threading.Event(), threading.Event()
    term.watch.subscribe(lambda link, up: (back if up else offline).set())
    proxy.cut()
    assert offline.wait(20)
    sale = term.sell_from_lease(poker, ga_qty=2, method="cash")
    assert term.journal.depth() == 1
    sent.clear()
    proxy.restore()
    assert back.wait(20) and sent.wait(20)
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from lease_sales where command_key = :k"),
                      {"k": sale.key}).scalar_one()
    assert n == 1
    term.stop()
