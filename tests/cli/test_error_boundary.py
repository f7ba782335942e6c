"""Issue 13 item 8: every bad input or fault the outside testers typed into ``boxoffice``
answers one clear line and a non-zero exit, never a traceback.

Each command runs as its own process, as an operator would type it; the database is a
real one (or a port where nothing listens), the config file a real file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _refused_url() -> str:
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


@pytest.fixture
def run(db_url: str, tmp_path: Path):
    def go(*argv: str, url: str | None = None, config: str | None = None,
           lang: str = "en", timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
        cfg = tmp_path / "boxoffice.toml"
        if config is not None:
            cfg.write_bytes(config.encode("latin-1"))
        env.update(BOXOFFICE_CONFIG=str(cfg if config is not None else tmp_path / "none.toml"),
                   BOXOFFICE_DATABASE__URL=url or db_url,
                   BOXOFFICE_DATABASE__CONNECT_TIMEOUT_S="2",
                   BOXOFFICE_TERMINAL__DATA_DIR=str(tmp_path / "data"),
                   BOXOFFICE_TERMINAL__LANGUAGE=lang,
                   BOXOFFICE_TERMINAL__NAME="cli-test")
        return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", *argv], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    go.tmp = tmp_path  # type: ignore[attr-defined]
    return go


def _clear(done: subprocess.CompletedProcess[str], *words: str) -> str:
    both = done.stdout + done.stderr
    assert "Traceback" not in both, both
    assert done.returncode != 0, both
    err = done.stderr.strip()
    assert err, both
    # One clear answer, last: argparse puts its usage lines before it.
    assert err.splitlines()[-1].startswith("boxoffice") and len(err.splitlines()) <= 8, err
    for w in words:
        assert w.lower() in err.lower(), (w, err)
    return err


def test_audit_verify_with_a_refusing_database(run):
    _clear(run("audit", "verify", url=_refused_url()), "database")


def test_audit_verify_with_an_unreachable_database(run):
    # TEST-NET-1: nobody answers; the connect timeout bounds it.
    done = run("audit", "verify", url="postgresql://postgres@192.0.2.1:5432/x", timeout=60)
    _clear(done, "database")


def test_database_errors_speak_the_configured_language(run):
    err = _clear(run("audit", "verify", url=_refused_url(), lang="pt-BR"))
    assert "banco de dados" in err, err


def test_config_file_that_is_not_utf8(run):
    err = _clear(run("audit", "verify", config='[terminal]\nname = "caixa-\xe7\xe3o"\n'),
                 "utf-8")
    assert "boxoffice.toml" in err


def test_scan_gate_too_long(run):
    _clear(run("scan", "--gate", "g" * 100), "--gate")


@pytest.mark.parametrize("argv, word", [
    (("lease", "take", "--event", "MAGICA", "--quantity", "99999999999999999999"),
     "--quantity"),
    (("lease", "take", "--event", "MAGICA", "--quantity", "0"), "--quantity"),
    (("lease", "take", "--event", "MAGICA", "--seats", "1,x"), "--seats"),
    (("lease", "take", "--event", "MAGICA", "--seats", "1,99999999999999999999"), "--seats"),
    (("shift", "open", "--login", "ana", "--float", "abc"), "--float"),
    (("shift", "open", "--login", "ana", "--float", "1e5"), "--float"),
    (("shift", "open", "--login", "ana", "--float", ""), "--float"),
    (("shift", "open", "--login", "ana", "--float",
      "99999999999999999999999"), "--float"),
    (("shift", "close", "--login", "ana", "--counted", "1,234.5.6"),
     "--counted"),
    (("shift", "close", "--login", "ana", "--counted", "-5,00"),
     "--counted"),
    (("kiosk", "exclude", "123", "--until", "notadate"), "--until"),
    (("kiosk", "--name", "caixa 1; rm"), "--name"),
])
def test_bad_arguments_are_refused_before_anything_runs(run, argv, word):
    _clear(run(*argv), word)


def test_offline_scan_of_a_file_that_is_not_a_snapshot(run):
    done = run("scan", "--offline", "--snapshot", "/etc/passwd")
    _clear(done, "snapshot")


def test_offline_scan_of_a_snapshot_missing_its_parts(run):
    snap = run.tmp / "snap.json"
    snap.write_text(json.dumps({"version": 1}))
    _clear(run("scan", "--offline", "--snapshot", str(snap)), "snapshot")


def test_an_unexpected_error_is_one_line_and_the_log_has_the_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    import logging

    from boxoffice_cli import main as cli

    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("BOXOFFICE_TERMINAL__DATA_DIR", str(tmp_path))

    def broken(args: object) -> int:
        raise RuntimeError("a bug with a secret inside")

    monkeypatch.setattr(cli, "cmd_audit_verify", broken)
    before = list(logging.getLogger().handlers)
    try:
        code = cli.main(["audit", "verify"])
    finally:
        for h in logging.getLogger().handlers[:]:
            if h not in before:
                logging.getLogger().removeHandler(h)
                h.close()
    out, err = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in out + err and "secret" not in err, err
    log_file = tmp_path / "logs" / "boxoffice.jsonl"
    assert str(log_file) in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" in log_file.read_text() and "RuntimeError" in log_file.read_text()
