"""``boxoffice doctor`` (core.doctor) against real services: the test database, Redis, the
sandbox gateway and a loopback "printer"; then each thing broken in turn, and whether the
terminal can still sell."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from config import ConfigError
from core.doctor import run
from core.payments.sandbox import SandboxServer
from tests.conftest import _libpq, _with_db, make_settings

NAMES = ["config", "database", "schema", "clock", "replication", "redis", "gateway",
         "printer", "journal disk", "spool disk", "ticket key", "config file"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=3) as sb:
        yield sb


@pytest.fixture
def printer() -> Iterator[int]:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        yield srv.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("# the doctor checks its mode only\n")
    path.chmod(0o600)
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(path))
    return path


def _settings(db_url, tmp_path, sandbox, printer, redis_url, **over):
    return make_settings(db_url, tmp_path, gateway__base_url=sandbox.base_url,
                         printer__url=f"tcp://127.0.0.1:{printer}",
                         redis__url=redis_url, **over)


def _by_name(report) -> dict:
    return {c.name: c for c in report.checks}


def test_healthy_terminal_can_sell(ctx, db_url, tmp_path, sandbox, printer, redis_url,
                                   config_file):
    report = run(lambda: _settings(db_url, tmp_path, sandbox, printer, redis_url))
    checks = _by_name(report)
    assert [c.name for c in report.checks] == NAMES
    assert report.can_sell
    # The test server's login is a superuser: reported, not fatal.
    assert checks["database"].status == "warning" and "superuser" in checks["database"].detail
    # The CI server has no standby: said, not fatal.
    assert checks["replication"].status == "warning"
    assert "without a synchronous standby" in checks["replication"].detail
    for name in NAMES:
        if name not in ("database", "replication"):
            assert checks[name].status == "ok", checks[name]


def test_ticket_key_readable_by_others_stops_sales(ctx, db_url, tmp_path, sandbox, printer,
                                                  redis_url, config_file):
    from core.tickets.keys import key_path, load_or_create_key

    settings = _settings(db_url, tmp_path, sandbox, printer, redis_url)
    path = key_path(settings.terminal.data_dir, settings.terminal.name)
    load_or_create_key(path)
    assert _by_name(run(lambda: settings))["ticket key"].status == "ok"
    path.chmod(0o644)
    report = run(lambda: settings)
    key = _by_name(report)["ticket key"]
    assert key.status == "failure" and key.action == f"chmod 600 {path}"
    assert not report.can_sell
    config_file.chmod(0o644)
    assert _by_name(run(lambda: settings))["config file"].status == "failure"


def test_a_cashier_sells_without_printer_gateway_or_redis_a_kiosk_does_not(
        ctx, db_url, tmp_path, config_file):
    port = _closed_port()
    over = {"gateway__base_url": f"http://127.0.0.1:{port}",
            "printer__url": f"tcp://127.0.0.1:{port}",
            "redis__url": f"redis://127.0.0.1:{port}/0"}
    cashier = run(lambda: make_settings(db_url, tmp_path, **over))
    checks = _by_name(cashier)
    assert checks["redis"].status == "warning"
    assert checks["printer"].status == "warning"
    assert checks["gateway"].status == "failure" and "cash still sells" in \
        checks["gateway"].action
    assert cashier.can_sell
    kiosk = run(lambda: make_settings(db_url, tmp_path, terminal__kind="kiosk", **over))
    assert not kiosk.can_sell
    assert {c.name for c in kiosk.checks if c.blocks_sales and c.status == "failure"} == \
        {"gateway", "printer"}


def test_database_down_means_no_sale(tmp_path, config_file):
    report = run(lambda: make_settings(
        f"postgresql://postgres@127.0.0.1:{_closed_port()}/boxoffice", tmp_path,
        database__connect_timeout_s=1))
    db = _by_name(report)["database"]
    assert db.status == "failure" and "cannot connect" in db.detail
    assert not report.can_sell


def test_clock_skew_is_measured_against_the_database(ctx, db_url, tmp_path, config_file):
    settings = make_settings(db_url, tmp_path)
    assert _by_name(run(lambda: settings))["clock"].status == "ok"
    ahead = _by_name(run(lambda: settings, clock=lambda: time.time() + 10))["clock"]
    assert ahead.status == "warning" and "ahead of the database by" in ahead.detail
    assert 9 < float(ahead.detail.split(" by ")[1].split()[0]) < 11
    far = run(lambda: settings, clock=lambda: time.time() - 600)
    assert _by_name(far)["clock"].status == "failure" and far.can_sell  # warns, sells


def test_empty_database_needs_its_schema(pg_admin_url, tmp_path, config_file):
    name = f"bo_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as c:
        c.execute(f'create database "{name}"')
    try:
        report = run(lambda: make_settings(_with_db(pg_admin_url, name), tmp_path))
        schema = _by_name(report)["schema"]
        assert schema.status == "failure" and "boxoffice db upgrade" in schema.action
        assert not report.can_sell
    finally:
        with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as c:
            c.execute(f'drop database if exists "{name}" with (force)')


def test_bad_config_is_the_only_finding():
    def broken():
        raise ConfigError("database.url: not a URL")

    report = run(broken)
    assert [(c.name, c.status) for c in report.checks] == [("config", "failure")]
    assert not report.can_sell


def test_cli_exit_code_says_whether_it_can_sell(ctx, db_url, tmp_path, monkeypatch, capsys):
    from boxoffice_cli.main import main

    cfg = tmp_path / "doctor.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n\n[terminal]\nname = "doctor-1"\n'
                   f'data_dir = "{tmp_path}"\n\n[printer]\nurl = "tcp://127.0.0.1:9"\n')
    cfg.chmod(0o600)
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(cfg))
    assert main(["doctor", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["can_sell"] is True
    assert [c["name"] for c in out["checks"]] == NAMES
    cfg.write_text(cfg.read_text().replace('name = "doctor-1"', 'name = "doctor-1"\n'
                                           'kind = "kiosk"'))
    assert main(["doctor"]) == 1
    text = capsys.readouterr().out
    assert "FAILURE  printer" in text and "cannot sell" in text
