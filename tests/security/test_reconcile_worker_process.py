"""The real ``boxoffice worker`` on its own login wakes on a check falling due: forged
card sales made one after another are each settled within a gateway round trip, where
its periodic pass comes round once in 15 s.
The worker is a separate process, as on a site; the only way to see it work from here is
to read the database, so the test reads the check until a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from core.sales.reconcile import INTERVAL_S
from tests.logins import psycopg_url
from tests.security import test_reconcile as rec

ROOT = Path(__file__).resolve().parents[2]
sandbox = rec.sandbox
floor = rec.floor


def _until(what: Any, deadline_s: float) -> float:
    """Seconds until ``what()`` is true; fails after ``deadline_s``."""
    t0 = time.monotonic()
    while not what():
        assert time.monotonic() - t0 < deadline_s, "deadline passed"
        time.sleep(0.02)  # another process: nothing here to await
    return time.monotonic() - t0


def _result(floor: Any, order_id: Any) -> str:
    return str(rec._check(floor["kiosk"][1], order_id)[0])


def test_the_worker_process_settles_a_forged_sale_within_a_round_trip(floor, sandbox,
                                                                      tmp_path):
    t, w = floor["worker"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "BOXOFFICE_CONFIG": str(tmp_path / "absent.toml"),
           "BOXOFFICE_DATABASE__URL": psycopg_url(t.url),
           "BOXOFFICE_TERMINAL__NAME": t.name, "BOXOFFICE_TERMINAL__KIND": "cashier",
           "BOXOFFICE_TERMINAL__DATA_DIR": str(tmp_path),
           "BOXOFFICE_GATEWAY__KIND": "sandbox",
           "BOXOFFICE_GATEWAY__BASE_URL": sandbox.base_url}
    # One forged sale before the worker starts: its first periodic pass settles it.
    first, _ = rec._forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    proc = subprocess.Popen([sys.executable, "-m", "boxoffice_cli.main", "worker",
                             "--interval", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        _until(lambda: proc.poll() is not None or _result(floor, first.order_id) != "pending",
               30)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        with w.engine.connect() as conn:  # it listens on its own login
            listening = conn.execute(text(
                "select count(*) from pg_stat_activity where usename = :u"
                " and query ilike 'listen%'"), {"u": t.login}).scalar_one()
        assert listening == 1
        # Three forged sales one after the other, each settled in well under a second:
        # the periodic pass runs once in the first INTERVAL_S, so at most one of them
        # can be its doing; the notification did the others.
        for _ in range(3):
            order, [serial] = rec._forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
            took = _until(lambda o=order.order_id: _result(floor, o) != "pending", 10)
            since_start = time.monotonic() - started
            print(f"forged sale settled {took:.3f}s after its commit"
                  f" ({since_start:.1f}s after the worker started)")
            assert _result(floor, order.order_id) == "unverified"
            assert took < 2.0
            scan = rec._gate(floor).scan(rec._token(floor["kiosk"][1], serial), uuid.uuid4())
            assert scan.reason == "revoked"
        assert since_start < INTERVAL_S, "too slow a machine to tell the passes apart"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0
