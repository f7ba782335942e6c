"""Fixtures for the kiosk: the module's database with the demo, a sandbox card gateway on
loopback, a real TCP receipt printer on loopback that can be switched off, the spooler
sending to it, and a manual clock for idle and countdown tests."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.app_context import CoreContext
from kiosk.app import KioskApp
from kiosk.clock import ManualClock
from printing.spooler import Spooler
from terminal.kiosk import KioskSession
from tests.terminal_fixtures import build_session, context_on, rows, scalar
from tests.terminal_fixtures import wait_for as _wait_for

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
def sandbox_seed() -> int:
    return 23


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Path, printer: LoopbackPrinter) -> dict[str, Any]:
    """The kiosk: a real TCP printer on loopback with quick retries."""
    return {"terminal__name": TERMINAL, "terminal__kind": "kiosk",
            "printer__url": printer.url, "printer__timeout_s": 1.0,
            "printer__retry_initial_s": 0.05, "printer__retry_max_s": 0.2,
            "holds__kiosk_ttl_s": 240, "kiosk__print_wait_s": 5.0,
            "logging__file": str(module_tmp / "kiosk.jsonl")}


@pytest.fixture(scope="module")
def kctx(terminal_ctx: CoreContext) -> CoreContext:
    terminal_ctx.signer()
    return terminal_ctx


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_app(kctx: CoreContext, spooler: Spooler,
             clock: ManualClock) -> Callable[..., KioskApp]:
    def make(services_cls: type[KioskSession] = KioskSession, *, handle_signals: bool
             = False, lang: str = "en", **kiosk: Any) -> KioskApp:
        settings = kctx.settings
        if kiosk:
            settings = settings.model_copy(update={
                "kiosk": settings.kiosk.model_copy(update=kiosk)})
        c = context_on(kctx, settings)
        c._signer = kctx._signer
        svc = build_session(services_cls, c, TERMINAL, spooler=spooler)
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


async def wait_for(pilot: Any, pred: Callable[[], Any], timeout: float = 15.0) -> float:
    return await _wait_for(pilot, pred, timeout)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


__all__ = ["TERMINAL", "LoopbackPrinter", "rows", "scalar", "wait_for"]
