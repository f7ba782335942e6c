"""``boxoffice terminal add|list|revoke`` with a Redis admin account (issue 11 item 8):
each terminal gets its own Redis 7 user with its kind's rules and a password of its own,
its Redis URL is printed or written beside its database URL, ``list`` shows it, and
``revoke`` turns it off and closes its connections. Tried against the machine's Redis;
every user made here is deleted (and every login dropped) at the end."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from core.context import SeatChange
from core.errors import BoxOfficeError
from core.provisioning import (
    RedisAdmin,
    delete_redis_user,
    disable_redis_user,
    drop_login,
    list_terminals,
    login_for,
    provision_terminal,
    redis_admin,
    revoke_terminal,
)
from tests.security.conftest import terminal_context, terminal_settings

ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"bo{uuid.uuid4().hex[:6]}:"


@pytest.fixture(scope="module")
def admin(redis_url: str) -> Iterator[RedisAdmin]:
    # The suite's Redis (tests/conftest.py: the machine's, or one started for the session).
    a = redis_admin(redis_url, PREFIX)
    yield a
    keys = list(a.client.scan_iter(match=f"{PREFIX}*"))
    if keys:
        a.client.delete(*keys)
    a.close()


@pytest.fixture(scope="module")
def add(ctx, admin) -> Iterator[Callable[..., object]]:
    """``add(name, kind)``: a terminal provisioned with its Redis user; cleaned up after."""
    made: list[str] = []

    def make(name: str, kind: str, **kw: object):
        t = provision_terminal(ctx.engine, name, kind, redis_admin=admin, **kw)
        made.append(t.login)
        return t

    yield make
    for login in made:
        delete_redis_user(admin.client, login)
        drop_login(ctx.engine, login)


def _refused(fn: Callable[[], object]) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        fn()


def test_a_kiosks_redis_user_reads_and_subscribes_and_nothing_more(ctx, admin, add):
    t = add(f"redis-kiosk-{uuid.uuid4().hex[:6]}", "kiosk")
    assert t.redis_url and t.redis_url.startswith("redis://") and t.login in t.redis_url
    assert admin.url.split("@")[-1].split("//")[-1] in t.redis_url
    admin.client.set(f"{PREFIX}avail:900001", '{"version": 1}')
    r = redis.Redis.from_url(t.redis_url)
    assert r.get(f"{PREFIX}avail:900001") == b'{"version": 1}'
    p = r.pubsub()
    p.subscribe(f"{PREFIX}seats:900001")
    assert p.get_message(timeout=2)["type"] == "subscribe"
    p.close()
    _refused(lambda: r.set(f"{PREFIX}avail:900001", '{"version": 1, "states": {}}'))
    _refused(lambda: r.publish(f"{PREFIX}seats:900001", "{}"))
    _refused(lambda: r.flushall())
    _refused(lambda: r.config_get("*"))
    _refused(lambda: r.config_set("appendonly", "no"))
    _refused(lambda: r.execute_command("ACL", "SETUSER", t.login, "+@all", "~*"))
    _refused(lambda: r.execute_command("ACL", "LIST"))
    _refused(lambda: r.get("other-app:key"))
    assert admin.client.get(f"{PREFIX}avail:900001") == b'{"version": 1}'
    r.close()


def test_a_cashiers_user_publishes_its_changes(ctx, admin, add):
    t = add(f"redis-counter-{uuid.uuid4().hex[:6]}", "cashier")
    r = redis.Redis.from_url(t.redis_url)
    assert r.publish(f"{PREFIX}seats:900001", "{}") == 0
    assert r.set(f"{PREFIX}avail:900002", "{}", ex=5)
    _refused(lambda: r.flushall())
    r.close()


def test_list_shows_the_user_and_revoke_cuts_it_off(ctx, admin, add):
    t = add(f"redis-stolen-{uuid.uuid4().hex[:6]}", "kiosk")
    row = next(x for x in list_terminals(ctx.engine, redis_admin=admin) if x.name == t.name)
    assert row.redis == "on"
    assert next(x for x in list_terminals(ctx.engine) if x.name == t.name).redis is None
    held = redis.Redis.from_url(t.redis_url)
    assert held.ping()
    done = revoke_terminal(ctx.engine, t.name)
    cut = disable_redis_user(admin.client, done["login"])
    assert cut == {"redis": "off", "redis_clients_killed": 1}
    with pytest.raises(redis.exceptions.ConnectionError):
        held.ping()  # its open connection was closed
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(t.redis_url).ping()  # and it cannot AUTH again
    row = next(x for x in list_terminals(ctx.engine, redis_admin=admin) if x.name == t.name)
    assert row.redis == "off" and row.revoked_at is not None
    assert disable_redis_user(admin.client, done["login"])["redis"] == "off"  # idempotent


def test_a_redis_refusal_leaves_no_login_behind(ctx, admin):
    """An admin account that may not run ACL SETUSER: the terminal is not added at all."""
    weak = f"bo_test_weak_{uuid.uuid4().hex[:6]}"
    admin.client.execute_command("ACL", "SETUSER", weak, "reset", "on", ">weak-pw",
                                 "-@all", "+ping", "+hello")
    try:
        scheme, rest = admin.url.split("://", 1)
        rest = rest.split("@")[-1]
        weak_admin = redis_admin(f"{scheme}://{weak}:weak-pw@{rest}", PREFIX)
        name = f"redis-weak-{uuid.uuid4().hex[:6]}"
        with pytest.raises(BoxOfficeError) as e:
            provision_terminal(ctx.engine, name, "kiosk", redis_admin=weak_admin)
        assert e.value.code == "redis_admin_failed" and "weak-pw" not in e.value.message()
        weak_admin.close()
        with ctx.engine.connect() as c:
            assert c.execute(text("select count(*) from terminal_logins l join terminals t"
                                  " on t.id = l.terminal_id where t.name = :n"),
                             {"n": name}).scalar_one() == 0
            db = c.execute(text("select current_database()")).scalar_one()
            assert c.execute(text("select count(*) from pg_roles where rolname = :r"),
                             {"r": login_for(db, name)}).scalar_one() == 0
    finally:
        delete_redis_user(admin.client, weak)
    with pytest.raises(BoxOfficeError) as e:
        redis_admin("redis://nobody:wrong@" + admin.url.split("@")[-1].split("//")[-1])
    assert e.value.code == "redis_admin_failed"


def test_a_kiosk_on_its_own_user_bumps_versions_and_writes_nothing_else(ctx, add, admin,
                                                                         tmp_path, caplog):
    from core.live import LiveSeats

    t = add(f"redis-live-{uuid.uuid4().hex[:6]}", "kiosk")
    settings = terminal_settings(t, tmp_path, redis__url=t.redis_url, redis__key_prefix=PREFIX)
    k = terminal_context(t, tmp_path, settings)
    try:
        live = next(f for f in k.listeners if isinstance(f, LiveSeats))
        with ctx.engine.connect() as c:
            ev = int(c.execute(text("select id from events where code = 'SINATRA'")).scalar_one())
        caplog.set_level(logging.WARNING, logger="core.live")
        live(SeatChange(ev, [1], "held"))
        live(SeatChange(ev, [1], "released"))
        assert int(admin.client.get(f"{PREFIX}seatver:{ev}")) == 2
        assert live.availability(ev).event_id == ev
        assert admin.client.get(f"{PREFIX}avail:{ev}") is None  # it stores no snapshot
        assert not [r for r in caplog.records if "redis" in r.getMessage()]
    finally:
        k.engine.dispose()


def test_cli_writes_the_redis_url_beside_the_database_url(ctx, db_url, admin, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_CONFIG=str(tmp_path / "none.toml"), BOXOFFICE_DATABASE__URL=db_url,
               BOXOFFICE_REDIS__ADMIN_URL=admin.url, BOXOFFICE_REDIS__KEY_PREFIX=PREFIX,
               BOXOFFICE_TERMINAL__LANGUAGE="en", HOME=str(tmp_path))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)

    name = f"redis-cli-{uuid.uuid4().hex[:6]}"
    cfg = tmp_path / "kiosk.toml"
    out = cli("terminal", "add", name, "--kind", "kiosk", "--config", str(cfg))
    conf = tomllib.loads(cfg.read_text())
    login = conf["database"]["url"].split("//")[1].split(":")[0]
    try:
        assert out.returncode == 0, out.stderr
        assert "and Redis user" in out.stdout
        assert conf["redis"]["key_prefix"] == PREFIX
        r = redis.Redis.from_url(conf["redis"]["url"])
        assert r.get(f"{PREFIX}nothing") is None
        _refused(lambda: r.publish(f"{PREFIX}seats:900001", "{}"))
        listed = cli("terminal", "list")
        line = next(x for x in listed.stdout.splitlines() if x.startswith(name))
        assert " on " in line, listed.stdout
        revoked = cli("terminal", "revoke", name)
        assert revoked.returncode == 0, revoked.stderr
        assert f"Redis user {login} off" in revoked.stdout
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis.from_url(conf["redis"]["url"]).ping()
        line = next(x for x in cli("terminal", "list").stdout.splitlines()
                    if x.startswith(name))
        assert " off " in line and "revoked" in line
    finally:
        delete_redis_user(admin.client, login)
        drop_login(ctx.engine, login)


def test_revoke_cuts_the_database_login_even_when_redis_is_down(ctx, db_url, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    t = provision_terminal(ctx.engine, f"redis-down-{uuid.uuid4().hex[:6]}", "cashier")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_CONFIG=str(tmp_path / "none.toml"), BOXOFFICE_DATABASE__URL=db_url,
               BOXOFFICE_REDIS__ADMIN_URL=f"redis://127.0.0.1:{closed}/0",
               BOXOFFICE_TERMINAL__LANGUAGE="en", HOME=str(tmp_path))
    try:
        out = subprocess.run([sys.executable, "-m", "boxoffice_cli.main", "terminal", "revoke",
                              t.name], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 1
        assert f"terminal {t.name} revoked" in out.stdout
        assert "Redis user NOT turned off" in out.stderr and "Traceback" not in out.stderr
        with ctx.engine.connect() as c:
            assert c.execute(text("select rolcanlogin from pg_roles where rolname = :r"),
                             {"r": t.login}).scalar_one() is False
    finally:
        drop_login(ctx.engine, t.login)
