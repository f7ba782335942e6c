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


def _ini(path: Path):
    import configparser

    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.read_string(path.read_text())
    return cp


def test_pgbackrest_keeps_two_repositories_for_the_stanza_patroni_archives_to() -> None:
    conf = _ini(DEPLOY / "pgbackrest" / "pgbackrest.conf")
    stanza = re.search(r"--stanza=(\S+)", _patroni("db1")["bootstrap"]["dcs"]["postgresql"]
                       ["parameters"]["archive_command"]).group(1)
    assert conf.has_section(stanza)
    assert conf[stanza]["pg1-path"] == _patroni("db1")["postgresql"]["data_dir"]
    g = conf["global"]
    assert g["repo1-path"] and g["repo2-path"]
    # Two places: a local path and an off-site store.
    assert g.get("repo1-type", "posix") != g.get("repo2-type", "posix")
    assert int(g["repo1-retention-full"]) >= 2 and int(g["repo2-retention-full"]) >= 2
    # Secrets live in conf.d/secrets.conf on the machine, never in the shipped file.
    assert not [k for k in g if k.endswith(("-pass", "-key", "-key-secret"))]


def test_every_timer_starts_a_shipped_unit() -> None:
    units = {p.name for p in (DEPLOY / "systemd").iterdir()}
    timers = [p for p in (DEPLOY / "systemd").glob("*.timer")]
    assert {"boxoffice-backup-full.timer", "boxoffice-backup-diff.timer",
            "boxoffice-backup-status.timer", "boxoffice-restore-check.timer"} <= \
        {t.name for t in timers}
    for t in timers:
        unit = _ini(t)["Timer"]["Unit"]
        template = re.sub(r"@[^.]+\.service$", "@.service", unit)
        assert unit in units or template in units, (t.name, unit)


def test_backup_schedule_keeps_backups_younger_than_the_alert() -> None:
    full = _ini(DEPLOY / "systemd" / "boxoffice-backup-full.timer")["Timer"]["OnCalendar"]
    diff = _ini(DEPLOY / "systemd" / "boxoffice-backup-diff.timer")["Timer"]["OnCalendar"]
    # Full on Sunday, differential on every other day, same hour: 24 h apart (alert: 26 h).
    assert full.split()[0] == "Sun" and diff.split()[0] == "Mon..Sat"
    assert full.split()[1:] == diff.split()[1:]
