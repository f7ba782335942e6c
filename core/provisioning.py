"""Terminal logins: one PostgreSQL login per terminal, in the group role of its kind.

Run with the owner's connection (``boxoffice terminal add/revoke/list``). The grants,
row security and definer functions that confine each kind are in migration 0008; here
a terminal gets its login, its row in ``terminal_logins`` (the map a definer function
trusts: ``session_user`` -> terminal) and its connection URL.

Roles are cluster-wide while the map is per database, so a login's name carries a tag
of its database: two databases on one server (a test run, a staging copy) never collide,
and a login is granted CONNECT on its own database only.

With a Redis admin account configured (``redis.admin_url``), a terminal also gets its
own Redis 7 user, named like its login, with its kind's ACL rules (below); revoking the
terminal turns that user off and closes its connections.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from core.actors import raise_refusal
from core.errors import BoxOfficeError
from core.uow import unit_of_work

log = logging.getLogger(__name__)

# The group role of each kind, and the ``terminals.kind`` its row gets (the worker is
# the system terminal there; the back office's admin login is a monitor with more rights).
KINDS: dict[str, str] = {"cashier": "cashier", "kiosk": "kiosk", "monitor": "monitor",
                         "gate": "gate", "worker": "system", "admin": "monitor"}
GROUP_PREFIX = "boxoffice_"
AUDIT_CHAIN = "provisioning"
_MAX_ROLE = 63  # NAMEDATALEN - 1


@dataclass(frozen=True, slots=True)
class ProvisionedTerminal:
    name: str
    kind: str
    terminal_id: int
    login: str
    password: str
    url: str
    # The terminal's Redis URL (its own user) when a Redis admin account was given.
    redis_url: str | None = None


@dataclass(frozen=True, slots=True)
class TerminalLogin:
    name: str
    kind: str
    terminal_id: int
    login: str | None
    created_at: datetime | None
    revoked_at: datetime | None
    last_heartbeat: datetime | None
    key_id: str | None
    key_revoked_at: datetime | None
    connections: int
    # Its Redis user: "on", "off" (revoked), "none", or None when Redis was not asked.
    redis: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in asdict(self).items()}


def group_role(kind: str) -> str:
    if kind not in KINDS:
        raise BoxOfficeError("unknown_terminal_kind", kind=kind, kinds=", ".join(KINDS))
    return GROUP_PREFIX + kind


def database_tag(database: str) -> str:
    """Six hex characters naming a database inside role names."""
    return hashlib.sha256(database.encode()).hexdigest()[:6]


def login_for(database: str, name: str) -> str:
    """``bo_<db tag>_<terminal name>``: lower-case, at most 63 bytes, a hash suffix when
    the name had to be shortened or changed (so two names never map to one login)."""
    slug = re.sub(r"[^a-z0-9_]", "_", name.lower())
    base = f"bo_{database_tag(database)}_"
    if slug == name and len(base) + len(slug) <= _MAX_ROLE:
        return base + slug
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{base}{slug[:_MAX_ROLE - len(base) - 9]}_{digest}"


def _require_owner(conn: Connection) -> None:
    try:
        owner = conn.execute(text("select bo_is_owner()")).scalar_one()
    except DBAPIError as exc:
        raise BoxOfficeError("owner_required", detail="not the owner's login") from exc
    if not owner:
        raise BoxOfficeError("owner_required", detail="terminal logins are managed by the owner")


def _audit(conn: Connection, action: str, data: dict[str, Any]) -> None:
    conn.execute(text("select audit_link(:c, :a, :p)"),
                 {"c": AUDIT_CHAIN, "a": action,
                  "p": json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)})


def _grant_monitoring(conn: Connection, login: str) -> None:
    """The worker reads replication lag and standbys (pg_stat_replication), which needs
    the cluster's read-only pg_monitor role. Granted to the worker's login only, and only
    when the owner may grant it (a superuser, or a role with its admin option); otherwise
    the worker runs without those figures (its metric says so)."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(conn.execute(text(
                "select format('grant pg_monitor to %I', cast(:l as text))"),
                {"l": login}).scalar_one())
    except DBAPIError:
        return


def terminal_url(owner_url: str, login: str, password: str) -> str:
    """The owner's URL with the terminal's credentials (host, port, database and options
    such as ``sslmode=verify-full`` kept), in libpq form."""
    u = make_url(owner_url).set(drivername="postgresql", username=login, password=password)
    return u.render_as_string(hide_password=False)


def provision_terminal(owner_engine: Engine, name: str, kind: str, *,
                       password: str | None = None,
                       redis_admin: RedisAdmin | None = None) -> ProvisionedTerminal:
    """Register terminal ``name`` and create its login in the group role of ``kind``;
    returns the connection URL the terminal uses (shown once: only a hash is stored).

    ``redis_admin``: the Redis admin account; the terminal then also gets its Redis user
    (same name as its login, a password of its own, its kind's rules on the admin's
    prefix), made before the database commits so that a Redis refusal leaves neither
    behind."""
    group = group_role(kind)
    password = password or secrets.token_urlsafe(24)
    redis_password = secrets.token_urlsafe(24)
    redis_user: str | None = None
    try:
        with unit_of_work(owner_engine) as conn:
            _require_owner(conn)
            db = conn.execute(text("select current_database()")).scalar_one()
            login = login_for(db, name)
            tid = int(conn.execute(text("select bo_register_terminal(:n, :k)"),
                                   {"n": name, "k": KINDS[kind]}).scalar_one())
            have = conn.execute(text("select login from terminal_logins where terminal_id = :t"),
                                {"t": tid}).scalar()
            if have is not None:
                raise BoxOfficeError("terminal_exists", terminal=name, login=have)
            exists = conn.execute(text("select 1 from pg_roles where rolname = :r"),
                                  {"r": login}).scalar()
            verb = "alter" if exists else "create"
            # Identifiers and the password cannot be bound parameters in DDL: quote them
            # with the server's own quoting functions.
            ddl = conn.execute(text(
                "select format('%s role %I login password %L nosuperuser nocreatedb"
                " nocreaterole noreplication nobypassrls inherit', cast(:verb as text),"
                " cast(:login as text), cast(:pw as text))"),
                {"verb": verb, "login": login, "pw": password}).scalar_one()
            conn.exec_driver_sql(ddl)
            conn.exec_driver_sql(conn.execute(text(
                "select format('grant %I to %I', cast(:g as text), cast(:l as text))"),
                {"g": group, "l": login}).scalar_one())
            conn.exec_driver_sql(conn.execute(text(
                "select format('grant connect on database %I to %I; revoke connect, temporary"
                " on database %I from public', current_database(), cast(:l as text),"
                " current_database())"), {"l": login}).scalar_one())
            if kind == "worker":
                _grant_monitoring(conn, login)
            conn.execute(text("insert into terminal_logins (login, terminal_id, kind)"
                              " values (:l, :t, :k)"), {"l": login, "t": tid, "k": kind})
            _audit(conn, "terminal_add", {"terminal": name, "kind": kind, "login": login,
                                          "redis": redis_admin is not None})
            if redis_admin is not None:
                provision_redis_user(redis_admin.client, login, kind, redis_password,
                                     prefix=redis_admin.prefix)
                redis_user = login
    except DBAPIError as exc:
        _forget_redis_user(redis_admin, redis_user)
        raise_refusal(exc)
    except BaseException:
        _forget_redis_user(redis_admin, redis_user)
        raise
    url = terminal_url(owner_engine.url.render_as_string(hide_password=False), login, password)
    redis_url = None
    if redis_admin is not None:
        redis_url = terminal_redis_url(redis_admin.url, login, redis_password)
    return ProvisionedTerminal(name, kind, tid, login, password, url, redis_url)


def revoke_terminal(owner_engine: Engine, name: str) -> dict[str, Any]:
    """Cut a terminal off now: its login can no longer connect, its open sessions are
    ended, and its ticket-signing keys are revoked from this moment (tokens they sign
    later are refused online and at offline gates). Idempotent."""
    with unit_of_work(owner_engine) as conn:
        _require_owner(conn)
        row = conn.execute(text(
            "select t.id, l.login from terminals t left join terminal_logins l"
            " on l.terminal_id = t.id where t.name = :n"), {"n": name}).first()
        if row is None:
            raise BoxOfficeError("unknown_terminal", terminal=name)
        if row.login is not None:
            # NOLOGIN alone: with its password still valid the server tells the terminal
            # it is "not permitted to log in" (shown as terminal_revoked), where a wiped
            # password would read as a mistyped one. ``terminal add`` sets a new password.
            conn.exec_driver_sql(conn.execute(text(
                "select format('alter role %I nologin', cast(:l as text))"),
                {"l": row.login}).scalar_one())
            conn.execute(text("update terminal_logins set revoked_at = coalesce(revoked_at, now())"
                              " where terminal_id = :t"), {"t": row.id})
        keys = conn.execute(text("update ticket_keys set revoked_at = now()"
                                 " where terminal_id = :t and revoked_at is null"),
                            {"t": row.id}).rowcount
        _audit(conn, "terminal_revoke", {"terminal": name, "login": row.login,
                                         "keys_revoked": keys})
    ended = 0
    if row.login is not None:
        # After the commit: a session ended earlier could have reconnected meanwhile.
        with owner_engine.begin() as conn:
            ended = len(conn.execute(text(
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = :l"),
                {"l": row.login}).all())
    # Its live holds go back on sale now, not when they expire (up to hours on a counter):
    # a stolen kiosk's last holds must not keep seats off sale after it is cut off.
    with unit_of_work(owner_engine) as conn:
        released = int(conn.execute(_RELEASE_HOLDS, {"t": row.id}).scalar_one())
    return {"keys_revoked": int(keys), "sessions_ended": ended, "login": row.login,
            "holds_released": released}


_RELEASE_HOLDS = text(
    """
    with h as (
      update holds set status = 'released', ended_at = now()
      where terminal_id = :t and status = 'active' returning id
    ),
    s as (
      update event_seats es set status = 'available', hold_id = null, hold_expires_at = null,
                                version = es.version + 1
      from h where es.hold_id = h.id and es.status = 'held' returning 1
    ),
    g as (
      update ga_inventory gi set held = gi.held - x.qty, version = gi.version + 1
      from (select hi.event_id, hi.section_id, sum(hi.qty) as qty
            from hold_items hi join h on h.id = hi.hold_id
            where hi.seat_id is null group by hi.event_id, hi.section_id) x
      where gi.event_id = x.event_id and gi.section_id = x.section_id returning 1
    )
    select count(*) from h
    """
)


_LIST = text(
    """
    select t.id, t.name, coalesce(l.kind, t.kind) as kind, l.login, l.created_at,
           l.revoked_at, t.last_heartbeat, k.key_id, k.revoked_at as key_revoked_at,
           (select count(*) from pg_stat_activity a where a.usename = l.login) as connections
    from terminals t
    left join terminal_logins l on l.terminal_id = t.id
    left join lateral (select key_id, revoked_at from ticket_keys
                       where terminal_id = t.id order by created_at desc limit 1) k on true
    order by t.name
    """
)


def list_terminals(owner_engine: Engine, *,
                   redis_admin: RedisAdmin | None = None) -> list[TerminalLogin]:
    """Every terminal with its login and key; with ``redis_admin``, its Redis user too."""
    with owner_engine.connect() as conn:
        _require_owner(conn)
        rows = [TerminalLogin(r.name, r.kind, r.id, r.login, r.created_at, r.revoked_at,
                              r.last_heartbeat, r.key_id, r.key_revoked_at, int(r.connections))
                for r in conn.execute(_LIST)]
    if redis_admin is None:
        return rows
    return [replace(r, redis=redis_user_state(redis_admin.client, r.login) if r.login
                    else "none")
            for r in rows]


def drop_login(owner_engine: Engine, login: str) -> None:
    """Remove a login for good (after ``revoke_terminal``): what it was granted in this
    database, then the cluster-wide role. For decommissioning and for test clean-up; the
    terminal's row and its history stay."""
    with owner_engine.begin() as conn:
        _require_owner(conn)
        conn.execute(text("select pg_terminate_backend(pid) from pg_stat_activity"
                          " where usename = :l"), {"l": login})
        if conn.execute(text("select 1 from pg_roles where rolname = :l"), {"l": login}).scalar():
            conn.exec_driver_sql(conn.execute(text(
                "select format('drop owned by %I; drop role %I', cast(:l as text),"
                " cast(:l as text))"), {"l": login}).scalar_one())


# --- Redis (7) ACL users, one per terminal ----------------------------------------------
# Redis holds caches and hints only (a map shown from Redis is re-validated by the hold in
# PostgreSQL). A terminal's user reaches its site's keys only (the prefix): it reads
# snapshots and versions and subscribes to seat channels. Every seller bumps a version
# after its change commits (a version only grows: a bump makes readers re-read PostgreSQL,
# never trust something false). Only the kinds behind a supervisor or a locked-down
# service (cashier, monitor, worker) may also store a snapshot and publish: a kiosk on the
# public floor cannot plant a false seat map or push fake changes (its changes reach other
# maps through the version bump and their poll). No kind may list keys, delete, flush or
# configure the server, or run ACL. INFO: a reader compares the server's run id with the
# one a snapshot was written under (core.live), so a Redis restarted from its dump never
# serves a snapshot from before.
_REDIS_BASE = ("+get", "+mget", "+subscribe", "+unsubscribe", "+ping", "+select",
               "+client|setname", "+hello", "+info")
_REDIS_BUMPERS = ("cashier", "kiosk", "monitor", "worker", "admin")
_REDIS_WRITERS = ("cashier", "monitor", "worker", "admin")


def redis_acl_rules(kind: str, prefix: str = "bo:") -> list[str]:
    """The ``ACL SETUSER`` rules of a terminal of ``kind`` (after ``reset``)."""
    group_role(kind)  # an unknown kind is refused like everywhere else
    rules = ["-@all", *_REDIS_BASE, f"%R~{prefix}*", f"&{prefix}seats:*"]
    if kind in _REDIS_BUMPERS:
        # A version only grows: INCR, never INCRBY (a negative step) nor SET.
        rules += ["+incr", "+multi", "+exec", "+discard", f"~{prefix}seatver:*"]
    if kind in _REDIS_WRITERS:
        # SET only on snapshots (a selector).
        rules += ["+publish", f"(+set %W~{prefix}avail:*)"]
    return rules


def redis_publishes(kind: str) -> bool:
    """Whether a process of this kind stores snapshots and publishes changes (core.live);
    a kiosk only bumps versions."""
    return kind in _REDIS_WRITERS


@dataclass(frozen=True, slots=True)
class RedisAdmin:
    """A redis-py client on the admin account and its URL (the terminals' Redis URLs are
    built from it), plus the site's key prefix the rules are written for."""

    client: Any
    url: str
    prefix: str = "bo:"

    def close(self) -> None:
        self.client.close()


def redis_admin(url: str, prefix: str = "bo:", *, timeout_s: float = 5.0) -> RedisAdmin:
    """The admin account (``redis.admin_url``), checked with a PING: an unreachable
    server or refused credentials raise ``redis_admin_failed``."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout_s,
                                  socket_connect_timeout=timeout_s)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise BoxOfficeError("redis_admin_failed", detail=_redis_reason(exc)) from None
    return RedisAdmin(client, url, prefix)


def _redis_reason(exc: BaseException) -> str:
    # redis-py's messages name the host and the server's refusal, never the password.
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def terminal_redis_url(admin_url: str, user: str, password: str) -> str:
    """The admin's Redis URL with the terminal's user and password (scheme, host, port,
    database number and TLS options kept)."""
    u = urlsplit(admin_url)
    host = u.netloc.rsplit("@", 1)[-1]
    cred = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return urlunsplit((u.scheme, cred + host, u.path, u.query, u.fragment))


def _redis_call(admin_client: Any, *args: Any) -> Any:
    import redis

    try:
        return admin_client.execute_command(*args)
    except redis.RedisError as exc:
        raise BoxOfficeError("redis_admin_failed", detail=_redis_reason(exc)) from None


def provision_redis_user(admin_client: Any, user: str, kind: str, password: str, *,
                         prefix: str = "bo:") -> None:
    """Create (or reset) the Redis user of a terminal. ``admin_client``: a redis-py
    client on an account allowed to run ACL SETUSER (never a terminal's)."""
    _redis_call(admin_client, "ACL", "SETUSER", user, "reset", "on", f">{password}",
                *redis_acl_rules(kind, prefix))


def redis_user_state(admin_client: Any, user: str) -> str:
    """``on``, ``off`` or ``none`` (no such user)."""
    got = _redis_call(admin_client, "ACL", "GETUSER", user)
    if not got:
        return "none"
    # redis-py answers a dict; a raw reply is a flat list of names and values.
    fields = got if isinstance(got, dict) else dict(zip(got[::2], got[1::2], strict=False))
    flags = fields.get(b"flags", fields.get("flags", [])) or []
    return "on" if any(f in (b"on", "on") for f in flags) else "off"


def disable_redis_user(admin_client: Any, user: str) -> dict[str, Any]:
    """Cut a terminal's Redis user off now: it can no longer authenticate (``off``; the
    user and its rules stay, so ``terminal list`` shows it revoked) and its open
    connections are closed. Idempotent; a terminal without a Redis user is left alone."""
    if redis_user_state(admin_client, user) == "none":
        return {"redis": "none", "redis_clients_killed": 0}
    _redis_call(admin_client, "ACL", "SETUSER", user, "off")
    killed = int(_redis_call(admin_client, "CLIENT", "KILL", "USER", user) or 0)
    return {"redis": "off", "redis_clients_killed": killed}


def delete_redis_user(admin_client: Any, user: str) -> None:
    """Remove a terminal's Redis user for good (decommissioning, test clean-up); its
    open connections are killed by Redis."""
    _redis_call(admin_client, "ACL", "DELUSER", user)


def _forget_redis_user(admin: RedisAdmin | None, user: str | None) -> None:
    """Undo a Redis user made for a terminal whose database part did not commit."""
    if admin is None or user is None:
        return
    try:
        delete_redis_user(admin.client, user)
    except BoxOfficeError:
        log.warning("redis user %s left behind after a failed terminal add", user)


# --- the demo's database ------------------------------------------------------------------
# ``boxoffice demo`` marks its database with a comment on the database itself: only the
# database's owner (or a superuser) may set one, so no terminal login can turn a real
# site's database into a "demo" one, and every login may read it (the monitor does).
DEMO_MARK = "boxoffice demo database"
_IS_DEMO = text("select coalesce(shobj_description(oid, 'pg_database') = :m, false)"
                " from pg_database where datname = current_database()")


def mark_demo_database(owner_engine: Engine) -> None:
    """Record that this database is the demo's (run by ``boxoffice demo`` after seeding)."""
    try:
        with unit_of_work(owner_engine) as conn:
            _require_owner(conn)
            conn.exec_driver_sql(conn.execute(text(
                "select format('comment on database %I is %L', current_database(),"
                " cast(:m as text))"), {"m": DEMO_MARK}).scalar_one())
    except DBAPIError as exc:
        raise BoxOfficeError("owner_required", detail="the database's owner marks a demo"
                             ) from exc


def is_demo_database(bind: Engine | Connection) -> bool:
    """Whether ``boxoffice demo`` made this database (any login may ask)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return bool(conn.execute(_IS_DEMO, {"m": DEMO_MARK}).scalar())
    return bool(bind.execute(_IS_DEMO, {"m": DEMO_MARK}).scalar())
