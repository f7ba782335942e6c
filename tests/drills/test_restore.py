"""Restore drill: pgBackRest with WAL archiving into two repositories backs up a scratch
primary, sales continue, and a point-in-time restore from the second repository into a new
data directory holds exactly the sales committed before the target (core.drills.restore).
Also ``boxoffice backup status``'s reading of ``pgbackrest info``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.backup import STALE_AFTER_S, export, parse_info
from core.drills.restore import run_drill

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drill() -> dict:
    result = run_drill(before=12, after=12)
    print("restore drill:", json.dumps(result))
    return result


def test_restore_has_every_sale_before_the_target_and_none_after(drill):
    assert drill["repositories"] == 2 and drill["restored_from_repo"] == 2
    assert drill["restored_before_target"] == drill["sales_before_target"] == 12
    assert drill["missing_before_target"] == 0
    assert drill["duplicated"] == 0
    assert drill["restored_after_target"] == 0


def test_restored_database_passes_audit_verify(drill):
    assert drill["audit_rows_checked"] > 0
    assert drill["audit_problems"] == 0


def test_restore_check_brings_back_the_newest_state(drill):
    # The scheduled check (boxoffice backup restore-check): everything archived, from repo1.
    assert drill["latest_completed_sales"] == drill["primary_completed_sales"] >= 24
    assert drill["latest_audit_problems"] == 0


def test_backup_status_reads_both_repositories(drill):
    status = drill["backup_status"]
    assert status["ok"], status["problems"]
    assert [r["repo"] for r in status["repos"]] == [1, 2]
    for r in status["repos"]:
        assert r["backups"] == 1 and r["last_full"] and r["wal_max"]
        assert 0 <= r["age_s"] < 3600


def _info(stop: float, repo_ok: bool = True, wal: bool = True) -> list[dict]:
    """The shape of ``pgbackrest info --output=json`` (2.45), trimmed to what is read."""
    return [{"name": "boxoffice",
             "repo": [{"key": 1, "status": {"code": 0 if repo_ok else 1,
                                            "message": "ok" if repo_ok else "missing stanza"}},
                      {"key": 2, "status": {"code": 0, "message": "ok"}}],
             "archive": [{"database": {"id": 1, "repo-key": k},
                          "min": "000000010000000000000001" if wal else None,
                          "max": "000000010000000000000009" if wal else None}
                         for k in (1, 2)],
             "backup": [{"label": f"F{k}", "type": "full", "database": {"repo-key": k},
                         "timestamp": {"start": stop - 60, "stop": stop},
                         "info": {"size": 1000}} for k in (1, 2)]}]


def test_stale_backup_is_a_problem_fresh_one_is_not():
    now = time.time()
    assert parse_info(_info(now - 3600), "boxoffice").problems() == []
    stale = parse_info(_info(now - STALE_AFTER_S - 60), "boxoffice").problems()
    assert len(stale) == 2 and all("h old" in p for p in stale)
    assert any("missing stanza" in p
               for p in parse_info(_info(now, repo_ok=False), "boxoffice").problems())
    assert any("no WAL archived" in p
               for p in parse_info(_info(now, wal=False), "boxoffice").problems())
    assert parse_info(_info(now), "other").problems() == ["stanza other: no repository"
                                                          " reported"]


def test_status_is_written_as_a_node_exporter_textfile(tmp_path: Path):
    from prometheus_client.parser import text_string_to_metric_families

    stop = float(int(time.time()) - 100)
    out = tmp_path / "boxoffice_backup.prom"
    export(parse_info(_info(stop), "boxoffice"), out)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(out.read_text()) for s in f.samples}
    key = (("repo", "2"), ("stanza", "boxoffice"), ("type", "full"))
    assert samples[("boxoffice_backup_last_completed_timestamp_seconds", key)] == stop
    assert samples[("boxoffice_backup_status_ok", (("repo", "1"), ("stanza", "boxoffice")))] == 1
