"""Building a terminal for tests, in one place: a pytest plugin (``pytest_plugins`` in
tests/conftest.py) used by the counter's and the kiosk's suites and by tests/terminal.

A suite says how its terminal differs through ``terminal_overrides`` (settings, as
``make_settings`` keys) and ``sandbox_seed``; it gets ``terminal_ctx``: the module's
database and engine with those settings and a sandbox card gateway on loopback, and
``spooler``: the printer spooler of that terminal. ``build_session`` makes a role session
on a context with the spooler attached, as ``terminal.bootstrap`` would after its warm-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from config import Settings
from core.app_context import CoreContext
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from printing.spooler import Spooler
from terminal.base import SessionBase
from tests.conftest import make_settings

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


def build_session(cls: type[S], ctx: CoreContext, name: str, *,
                  spooler: Spooler | None = None) -> S:
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
def terminal_ctx(ctx: CoreContext, db_url: str, module_tmp: Path, sandbox: SandboxServer,
                 terminal_overrides: dict[str, Any]) -> Iterator[CoreContext]:
    """The module's context as this suite's terminal sees it, with its own gateway."""
    settings = terminal_settings(db_url, module_tmp, sandbox, **terminal_overrides)
    c = context_on(ctx, settings, build_gateway(settings))
    yield c
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


def scalar(ctx: CoreContext, sql: str, **params: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(ctx: CoreContext, sql: str, **params: Any) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(text(sql), params))
