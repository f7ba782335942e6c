"""The automatic failover drill: the shipped Patroni configuration (deploy/patroni/db1.yml)
run for real on loopback, two Patroni nodes on a one-member etcd, terminals selling, the
leader's machine "dies" (SIGKILL of its Patroni and PostgreSQL process group), and Patroni
promotes the synchronous standby by itself: no ``pg_ctl promote`` from the drill.

Only what cannot run on one machine is changed from the shipped file: addresses and ports,
paths, no TLS, no watchdog, no archiving, trust on loopback, and short timings (ttl 10 s,
loop_wait 1 s) so the drill takes seconds, not the production 30 s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]  # (PyYAML, through python-escpos)

from core.drills.cluster import (
    SUPERUSER,
    DrillError,
    Node,
    ScratchCluster,
    free_port,
    kill_group,
)
from core.drills.selling_terminals import (
    create_database,
    prepare_casino,
    sell_through_failover,
    terminal_url,
    verify_sales,
)

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "patroni" / "db1.yml"
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 1, 4


def _runs_in(pid: int, datadir: Path) -> bool:
    """Whether ``pid`` is still a server of ``datadir`` (a stale postmaster.pid may name a
    process that has nothing to do with the drill)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return str(datadir) in cmd


def _spawn(cl: ScratchCluster, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cl.base, env=cl.env(),
                                start_new_session=True,
                                **cl.as_user())  # type: ignore[call-overload]
    cl.chown(log)
    return proc


def node_config(name: str, node: Node, rest_port: int, etcd: str, bindir: Path,
                scope: str) -> dict[str, Any]:
    """The shipped db1.yml with what one machine needs changed (module docstring)."""
    conf: dict[str, Any] = yaml.safe_load(SHIPPED.read_text())
    conf["scope"], conf["name"] = scope, name
    conf["namespace"] = "/drill/"
    conf["restapi"] = {"listen": f"127.0.0.1:{rest_port}",
                       "connect_address": f"127.0.0.1:{rest_port}"}
    conf.pop("etcd3")
    conf["etcd3"] = {"hosts": etcd}
    dcs = conf["bootstrap"]["dcs"]
    dcs.update(ttl=TTL, loop_wait=LOOP_WAIT, retry_timeout=RETRY_TIMEOUT)
    params = dcs["postgresql"]["parameters"]
    for key in ("ssl", "ssl_cert_file", "ssl_key_file", "archive_command"):
        params.pop(key, None)
    params.update(archive_mode="off", max_connections=60, wal_keep_size="64MB",
                  shared_buffers="32MB")
    conf["bootstrap"]["pg_hba"] = ["local all all trust", "local replication all trust",
                                   "host all all 127.0.0.1/32 trust",
                                   "host replication all 127.0.0.1/32 trust"]
    conf["bootstrap"]["initdb"] = [{"encoding": "UTF8"}, "no-locale"]
    pg = conf["postgresql"]
    pg.update(listen=f"127.0.0.1:{node.port}", connect_address=f"127.0.0.1:{node.port}",
              data_dir=str(node.datadir), bin_dir=str(bindir),
              pgpass=str(node.root / "pgpass"))
    pg.pop("config_dir", None)
    pg["parameters"] = {"unix_socket_directories": str(node.sockdir)}
    pg["create_replica_methods"] = ["basebackup"]
    pg.pop("pgbackrest", None)
    pg["authentication"] = {"superuser": {"username": SUPERUSER, "password": "drill"},
                            "replication": {"username": "replicator", "password": "drill"},
                            "rewind": {"username": "rewind", "password": "drill"}}
    conf["watchdog"] = {"mode": "off"}
    conf["log"] = {"level": "WARNING"}
    return conf


class PatroniCluster:
    """etcd plus two Patroni nodes in a ScratchCluster's directory."""

    def __init__(self, cl: ScratchCluster) -> None:
        self.cl = cl
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.nodes: dict[str, Node] = {}
        self.rest: dict[str, int] = {}
        self.scope = "drill"

    def start(self) -> None:
        etcd_dir = self.cl.mkdir("etcd")
        client, peer = free_port(), free_port()
        self.etcd = f"127.0.0.1:{client}"
        self.procs["etcd"] = _spawn(self.cl, [
            "etcd", "--name", "e1", "--data-dir", str(etcd_dir / "data"),
            "--listen-client-urls", f"http://{self.etcd}",
            "--advertise-client-urls", f"http://{self.etcd}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"e1=http://127.0.0.1:{peer}", "--log-level", "warn"],
            self.cl.base / "etcd.log")
        self._wait(lambda: httpx.get(f"http://{self.etcd}/health", timeout=1).status_code
                   == 200, 30, "etcd")
        for name in ("db1", "db2"):
            node = self.cl.add_node(name, {})
            self.nodes[name] = node
            self.rest[name] = free_port()
            conf = node_config(name, node, self.rest[name], self.etcd, self.cl.bindir,
                               self.scope)
            path = node.root / "patroni.yml"
            path.write_text(yaml.safe_dump(conf))
            self.cl.chown(path)
            self.procs[name] = _spawn(self.cl, ["patroni", str(path)], node.root / "patroni.log")
            if name == "db1":  # the first one bootstraps the cluster; then its standby
                self._wait(lambda: self.leader() == "db1", 90, "db1 as leader")
        self._wait(lambda: self.sync_standby() is not None, 120, "a synchronous standby")

    def _status(self, name: str) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"http://127.0.0.1:{self.rest[name]}/patroni", timeout=1)
            return dict(r.json())
        except (httpx.HTTPError, ValueError):
            return None

    def leader(self) -> str | None:
        for name in self.nodes:
            st = self._status(name)
            if st and st.get("role") in ("master", "primary") and st.get("state") == "running":
                return name
        return None

    def sync_standby(self) -> str | None:
        for name in self.nodes:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.rest[name]}/sync",
                             timeout=1).status_code == 200:
                    return name
        return None

    def _wait(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):
                if cond():
                    return
            if time.monotonic() > deadline:
                logs = {n: self.nodes[n].root / "patroni.log" for n in self.nodes}
                tails = "\n".join(f"--- {n}\n" + p.read_text(errors="replace")[-1500:]
                                  for n, p in logs.items() if p.exists())
                raise DrillError(f"no {what} after {timeout} s\n{tails}")
            time.sleep(0.2)

    def kill_machine(self, name: str) -> None:
        """Patroni and its PostgreSQL die together, as when the machine loses power."""
        pid = None
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.nodes[name].datadir / "postmaster.pid").read_text().split()[0])
        if pid is not None and _runs_in(pid, self.nodes[name].datadir):
            # PostgreSQL first (what the terminals talk to), in the process group Patroni
            # started it in (backends included), then the postmaster itself, then Patroni
            # before its next loop could restart it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        kill_group(self.procs[name])

    def close(self) -> None:
        for name in self.procs:
            if name != "etcd":
                self.kill_machine(name)
        if "etcd" in self.procs:
            kill_group(self.procs["etcd"])


def run_drill(*, terminals: int = 4, before_s: float = 2.0, after_s: float = 2.0,
              resume_timeout_s: float = 60.0) -> dict[str, Any]:
    """Sales while the Patroni leader's machine dies; Patroni alone promotes the standby."""
    import tempfile

    t_start = time.monotonic()
    with ScratchCluster(prefix="bo-drill-patroni-") as cl, \
            tempfile.TemporaryDirectory(prefix="bo-drill-term-") as term_dir:
        pc = PatroniCluster(cl)
        try:
            pc.start()
            leader, standby = "db1", pc.sync_standby()
            assert standby == "db2", standby
            create_database(pc.nodes[leader])
            url = terminal_url([pc.nodes["db1"], pc.nodes["db2"]])
            ctx, actors, events = prepare_casino(url, terminals, term_dir)
            run = sell_through_failover(
                ctx, actors, events, kill=lambda: pc.kill_machine(leader),
                promote=lambda: pc._wait(lambda: pc.leader() == standby, resume_timeout_s,
                                         f"{standby} promoted by Patroni"),
                before_s=before_s, after_s=after_s, resume_timeout_s=resume_timeout_s)
            sales = run.sales
            checked = verify_sales(pc.nodes[standby], sales)
            per = run.resume_per_terminal()
            return {"drill": "patroni-failover", "terminals": terminals,
                    "ttl_s": TTL, "acknowledged": len(sales),
                    "acknowledged_after_kill": run.acknowledged_after_kill,
                    "lost": checked["lost"], "duplicated": checked["duplicated"],
                    "raw_errors": len(run.raw), "raw_error_samples": run.raw_error_samples,
                    "codes_after_kill": run.codes_after_kill,
                    "promoted_by_patroni_s": round(run.promoted_s, 2),
                    "resume_s": round(max(per), 2) if run.resumed else None,
                    "max_call_s": round(run.max_call_s, 3),
                    "elapsed_s": round(time.monotonic() - t_start, 1)}
        finally:
            pc.close()
