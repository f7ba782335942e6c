"""deploy/loki/promtail.yml against what the box office really writes: the paths it
watches hold the configured log file, and its pipeline reads fields every JSON line has."""

from __future__ import annotations

import fnmatch
import json
import logging
from pathlib import Path

import yaml

from config import Settings
from terminal.logsetup import configure
from tests.payments.conftest import (  # noqa: F401
    cashier,
    cashier_pctx,
    event_id,
    pctx,
    sandbox,
)

PROMTAIL = Path(__file__).resolve().parents[2] / "deploy" / "loki" / "promtail.yml"


def _scrape() -> dict:
    conf = yaml.safe_load(PROMTAIL.read_text())
    (job,) = [j for j in conf["scrape_configs"] if j["job_name"] == "boxoffice"]
    return job


def _globs(job: dict) -> list[str]:
    path = job["static_configs"][0]["labels"]["__path__"]
    return path.strip("{}").split(",")


def test_watched_paths_hold_the_log_file_of_a_service_and_of_a_user_terminal():
    globs = _globs(_scrape())
    service = Settings(terminal={"data_dir": "/var/lib/boxoffice"}).log_file  # type: ignore[arg-type]
    user = Settings(terminal={"data_dir": "/home/ana/.local/share/boxoffice"}).log_file  # type: ignore[arg-type]
    for f in (service, user, Path(str(service) + ".1")):
        assert any(fnmatch.fnmatch(str(f), g) for g in globs), f


def test_pipeline_reads_fields_every_json_line_has(tmp_path: Path):
    log_file = tmp_path / "logs" / "boxoffice.jsonl"
    root = logging.getLogger()
    before = list(root.handlers)
    configure(log_file, "INFO")
    try:
        logging.getLogger("core.drills").warning("a line for the shipping test")
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
                h.close()
    lines = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert lines
    stages = _scrape()["pipeline_stages"]
    fields = next(s["json"]["expressions"] for s in stages if "json" in s)
    for line in lines:
        for source in fields.values():
            assert source in line, (source, line)
    labels = next(s["labels"] for s in stages if "labels" in s)
    assert set(labels) <= set(fields)  # only extracted fields become labels
    assert "sale_id" not in labels and "terminal" not in labels  # fields, not labels
    ts = next(s["timestamp"] for s in stages if "timestamp" in s)
    assert ts["source"] in fields and lines[0][ts["source"]].endswith("Z")


def test_one_sale_can_be_followed_through_the_log(pctx, cashier, cashier_pctx,  # noqa: F811
                                                  tmp_path: Path):
    # The counter sells on its own cashier login.
    import uuid

    from core.reservation import hold_best_available
    from core.sales import CardTender, checkout, open_shift

    log_file = tmp_path / "logs" / "boxoffice.jsonl"
    root = logging.getLogger()
    before = list(root.handlers)
    configure(log_file, "INFO")
    try:
        open_shift(cashier_pctx, cashier, uuid.uuid4(), 0)
        h = hold_best_available(cashier_pctx, cashier, uuid.uuid4(), event_id(pctx, "MAGICA"),
                                1)
        sale = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id,
                        CardTender("pm_card_visa"))
    finally:
        for hd in root.handlers[:]:
            if hd not in before:
                root.removeHandler(hd)
                hd.close()
    lines = [json.loads(x) for x in log_file.read_text().splitlines()]
    mine = [ln for ln in lines if ln.get("sale_id") == str(sale.sale_id)]
    # The hold, the authorization, the confirmation and the capture at least.
    assert len(mine) >= 3, lines
    for ln in mine:
        assert ln.get("terminal") == cashier.terminal_name
        assert ln.get("operator_id") == cashier.operator_id


def test_extra_fields_kept_secrets_dropped_and_the_file_rotates(tmp_path: Path):
    log_file = tmp_path / "logs" / "boxoffice.jsonl"
    root = logging.getLogger()
    before = list(root.handlers)
    configure(log_file, "INFO", max_bytes=4000, backups=2)
    try:
        lg = logging.getLogger("core.drills")
        lg.warning("mail to %s failed", "ana@example.com",
                   extra={"order_id": "o-1", "email": "ana@example.com", "pin": "pin-s3cret-xyz"})
        for n in range(100):
            lg.info("filler line %d", n, extra={"n": n})
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
                h.close()
    files = sorted(log_file.parent.iterdir())
    assert [f.name for f in files] == ["boxoffice.jsonl", "boxoffice.jsonl.1",
                                       "boxoffice.jsonl.2"]
    assert all(f.stat().st_size <= 4000 for f in files)
    lines = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert any(ln.get("n") == 99 for ln in lines)
    text = "".join(f.read_text() for f in files)
    assert "example.com" not in text and "s3cret" not in text
