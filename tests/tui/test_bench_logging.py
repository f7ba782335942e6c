"""The seat-map benchmark runs end to end (on a small room: timings are the CLI's job),
and the apps' logging goes to a JSON-lines file, never to the terminal."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog

from boxoffice_cli.app_cmds import build_big_room
from boxoffice_tui import bench
from core.reservation import upcoming_events
from terminal.logsetup import configure

pytestmark = pytest.mark.db


def test_seatmap_bench_measures_open_and_burst(ctx: Any) -> None:
    # `boxoffice bench seatmap` is the owner's tool (a scratch database, two terminals).
    eid = build_big_room(ctx.engine, rows=6, per_row=20)
    ev = next(e for e in upcoming_events(ctx.engine) if e.id == eid)
    out = bench.measure(ctx, ev, burst=40, size=(80, 24))
    assert out["seats"] == 120
    assert out["burst_changes"] == 40  # every remote hold reached the screen
    assert out["open_ms"] > 0 and out["burst_applied_ms"] > 0


def test_logs_are_json_lines_in_the_file(tmp_path: Path, capfd: Any) -> None:
    log_file = tmp_path / "logs" / "app.jsonl"
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure(log_file)
        structlog.get_logger("boxoffice_tui.test").info("sold", order=100001)
        logging.getLogger("core.test").warning("printer %s", "offline")
        for h in root.handlers:
            h.flush()
        lines = [json.loads(x) for x in log_file.read_text().splitlines()]
        assert {"event": "sold", "order": 100001} .items() <= lines[0].items()
        assert lines[1]["event"] == "printer offline" and lines[1]["level"] == "warning"
        out, err = capfd.readouterr()
        assert "sold" not in out + err and "printer offline" not in out + err
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
        structlog.reset_defaults()
