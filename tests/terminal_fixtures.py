"""Building a terminal for tests, in one place: a pytest plugin (``pytest_plugins`` in
tests/conftest.py) used by the counter's and the kiosk's suites and by tests/terminal.

A suite says how its terminal differs through ``terminal_overrides`` (settings, as
``make_settings`` keys) and ``sandbox_seed``; it gets ``terminal_ctx``: the module's
database and engine with those settings and a sandbox card gateway on loopback, and
``spooler``: the printer spooler of that terminal. ``build_session`` makes a role session
on a context with the spooler attached, as ``terminal.bootstrap`` would after its warm-up.

Terminals connect as their own logins (tests/logins.py): ``terminal_ctx`` is on a login
provisioned for the suite's terminal (its ``terminal__name`` and ``terminal__kind``,
cashier by default), and ``build_session`` gives a session of another name or kind a
login of its own. The owner's ``ctx`` seeds and reads results; it never acts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text

from config import Settings
from core.app_context import CoreContext
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from printing.spooler import Spooler
from terminal.base import SessionBase
from tests.conftest import make_settings
from tests.logins import TerminalLogins, login_settings

S = TypeVar("S", bound=SessionBase)


def terminal_settings(db_url: str, tmp: Path, sandbox: SandboxServer,
                      **overrides: Any) -> Settings:
    """A terminal's settings on the module's database: the sandbox gateway with short
    timeouts (a test waits seconds, not minutes, for a failing gateway), then the suite's
    own overrides."""
    base: dict[str, Any] = {
        "terminal__language": "en", "terminal__heartbeat_s": 0.5,
        "gateway__kind": "sandbox", "gateway__base_url": sandbox.base_url,
        "gateway__read_timeout_s": 2.0, "gateway__retry_attempts": 2,
        "logging__file": str(tmp / "terminal.jsonl")}
    return make_settings(db_url, tmp, **(base | overrides))


def context_on(ctx: CoreContext, settings: Settings, gateway: Any = None) -> CoreContext:
    """A context with other settings on an existing context's engine (and gateway)."""
    c = CoreContext(settings=settings, engine=ctx.engine)
    c.gateway = gateway if gateway is not None else ctx.gateway
    return c


# The logins of the terminal contexts alive now, by their engine: a session built on one
# of them for another terminal gets that terminal's own login.
_LOGINS: dict[int, TerminalLogins] = {}


def login_context(ctx: CoreContext, name: str, kind: str) -> CoreContext:
    """Terminal ``name``'s own context, like ``ctx`` (a terminal context of this module)
    but on that terminal's login; ``ctx`` itself when it is that terminal's already."""
    logins = _LOGINS.get(id(ctx.engine))
    if logins is None or (name, kind) == (ctx.settings.terminal.name, ctx.settings.terminal.kind):
        return ctx
    own = logins.context(name, kind, ctx.settings)
    _LOGINS[id(own.engine)] = logins
    # ``ctx``'s settings, listeners (a Redis feed) and gateway on the terminal's engine.
    c = CoreContext(settings=login_settings(ctx.settings, logins.made[name]),
                    engine=own.engine, listeners=list(ctx.listeners))
    c.gateway = ctx.gateway
    return c


def build_session(cls: type[S], ctx: CoreContext, name: str, *,
                  spooler: Spooler | None = None) -> S:
    ctx = login_context(ctx, name, cls.kind)
    session = cls(ctx, name, settings=ctx.settings)
    session.spooler = spooler
    return session


@pytest.fixture(scope="module")
def sandbox_seed() -> int:
    return 11


@pytest.fixture(scope="module")
def sandbox(sandbox_seed: int) -> Iterator[SandboxServer]:
    with SandboxServer(seed=sandbox_seed) as sb:
        yield sb


@pytest.fixture(scope="module")
def terminal_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def terminal_logins(ctx: CoreContext) -> Iterator[TerminalLogins]:
    """The module's terminal logins, provisioned by the owner; dropped at the end."""
    logins = TerminalLogins(ctx.engine)
    yield logins
    logins.close()


@pytest.fixture(scope="module")
def terminal_ctx(ctx: CoreContext, db_url: str, module_tmp: Path, sandbox: SandboxServer,
                 terminal_overrides: dict[str, Any],
                 terminal_logins: TerminalLogins) -> Iterator[CoreContext]:
    """The module's database as this suite's terminal sees it: on the terminal's own
    login (its name and kind from ``terminal_overrides``), with its own gateway."""
    settings = terminal_settings(db_url, module_tmp, sandbox, **terminal_overrides)
    c = terminal_logins.new_context(settings.terminal.name, settings.terminal.kind, settings,
                                    pool_size=6, gateway=build_gateway(settings))
    _LOGINS[id(c.engine)] = terminal_logins
    yield c
    for engine_id in [k for k, v in _LOGINS.items() if v is terminal_logins]:
        del _LOGINS[engine_id]
    c.gateway.close()


@pytest.fixture(scope="module")
def spooler(terminal_ctx: CoreContext) -> Iterator[Spooler]:
    from printing.spooler import start_spooler

    sp = start_spooler(terminal_ctx, terminal_ctx.settings)
    yield sp
    sp.close()


async def wait_for(pilot: Any, pred: Callable[[], Any], timeout: float = 10.0) -> float:
    """Let the app run until ``pred()`` holds; returns the seconds it took."""
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout:
            shown = getattr(pilot.app, "last_error", None)  # the kiosk app has none
            raise AssertionError(f"condition not reached in {timeout} s"
                                 + (f"; last error shown: {shown}" if shown else ""))
        await pilot.pause(0.02)
    return time.perf_counter() - t0


def owner_engine(ctx: CoreContext) -> Engine:
    """The engine a test reads results with: the owner's. A terminal's login sees its
    own rows only (another counter's shift, the audit log, staff are not its to read)."""
    logins = _LOGINS.get(id(ctx.engine))
    return logins.owner_engine if logins is not None else ctx.engine


def scalar(ctx: CoreContext, sql: str, **params: Any) -> Any:
    with owner_engine(ctx).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(ctx: CoreContext, sql: str, **params: Any) -> list[Any]:
    with owner_engine(ctx).connect() as conn:
        return list(conn.execute(text(sql), params))
