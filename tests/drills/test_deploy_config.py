"""The production shape shipped in deploy/: Patroni for two nodes in synchronous mode on a
three-member etcd, checked by Patroni's own validator and for the settings the failover
promise (no acknowledged sale lost) rests on."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NODES = ("db1", "db2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _patroni(node: str) -> dict:
    return yaml.safe_load((DEPLOY / "patroni" / f"{node}.yml").read_text())


def _env(path: Path) -> dict[str, str]:
    return dict(re.findall(r'^([A-Z0-9_]+)="([^"]*)"$', path.read_text(), re.M))


@pytest.mark.parametrize("node", NODES)
def test_patroni_validates_each_node(node: str, tmp_path: Path) -> None:
    patroni = shutil.which("patroni")
    assert patroni, "Debian's patroni package is needed (.ci/run installs it)"
    conf = _patroni(node)
    # The validator also checks that the ports are free on *this* machine, where the
    # test's own PostgreSQL holds 5432: the same file listening on free loopback ports.
    conf["restapi"]["listen"] = f"127.0.0.1:{_free_port()}"
    conf["postgresql"]["listen"] = f"127.0.0.1:{_free_port()}"
    path = tmp_path / f"{node}.yml"
    path.write_text(yaml.safe_dump(conf))
    res = subprocess.run([patroni, "--validate-config", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_nodes_differ_only_in_name_and_addresses() -> None:
    a, b = (_patroni(n) for n in NODES)
    assert (a["name"], b["name"]) == NODES
    for conf in (a, b):
        for section in ("restapi", "postgresql"):
            conf[section].pop("listen")
            conf[section].pop("connect_address")
        conf.pop("name")
    assert a == b


def test_an_acknowledged_sale_is_on_two_machines() -> None:
    dcs = _patroni("db1")["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["synchronous_node_count"] == 1
    params = dcs["postgresql"]["parameters"]
    assert params["synchronous_commit"] in ("on", "remote_apply")
    assert params["archive_mode"] == "on"
    assert "pgbackrest" in params["archive_command"]


def test_etcd_has_three_members_that_know_each_other() -> None:
    members = {p.stem.removeprefix("etcd-"): _env(p) for p in (DEPLOY / "etcd").glob("*.env")}
    assert set(members) == {"db1", "db2", "witness"}
    clusters = {m["ETCD_INITIAL_CLUSTER"] for m in members.values()}
    assert len(clusters) == 1
    peers = dict(item.split("=", 1) for item in clusters.pop().split(","))
    for name, env in members.items():
        assert env["ETCD_NAME"] == name
        assert peers[name] == env["ETCD_INITIAL_ADVERTISE_PEER_URLS"]
    hosts = _patroni("db1")["etcd3"]["hosts"].split(",")
    assert sorted(hosts) == sorted(m["ETCD_ADVERTISE_CLIENT_URLS"].removeprefix("http://")
                                   for m in members.values())
