"""Automatic failover with the shipped Patroni configuration (core.drills.patroni): two
Patroni nodes on etcd, loopback only, terminals selling; the leader's machine dies (Patroni
and PostgreSQL killed together) and Patroni alone promotes the synchronous standby."""

from __future__ import annotations

import shutil

import pytest

from core.drills.patroni import LOOP_WAIT, TTL, run_drill
from tests.drills.test_failover import _drill_processes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drill() -> dict:
    assert shutil.which("patroni") and shutil.which("etcd"), \
        "Debian packages patroni and etcd-server are needed (.ci/run installs them)"
    before = set(_drill_processes())
    result = run_drill(terminals=4, before_s=1.5, after_s=1.5)
    result["left_behind"] = [p for p in _drill_processes() if p not in before]
    print("patroni drill:", result)
    return result


def test_patroni_promotes_the_standby_by_itself(drill):
    # The leader key expires after the TTL; Patroni then needs a loop or two.
    assert drill["promoted_by_patroni_s"] <= TTL + 4 * LOOP_WAIT + 5


def test_terminals_follow_without_being_told(drill):
    assert drill["resume_s"] is not None
    assert drill["resume_s"] - drill["promoted_by_patroni_s"] <= 5
    assert drill["acknowledged_after_kill"] > 0


def test_nothing_lost_nothing_doubled_no_raw_errors(drill):
    assert drill["lost"] == 0 and drill["duplicated"] == 0
    assert drill["raw_errors"] == 0, drill["raw_error_samples"]
    assert drill["max_call_s"] < 15


def test_etcd_patroni_and_postgres_are_all_gone(drill):
    assert drill["left_behind"] == []
