"""Fixtures for the kiosk: the module's database with the demo, a sandbox card gateway on
loopback, a real TCP receipt printer on loopback that can be switched off, the spooler
sending to it, and a manual clock for idle and countdown tests."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from core.app_context import CoreContext
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from kiosk.app import KioskApp
from kiosk.clock import ManualClock
from kiosk.services import KioskServices
from tests.conftest import make_settings

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
TERMINAL = "kiosk-test"


class LoopbackPrinter:
    """A raw port-9100 style printer on 127.0.0.1: it takes whatever is sent and counts
    the jobs. ``off()`` closes the port (connections are refused, like a printer switched
    off); ``on()`` opens it again on the same port."""

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        self.port = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.on()

    def on(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.port = s.getsockname()[1]
        self._sock = s
        self._thread = threading.Thread(target=self._serve, args=(s,), daemon=True)
        self._thread.start()

    def off(self) -> None:
        s, self._sock = self._sock, None
        if s is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave the
            # port accepting while that call holds the socket.
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        if self._thread is not None:
            self._thread.join(5)

    def _serve(self, s: socket.socket) -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            with conn:
                data = bytearray()
                while chunk := conn.recv(65536):
                    data += chunk
            with self._lock:
                self.jobs.append(bytes(data))

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.jobs)

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def printer() -> Iterator[LoopbackPrinter]:
    p = LoopbackPrinter()
    yield p
    p.off()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=23) as sb:
        yield sb


@pytest.fixture(scope="module")
def kctx(ctx: CoreContext, db_url: str, module_tmp: Path, sandbox: SandboxServer,
         printer: LoopbackPrinter) -> Iterator[CoreContext]:
    settings = make_settings(
        db_url, module_tmp, terminal__name=TERMINAL, terminal__kind="kiosk",
        terminal__language="en", terminal__heartbeat_s=0.5,
        gateway__kind="sandbox", gateway__base_url=sandbox.base_url,
        gateway__read_timeout_s=2.0, gateway__retry_attempts=2,
        printer__url=printer.url, printer__timeout_s=1.0, printer__retry_initial_s=0.05,
        printer__retry_max_s=0.2, holds__kiosk_ttl_s=240,
        kiosk__print_wait_s=5.0, logging__file=str(module_tmp / "kiosk.jsonl"))
    c = CoreContext(settings=settings, engine=ctx.engine)
    c.gateway = build_gateway(settings)
    c.signer()
    yield c
    c.gateway.close()


@pytest.fixture(scope="module")
def spooler(kctx: CoreContext) -> Iterator[Any]:
    from printing.spooler import start_spooler

    sp = start_spooler(kctx, kctx.settings)
    yield sp
    sp.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_app(kctx: CoreContext, spooler: Any, clock: ManualClock) -> Callable[..., KioskApp]:
    def make(services_cls: type[KioskServices] = KioskServices, *, handle_signals: bool
             = False, lang: str = "en", **kiosk: Any) -> KioskApp:
        settings = kctx.settings
        if kiosk:
            settings = settings.model_copy(update={
                "kiosk": settings.kiosk.model_copy(update=kiosk)})
        c = CoreContext(settings=settings, engine=kctx.engine)
        c.gateway = kctx.gateway
        c._signer = kctx._signer
        svc = services_cls(c, TERMINAL, settings=settings)
        svc.extras["spooler"] = spooler
        return KioskApp(svc, clock=clock, language_code=lang, heartbeat=False,
                        handle_signals=handle_signals)

    return make


@pytest.fixture(autouse=True)
def _breaker_closed(kctx: CoreContext, printer: LoopbackPrinter, spooler: Any) -> Iterator[None]:
    yield
    kctx.gateway.breaker.force("closed")
    if printer._sock is None:
        printer.on()
    spooler.retry_now()
    spooler.wait_idle(10)


async def wait_for(pilot: Any, pred: Callable[[], Any], timeout: float = 15.0) -> None:
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout:
            raise AssertionError(f"condition not reached in {timeout} s")
        await pilot.pause(0.02)


def scalar(ctx: CoreContext, sql: str, **params: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(ctx: CoreContext, sql: str, **params: Any) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
