"""``boxoffice doctor``: check a terminal (or server) end to end and say what to fix.

Each check returns ok, warning or failure with what it saw and what to do. A failure of a
check marked ``blocks_sales`` means the terminal cannot sell now; warnings are things to
fix before they bite (a missing TLS, a skewed clock, a printer that is off). The checks
only read: nothing is written to the database, the printer or the gateway.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from config import Settings

Status = Literal["ok", "warning", "failure"]

CLOCK_WARN_S = 2.0
CLOCK_FAIL_S = 120.0
DISK_WARN_BYTES = 1 << 30
DISK_FAIL_BYTES = 100 << 20
NET_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    action: str = ""
    # A failure of this check means the terminal cannot sell.
    blocks_sales: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def can_sell(self) -> bool:
        return not any(c.status == "failure" and c.blocks_sales for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"can_sell": self.can_sell, "checks": [c.to_json() for c in self.checks]}


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _warn(name: str, detail: str, action: str) -> Check:
    return Check(name, "warning", detail, action)


def _fail(name: str, detail: str, action: str, blocks: bool = True) -> Check:
    return Check(name, "failure", detail, action, blocks)


def run(load: Callable[[], Settings], *, clock: Callable[[], float] = time.time) -> Report:
    """Every check; ``load`` reads the settings (a failure there is the first check)."""
    from config import ConfigError, config_path

    try:
        settings = load()
    except ConfigError as exc:
        return Report((_fail("config", str(exc), f"fix {config_path()} (boxoffice config"
                             " show prints what is read)"),))
    source = f"{config_path()} read" if config_path().is_file() else \
        f"no {config_path()}: defaults and BOXOFFICE_* variables"
    checks = [_ok("config", f"{source}; terminal {settings.terminal.name}"
                  f" ({settings.terminal.kind})")]
    db = _Database(settings, clock)
    checks += db.checks()
    checks.append(_redis(settings))
    checks.append(_gateway(settings, db.terminal_state))
    checks.append(_printer(settings))
    checks += _disks(settings)
    checks += _key_files(settings)
    return Report(tuple(checks))


# --- database ------------------------------------------------------------------------------


def _is_local(host: str) -> bool:
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Database:
    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings, self.clock = settings, clock
        self.terminal_state: dict[str, Any] | None = None

    def checks(self) -> list[Check]:
        from sqlalchemy import text

        from core.db.engine import build_engine

        s = self.settings
        try:
            engine = build_engine(s, pool_size=1, application_name=f"boxoffice-doctor:"
                                  f"{s.terminal.name}")
        except Exception as exc:
            return [_fail("database", f"cannot use database.url: {exc}",
                          "fix [database] url in the config")]
        try:
            with engine.connect() as conn:
                t0 = self.clock()
                row = conn.execute(text(
                    "select current_user as login, r.rolsuper as superuser,"
                    " extract(epoch from clock_timestamp()) as now,"
                    " pg_is_in_recovery() as standby, host(inet_server_addr()) as server,"
                    " coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()),"
                    " false) as tls from pg_roles r where r.rolname = current_user")).one()
                t1 = self.clock()
                groups = [r[0] for r in conn.execute(text(
                    "select b.rolname from pg_auth_members m join pg_roles b on b.oid ="
                    " m.roleid join pg_roles u on u.oid = m.member"
                    " where u.rolname = current_user"))]
                sync = conn.execute(text(
                    "select count(*) filter (where sync_state = 'sync'),"
                    " count(*) filter (where sync_state is null) from pg_stat_replication"
                )).one()
                state = None
                if conn.execute(text("select to_regclass('terminals') is not null")).scalar():
                    state = conn.execute(text(
                        "select state, extract(epoch from now() - last_heartbeat) as age"
                        " from terminals where name = :n"), {"n": s.terminal.name}).first()
                self.terminal_state = ({**(state.state or {}), "_age": state.age}
                                       if state else None)
            rev = self._schema(engine)
        except Exception as exc:
            return [_fail("database", f"cannot connect: {str(exc).splitlines()[0][:200]}",
                          "check the network to the database machines and [database] url;"
                          " the terminal sells only from its lease meanwhile")]
        finally:
            engine.dispose()
        hosts = self._hosts(engine)
        out = [self._connection(row, groups, hosts), rev,
               self._clock(float(row.now), t0, t1), self._replication(row.standby, sync)]
        return out

    def _hosts(self, engine: Any) -> list[str]:
        url = engine.url
        if url.host:
            return [url.host]
        raw = url.query.get("host", "")
        return [h for h in (raw if isinstance(raw, str) else ",".join(raw)).split(",") if h] \
            or [""]

    def _connection(self, row: Any, groups: list[str], hosts: list[str]) -> Check:
        kind = self.settings.terminal.kind
        where = f"{row.login}@{row.server or 'local socket'}"
        remote = not all(_is_local(h) for h in hosts)
        if remote and not row.tls:
            return _warn("database", f"connected as {where} without TLS",
                         "add sslmode=verify-full and sslrootcert to [database] url")
        if row.superuser:
            return _warn("database", f"connected as {where}, a superuser",
                         "give the terminal its own login: boxoffice terminal add (on a"
                         " machine with the owner's URL)")
        group = f"boxoffice_{kind}"
        if groups and group not in groups:
            return _warn("database", f"connected as {where}; login not in {group}"
                         f" (groups: {', '.join(groups)})",
                         f"re-create the login with boxoffice terminal add --kind {kind}")
        tls = "TLS" if row.tls else "no TLS (local)"
        return _ok("database", f"connected as {where}, {tls}")

    def _schema(self, engine: Any) -> Check:
        from core.db import migrate

        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current == head:
            return _ok("schema", f"revision {current}")
        if current is None:
            return _fail("schema", "the database has no schema",
                         "boxoffice db upgrade (with the owner's URL)")
        known = _known_revisions()
        if current not in known:
            return _fail("schema", f"database at {current}, newer than this program ({head})",
                         "update this terminal's software")
        return _fail("schema", f"database at {current}, this program expects {head}",
                     "boxoffice db upgrade (with the owner's URL)")

    def _clock(self, db_now: float, t0: float, t1: float) -> Check:
        skew = db_now - (t0 + t1) / 2
        detail = f"terminal clock {'behind' if skew > 0 else 'ahead of'} the database by" \
                 f" {abs(skew):.2f} s"
        action = "enable NTP (timedatectl set-ntp true) and check the time zone"
        if abs(skew) > CLOCK_FAIL_S:
            # Holds use the database clock, but offline tickets and logs use this one.
            return _fail("clock", detail, action, blocks=False)
        if abs(skew) > CLOCK_WARN_S:
            return _warn("clock", detail, action)
        return _ok("clock", detail)

    def _replication(self, standby: bool, sync: Any) -> Check:
        if standby:
            return _fail("replication", "connected to a standby: it cannot take sales",
                         "add target_session_attrs=read-write to [database] url")
        n_sync, hidden = int(sync[0] or 0), int(sync[1] or 0)
        if hidden:
            return _ok("replication", f"primary; {hidden} standby(s), state not visible to"
                       " this login")
        if n_sync == 0:
            return _warn("replication", "primary without a synchronous standby: each sale"
                         " is on one machine only (expected only on a single-server site)",
                         "see docs/operations.md, Failover (bring the standby back)")
        return _ok("replication", f"primary with {n_sync} synchronous standby(s)")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from core.db.migrate import alembic_config

    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


# --- services --------------------------------------------------------------------------------


def _redis(settings: Settings) -> Check:
    if settings.redis.url is None:
        return _ok("redis", "not configured: seat maps refresh from PostgreSQL (slower)")
    import redis

    try:
        client = redis.Redis.from_url(settings.redis.url.get_secret_value(),
                                      socket_timeout=NET_TIMEOUT_S,
                                      socket_connect_timeout=NET_TIMEOUT_S)
        client.ping()
        client.close()
    except Exception as exc:
        return _warn("redis", f"unreachable: {exc}",
                     "start Redis or fix [redis] url; sales go on from PostgreSQL, slower")
    return _ok("redis", "reachable")


def _gateway(settings: Settings, state: dict[str, Any] | None) -> Check:
    import httpx

    gw = settings.gateway
    kiosk = settings.terminal.kind == "kiosk"
    if gw.kind == "none":
        if kiosk:
            return _fail("gateway", "no card gateway configured (gateway.kind = none)",
                         "the kiosk takes cards only: set [gateway] kind = \"stripe\" and"
                         " its secret_key")
        return _warn("gateway", "no card gateway configured: cards refused, cash sells",
                     "to take cards set [gateway] kind = \"stripe\" and its secret_key")
    url = gw.base_url or ("https://api.stripe.com" if gw.kind == "stripe" else None)
    breaker = (state or {}).get("breaker")
    seen = f"; the app's breaker is {breaker}" if breaker else ""
    if url is None:
        return _warn("gateway", "sandbox started on demand: test cards, no money" + seen,
                     "outside `boxoffice demo` the monitor shows this as an alert; set"
                     " [gateway] kind = \"stripe\" to take real cards")
    try:
        httpx.get(url, timeout=NET_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return _fail("gateway", f"{url} unreachable ({type(exc).__name__}){seen}",
                     "check the network or proxy to the card gateway; cash still sells"
                     if not kiosk else "the kiosk cannot sell without cards: check the"
                     " network to the card gateway", blocks=kiosk)
    if breaker == "open":
        return _warn("gateway", f"{url} reachable, but the app's breaker is open",
                     "the app retries by itself after its wait; cash only until then")
    return _ok("gateway", f"{url} reachable{seen}")


def _printer(settings: Settings) -> Check:
    url = settings.printer.url
    kiosk = settings.terminal.kind == "kiosk"
    if not url:
        return Check("printer", "failure" if kiosk else "warning", "no printer configured",
                     "set [printer] url", blocks_sales=kiosk)
    u = urlparse(url)
    if u.scheme == "tcp":
        try:
            with socket.create_connection((u.hostname or "", u.port or 9100),
                                          timeout=NET_TIMEOUT_S):
                pass
        except OSError as exc:
            return Check("printer", "failure" if kiosk else "warning",
                         f"{url} unreachable: {exc}",
                         "power, network cable and paper of the printer; the counter's"
                         " tickets wait in the spool", blocks_sales=kiosk)
        return _ok("printer", f"{url} accepts connections")
    if u.scheme == "file":
        path = Path(u.path)
        if not os.access(path, os.W_OK):
            return Check("printer", "failure" if kiosk else "warning",
                         f"{path} missing or not writable",
                         "plug the printer in; add this user to the lp group",
                         blocks_sales=kiosk)
        return _ok("printer", f"{path} writable")
    return _ok("printer", f"{u.scheme}: printer not probed (detected on the first write)")


# --- local files -----------------------------------------------------------------------------


def _disks(settings: Settings) -> list[Check]:
    spool = settings.printer.spool_dir or settings.terminal.data_dir / "spool"
    out = []
    for name, path in (("journal disk", settings.journal_path.parent), ("spool disk", spool)):
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        detail = f"{free / (1 << 30):.1f} GiB free at {path}"
        if free < DISK_FAIL_BYTES:
            # Sales are journaled before they are sent: no room, no safe sale.
            out.append(_fail(name, detail, "free disk space on this terminal",
                             blocks=name == "journal disk"))
        elif free < DISK_WARN_BYTES:
            out.append(_warn(name, detail, "free disk space soon (old logs?)"))
        elif path.exists() and not os.access(path, os.W_OK):
            out.append(_fail(name, f"{path} not writable by this user",
                             "chown it to the terminal's user", blocks=name == "journal disk"))
        else:
            out.append(_ok(name, detail))
    return out


def _key_files(settings: Settings) -> list[Check]:
    from config import config_path
    from core.tickets.keys import key_path

    out = []
    for name, path, secret in (
            ("ticket key", key_path(settings.terminal.data_dir, settings.terminal.name),
             "signs this terminal's tickets"),
            ("config file", config_path(), "holds the database password")):
        if not path.exists():
            if name == "ticket key":
                out.append(_ok(name, f"{path} not created yet (made at the first sale)"))
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            out.append(_fail(name, f"{path} is mode {mode:o}: others can read what {secret}",
                             f"chmod 600 {path}", blocks=name == "ticket key"))
        else:
            out.append(_ok(name, f"{path} mode {mode:o}"))
    return out
