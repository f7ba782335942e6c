"""Database URLs in every form libpq takes, multi-host ones included (issue 13 item 4):
SQLAlchemy's parser refuses ``postgresql://u@db1:5432,db2:5432/db``, and the README
documents that form for a failover pair."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config import ConfigError, Settings
from core.db.engine import build_engine, database_url, mask_url, normalize_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "hosts", "ports"), [
    ("postgresql://user@db1:5432,db2:5432/boxoffice?target_session_attrs=read-write",
     "db1,db2", "5432,5432"),
    ("postgresql://user@db1,db2:6543/boxoffice", "db1,db2", ",6543"),
    ("postgresql://user@/boxoffice?host=db1,db2&port=5432,5433", "db1,db2", "5432,5433"),
    ("postgresql://user@/boxoffice?host=db1,db2&port=5433", "db1,db2", "5433,5433"),
    ("postgresql://user@/boxoffice?host=db1:5432&host=db2:5433", "db1,db2", "5432,5433"),
    ("postgresql://user@/boxoffice?host=db1&host=db2", "db1,db2", None),
    ("postgresql://user@[::1]:5432,[fd00::2]:5433/boxoffice", "::1,fd00::2", "5432,5433"),
    ("postgresql://user@ignored:1/boxoffice?host=db1,db2", "db1,db2", None),
])
def test_multi_host_forms_become_libpq_lists(raw: str, hosts: str, ports: str | None) -> None:
    url = normalize_url(raw)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.database, url.host, url.port) == ("user", "boxoffice", None, None)
    assert url.query.get("host") == hosts
    assert url.query.get("port") == ports
    if "target_session_attrs" in raw:
        assert url.query["target_session_attrs"] == "read-write"
    # What database_url() hands on is parsable by SQLAlchemy and stable.
    again = make_url(url.render_as_string(hide_password=False))
    assert again == url and normalize_url(again) == url


@pytest.mark.parametrize(("raw", "expected"), [
    ("postgresql://u:p%40ss@db:5433/bo?sslmode=require",
     "postgresql+psycopg://u:p%40ss@db:5433/bo?sslmode=require"),
    ("postgres://db/bo", "postgresql+psycopg://db/bo"),
    ("postgresql+psycopg://postgres@/bo?host=/run/postgresql",
     "postgresql+psycopg://postgres@/bo?host=%2Frun%2Fpostgresql"),
    ("postgresql://[::1]:5433/bo", "postgresql+psycopg://[::1]:5433/bo"),
])
def test_single_host_forms(raw: str, expected: str) -> None:
    url = normalize_url(raw)
    assert url.render_as_string(hide_password=False) == expected
    if "p%40ss" in raw:
        assert url.password == "p@ss"


@pytest.mark.parametrize("raw", [
    "postgresql://u:s3cr3t-pw@db1:x,db2/bo",
    "postgresql://u:s3cr3t-pw@db1,db2/bo?port=1,2,3",
    "postgresql://u:s3cr3t-pw@db1/bo?host=a,,b",
    "postgresql://u:s3cr3t-pw@db1:99999/bo",
    "mysql://u:s3cr3t-pw@db1/bo",
    "postgresql://u@db1/bo?password=s3cr3t-pw&port=nope",
])
def test_bad_urls_are_config_errors_without_the_password(raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_url(raw)
    assert "s3cr3t-pw" not in str(err.value)
    assert "***" in str(err.value)


def test_mask_url() -> None:
    assert mask_url("postgresql://u:p@ss@h1:1,h2/d?password=x&a=1") == \
        "postgresql://u:***@h1:1,h2/d?password=***&a=1"
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


def _multi_host_urls(db_url: str) -> list[str]:
    u = make_url(db_url)
    host, port, dead = u.host or "127.0.0.1", u.port or 5432, _dead_port()
    auth = u.username + (f":{u.password}" if u.password else "")
    base = f"postgresql://{auth}@"
    tsa = "target_session_attrs=read-write"
    return [
        f"{base}127.0.0.1:{dead},{host}:{port}/{u.database}?{tsa}",
        f"{base}/{u.database}?host=127.0.0.1,{host}&port={dead},{port}&{tsa}",
        f"{base}/{u.database}?host=127.0.0.1:{dead}&host={host}:{port}&{tsa}",
    ]


def test_a_dead_first_host_falls_through_to_the_live_one(db_url: str) -> None:
    live = make_url(db_url).port or 5432
    for raw in _multi_host_urls(db_url):
        engine = build_engine(Settings(), url=raw, pool_size=1)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("select inet_server_port()")).scalar_one() == live
                assert conn.execute(text("show transaction_read_only")).scalar_one() == "off"
        finally:
            engine.dispose()


def test_settings_url_in_the_readme_form(db_url: str, tmp_path: Path) -> None:
    raw = _multi_host_urls(db_url)[0]
    settings = Settings(database={"url": raw}, terminal={"data_dir": str(tmp_path)})
    engine = build_engine(settings, url=database_url(settings), pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_audit_verify_takes_a_multi_host_url(db_url: str, tmp_path: Path) -> None:
    # The command the issue saw print a traceback.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_DATABASE__URL=_multi_host_urls(db_url)[0],
               BOXOFFICE_CONFIG=str(tmp_path / "none.toml"),
               BOXOFFICE_TERMINAL__DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "boxoffice_cli.main", "audit", "verify"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert "audit rows checked" in done.stdout, done.stderr
