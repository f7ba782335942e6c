"""Build the SQLAlchemy engine from settings (a configured server or the embedded one)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import socket
import threading
import time
import warnings
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from sqlalchemy import Connection, Engine, ExceptionContext, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection, QueuePool

from config import ConfigError, Settings
from config.settings import DatabaseSettings
from core.errors import BoxOfficeError

IDLE_PING_S = 10.0
DRIVER = "postgresql+psycopg"
_SCHEMES = ("postgresql", "postgres", DRIVER)


def normalize_url(raw: str | URL) -> URL:
    """A PostgreSQL URL in any form libpq takes, as a SQLAlchemy URL for psycopg 3.

    SQLAlchemy's parser refuses libpq's multi-host netloc
    (``postgresql://u@db1:5432,db2:5432/boxoffice?target_session_attrs=read-write``: it
    reads ``5432,db2:5432`` as a port) and passes ``host=h1:p1,h2:p2`` to libpq as host
    names. Every form becomes one: a single host in the URL's host and port, several
    hosts as ``?host=h1,h2&port=p1,p2``, which SQLAlchemy hands to libpq as is; libpq
    then tries them in order (``target_session_attrs`` picks the writable one). The
    accepted forms are the netloc list, ``host=a,b`` (with ``port=p`` or ``port=p1,p2``)
    and repeated ``host=`` parameters, each host possibly ``name:port`` or ``[v6]:port``.
    Query ``host``/``port`` override the netloc's, as in libpq. Errors are ConfigErrors
    that never show the password.
    """
    if isinstance(raw, URL):
        raw = raw.render_as_string(hide_password=False)
    scheme, sep, _rest = raw.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ConfigError(f"database.url must start with postgresql://: {mask_url(raw)}")
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise ConfigError(f"database.url cannot be parsed ({exc}): {mask_url(raw)}") from None
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    user, has_pw, password = userinfo.partition(":")
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    try:
        hosts = _split_hosts(query.pop("host", []) or ([hostlist] if hostlist else []))
        hosts = _ports(",".join(query.pop("port", [])).split(","), hosts)
    except ValueError as exc:
        raise ConfigError(f"database.url: {exc}: {mask_url(raw)}") from None
    database = unquote(parts.path.lstrip("/")) or None
    rest = {k: v[0] if len(v) == 1 else tuple(v) for k, v in query.items()}
    single = len(hosts) == 1 and not hosts[0][0].startswith("/")
    if single:
        host, port = hosts[0]
        return URL.create(DRIVER, unquote(user) or None,
                          unquote(password) if has_pw else None, host or None, port,
                          database, rest)
    if hosts:
        # A Unix socket dir, or several hosts: libpq's own comma lists, in the query.
        rest["host"] = ",".join(h for h, _ in hosts)
        if any(p is not None for _, p in hosts):
            rest["port"] = ",".join("" if p is None else str(p) for _, p in hosts)
    return URL.create(DRIVER, unquote(user) or None, unquote(password) if has_pw else None,
                      None, None, database, rest)


def _split_hosts(values: list[str]) -> list[tuple[str, int | None]]:
    hosts: list[tuple[str, int | None]] = []
    for value in values:
        for item in unquote(value).split(","):
            item = item.strip()
            if not item:
                raise ValueError("an empty host in the host list")
            if item.startswith("/") or (item.count(":") > 1 and "[" not in item):
                hosts.append((item, None))  # a Unix socket directory, a bare IPv6 address
                continue
            m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\w*))?|([^:\[\]]*)(?::(\w*))?", item)
            if m is None:
                raise ValueError(f"cannot read host {item!r}")
            name = m.group(1) or m.group(3)
            port = m.group(2) if m.group(1) else m.group(4)
            hosts.append((name, _port(port) if port else None))
    return hosts


def _ports(values: list[str], hosts: list[tuple[str, int | None]]
           ) -> list[tuple[str, int | None]]:
    """Apply a ``port=`` list: one port for every host, or one per host."""
    values = [v.strip() for v in values]
    if values == [""]:
        return hosts
    if not hosts:
        hosts = [("", None)]
    if len(values) == 1:
        values = values * len(hosts)
    if len(values) != len(hosts):
        raise ValueError(f"{len(hosts)} hosts but {len(values)} ports")
    return [(h, _port(v) if v else p) for (h, p), v in zip(hosts, values, strict=True)]


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def mask_url(raw: str) -> str:
    """``raw`` with any password replaced by ``***`` (netloc or ``password=`` parameter),
    for error messages and logs."""
    masked = re.sub(r"(://[^/?#@:]*:)[^/?#]*@", r"\1***@", raw)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", masked)


def database_url(settings: Settings) -> str:
    """The configured URL (normalized, see ``normalize_url``), or the embedded server's
    (started on demand)."""
    if settings.database.url is not None:
        return normalize_url(settings.database.url.get_secret_value()).render_as_string(
            hide_password=False)
    from core.db import embedded

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        return embedded.start(embedded.default_pgdata(settings.terminal.data_dir))


# --- one translation point for database faults ----------------------------------------
# Every service reaches the database through an engine built here, so the engine is
# where a dead, frozen or slow server becomes the BoxOfficeError a UI can show, whether
# the service runs in a unit of work or on a bare ``engine.connect()``.

QUERY_CANCELED = "57014"  # statement_timeout (or a cancel)
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout
# admin/crash shutdown, cannot connect now (starting, recovering), too many connections.
UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "53300")


# The server refused this login (libpq reports a failed connection without a SQLSTATE,
# so the server's words are matched): a revoked terminal (``boxoffice terminal revoke``
# sets NOLOGIN), or credentials or access that do not hold. Retrying will not help,
# unlike an unreachable server.
_REVOKED = "is not permitted to log in"
_REFUSED = ("password authentication failed", "no pg_hba.conf entry", "does not exist",
            "permission denied for database", "certificate")


def login_refusal(orig: BaseException, state: str | None) -> BoxOfficeError | None:
    """``terminal_revoked`` or ``database_login_refused`` for a refused sign-in."""
    text_ = str(orig)
    if state not in ("28000", "28P01") and "FATAL" not in text_:
        return None
    if _REVOKED in text_:
        return BoxOfficeError("terminal_revoked")
    if state in ("28000", "28P01") or any(r in text_ for r in _REFUSED):
        return BoxOfficeError("database_login_refused")
    return None


def translate_error(exc: BaseException, *, disconnect: bool = False,
                    deadline_hit: bool = False) -> BoxOfficeError | None:
    """The BoxOfficeError for a database fault, or None for an error the caller handles
    (a constraint, a refusal, a deadlock the unit of work retries)."""
    orig = getattr(exc, "orig", None) or exc
    state: str | None = getattr(orig, "sqlstate", None)
    if deadline_hit or state == QUERY_CANCELED:
        return BoxOfficeError("database_timeout")
    if state == LOCK_NOT_AVAILABLE:
        return BoxOfficeError("lock_timeout")
    refused = login_refusal(orig, state)
    if refused is not None:
        return refused
    if disconnect or (state or "").startswith("08") or state in UNAVAILABLE_STATES:
        return BoxOfficeError("database_unavailable")
    if state is None and isinstance(orig, psycopg.OperationalError):
        return BoxOfficeError("database_unavailable")  # libpq: no server answered at all
    return None


class _Pool(QueuePool):
    """A pool whose exhaustion is a ``database_timeout`` (every connection busy for
    longer than the wait allowed), not SQLAlchemy's TimeoutError."""

    def _do_get(self) -> ConnectionPoolEntry:
        try:
            return super()._do_get()
        except PoolTimeout as exc:
            raise BoxOfficeError("database_timeout") from exc


def _translate(ctx: ExceptionContext) -> BaseException | None:
    info: dict[Any, Any] = {}
    if ctx.connection is not None:
        with contextlib.suppress(Exception):  # an invalidated connection has no info
            info = ctx.connection.info
    return translate_error(ctx.original_exception, disconnect=ctx.is_disconnect,
                           deadline_hit=bool(info.get(_DEADLINE_HIT)))


# --- a client-side deadline for every call --------------------------------------------
# A frozen (SIGSTOP) or partitioned server cannot fire its own statement_timeout, and its
# kernel still acknowledges our packets and keepalives, so libpq waits forever. The pool
# arms a deadline when a call takes a connection and disarms it when the call gives it
# back; a watchdog thread shuts down the socket of a connection still out at its
# deadline, which wakes the waiting call with a broken connection (reported as
# database_timeout, see _translate) and lets the pool replace it.

_DEADLINE_HIT = "deadline_hit"  # this call's connection was shut by the watchdog
_KILLED = "killed"  # the connection is unusable: never hand it to the next call


class _Watchdog:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Any, dict[Any, Any]]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, info: dict[Any, Any], dbapi_conn: Any, seconds: float) -> None:
        info[_DEADLINE_HIT] = False
        with self._cond:
            self._armed[id(info)] = (time.monotonic() + seconds, dbapi_conn, info)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self, info: dict[Any, Any]) -> None:
        with self._cond:
            self._armed.pop(id(info), None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key, (at, dbapi_conn, info) in list(self._armed.items()):
                    if at <= now:
                        del self._armed[key]
                        info[_DEADLINE_HIT] = info[_KILLED] = True
                        _break(dbapi_conn)
                nxt = min((at for at, _, _ in self._armed.values()), default=None)
                self._cond.wait(None if nxt is None else max(0.0, nxt - now))


def _break(dbapi_conn: Any) -> None:
    """Shut the connection's socket down under libpq: a call blocked reading it wakes at
    once with a closed connection. (A cancel request would need the frozen server.)"""
    with contextlib.suppress(Exception):
        fd = dbapi_conn.pgconn.socket
        dup = socket.socket(fileno=os.dup(fd))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()


_WATCHDOG = _Watchdog()
# A forked child has no watchdog thread and none of the parent's calls.
os.register_at_fork(after_in_child=_WATCHDOG.reset)


def unbounded(conn: Connection) -> None:
    """Lift the call deadline for this checkout of ``conn``: for administration that may
    legitimately hold a connection long (migrations). Statement timeouts still apply."""
    _WATCHDOG.disarm(conn.connection.info)


def probe_engine(url: str | URL, timeout_s: float,
                 db: DatabaseSettings | None = None) -> Engine:
    """An engine for connectivity probes: a fresh connection per probe (no pool, so a cut
    link is seen at once), and the whole probe (connect, statement) bounded by
    ``timeout_s`` on the client, so a frozen server cannot stall the connectivity watch."""
    db = db or DatabaseSettings()
    engine = create_engine(
        normalize_url(url), poolclass=NullPool,
        connect_args={"connect_timeout": max(1, math.ceil(timeout_s)),
                      "options": f"-c statement_timeout={int(timeout_s * 1000)}",
                      "application_name": "boxoffice:probe",
                      "keepalives": 1, "keepalives_idle": db.keepalives_idle_s,
                      "keepalives_interval": db.keepalives_interval_s,
                      "keepalives_count": db.keepalives_count,
                      "tcp_user_timeout": db.tcp_user_timeout_ms})
    event.listen(engine, "handle_error", _translate)

    def arm(dbapi_conn: Any, record: ConnectionPoolEntry, *_: Any) -> None:
        _WATCHDOG.arm(record.info, dbapi_conn, timeout_s)

    def disarm(_dbapi_conn: Any, record: ConnectionPoolEntry, *_: Any) -> None:
        _WATCHDOG.disarm(record.info)

    event.listen(engine, "connect", arm)
    event.listen(engine, "checkout", arm)
    event.listen(engine, "checkin", disarm)
    event.listen(engine, "invalidate", disarm)
    return engine


_TLS_MODES = ("require", "verify-ca", "verify-full")


def plaintext_remote(url: URL) -> bool:
    """True when a host of ``url`` is another machine and libpq may connect to it without
    TLS (no sslmode, or disable/allow/prefer: prefer falls back to plain text)."""
    if url.query.get("sslmode") in _TLS_MODES:
        return False
    hosts = [h for h in (url.host or "").split(",") if h]
    extra = url.query.get("host")
    hosts += [h for h in ((extra,) if isinstance(extra, str) else (extra or ())) if h]
    return any(not (h.startswith("/") or h == "localhost" or h.startswith("127.")
                    or h in ("::1", "[::1]")) for h in hosts)


def build_engine(settings: Settings, url: str | None = None, *, pool_size: int | None = None,
                 application_name: str | None = None) -> Engine:
    db = settings.database
    url = url or database_url(settings)
    size = pool_size or db.pool_size
    engine = create_engine(
        normalize_url(url),
        pool_size=size,
        max_overflow=db.max_overflow,
        # No ping on every checkout: it doubled the round trips of a one-statement hold.
        # A connection idle for a while is pinged instead (below), and a disconnect found
        # mid-use invalidates the whole pool, so a failover costs one failed command (safe
        # to retry: every command carries its idempotency key).
        pool_pre_ping=False,
        pool_recycle=1800,
        poolclass=_Pool,
        pool_timeout=db.pool_timeout_s,
        connect_args={
            "connect_timeout": db.connect_timeout_s,
            "application_name": application_name or f"boxoffice:{settings.terminal.name}",
            # client_connection_check_interval: a statement whose client gave up (the
            # call deadline) is aborted by the server instead of running on.
            "options": f"-c statement_timeout={db.statement_timeout_ms}"
                       f" -c client_connection_check_interval={db.client_check_interval_ms}",
            "keepalives": 1,
            "keepalives_idle": db.keepalives_idle_s,
            "keepalives_interval": db.keepalives_interval_s,
            "keepalives_count": db.keepalives_count,
            "tcp_user_timeout": db.tcp_user_timeout_ms,
        },
    )
    deadline_s = db.call_deadline_s
    if plaintext_remote(engine.url):
        # Passwords and sales would cross the network readable (docs/operations.md, TLS).
        logging.getLogger(__name__).warning(
            "database %s is not on this machine and the connection does not require TLS:"
            " add sslmode=verify-full and sslrootcert to [database] url",
            mask_url(engine.url.render_as_string(hide_password=True)))

    event.listen(engine, "handle_error", _translate)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # Prepared statements for the hot path: psycopg prepares a query after it has
        # run this many times on a connection.
        dbapi_conn.prepare_threshold = 2
        # SQLAlchemy's first-connect queries run before any checkout: bound them too.
        _WATCHDOG.arm(record.info, dbapi_conn, deadline_s)

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: ConnectionPoolEntry,
                     _proxy: PoolProxiedConnection) -> None:
        if record.info.pop(_KILLED, False):
            # Shut at the deadline just as its call finished: the pool reconnects.
            raise DisconnectionError("connection closed at a call deadline")
        _WATCHDOG.arm(record.info, dbapi_conn, deadline_s)
        last = record.info.get("checked_in_at")
        if last is not None and time.monotonic() - last > IDLE_PING_S:
            try:
                dbapi_conn.execute("select 1")
                if not dbapi_conn.autocommit:
                    # The ping opened a transaction: end it, or the next autocommit
                    # statement (a one-statement hold) is refused by psycopg.
                    dbapi_conn.rollback()
            except Exception as exc:
                _WATCHDOG.disarm(record.info)
                raise DisconnectionError(str(exc)) from exc  # the pool retries afresh

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        _WATCHDOG.disarm(record.info)
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_conn: Any, record: ConnectionPoolEntry,
                       _exc: BaseException | None) -> None:
        _WATCHDOG.disarm(record.info)

    return engine
