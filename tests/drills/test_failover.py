"""Failover drill: a scratch primary with a synchronous standby, sales from several cashier
terminals on a libpq multi-host URL, the primary's postmaster killed, the standby promoted.

The drill (core.drills.failover) starts and removes its own servers on loopback ports; the
machine's PostgreSQL is not used. A few seconds of sales on each side of the kill.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from core.drills.failover import run_drill

pytestmark = pytest.mark.slow


def _drill_processes() -> list[str]:
    """Command lines of servers the drills started (their data dirs are bo-drill-*)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"{tempfile.gettempdir()}/bo-drill-" in cmd:
            found.append(cmd)
    return found


@pytest.fixture(scope="module")
def drill() -> dict:
    before = set(_drill_processes())
    result = run_drill(terminals=4, before_s=1.5, after_s=1.5)
    result["left_behind"] = [p for p in _drill_processes() if p not in before]
    print("failover drill:", result)
    return result


def test_terminals_resume_by_themselves_within_15_s(drill):
    assert drill["url_form"] == "libpq"
    assert drill["resume_s"] is not None and drill["resume_s"] <= 15.0
    assert drill["acknowledged_before_kill"] > 0
    assert drill["acknowledged_after_kill"] > 0


def test_every_acknowledged_sale_is_on_the_new_primary_exactly_once(drill):
    assert drill["acknowledged"] > 0
    assert drill["lost"] == 0
    assert drill["duplicated"] == 0
    assert drill["completed_on_new_primary"] >= drill["acknowledged"]


def test_callers_see_only_box_office_error_codes(drill):
    assert drill["raw_errors"] == 0, drill["raw_error_samples"]
    assert set(drill["codes_after_kill"]) <= {"database_unavailable", "lock_timeout",
                                              "sale_in_progress"}


def test_reports_read_from_the_standby_while_there_is_one(drill):
    assert drill["reports_on_standby_before"] is True
    assert drill["reports_on_standby_after"] is False  # the promoted node, alone now


def test_worker_metrics_see_the_synchronous_standby(drill):
    assert drill["worker_sync_standbys"] == 1
    assert drill["worker_replication_lag_s"] is not None
    assert drill["worker_replication_lag_s"] < 10


def test_no_call_outlives_its_deadline(drill):
    # connect_timeout is 2 s per host in the drill, statement_timeout 15 s by default.
    assert drill["max_call_s"] < 15.0


def test_every_server_it_started_is_gone(drill):
    assert drill["left_behind"] == []
