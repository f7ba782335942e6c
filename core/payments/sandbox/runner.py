"""Run the sandbox gateway on loopback: in a background thread (tests, demo) or as the
``boxoffice gateway-sandbox`` process (benchmark, other terminals)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import httpx
import uvicorn

from core.payments.sandbox.server import SandboxState, build_app

# A dropped connection ("ambiguous" fault) makes uvicorn log a traceback by design;
# keep its loggers quiet so the sandbox never writes to a terminal a TUI owns.
_LOG_CONFIG: dict[str, Any] = {
    "version": 1, "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {n: {"handlers": ["null"], "level": "CRITICAL", "propagate": False}
                for n in ("uvicorn", "uvicorn.error", "uvicorn.access")},
}


class SandboxServer:
    """The sandbox on 127.0.0.1; ``port=0`` picks a free port."""

    def __init__(self, port: int = 0, *, seed: int | None = None) -> None:
        self.state = SandboxState(seed)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it uvicorn's separate header and body
        # writes meet the client's delayed ACK and every answer waits about 40 ms.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(build_app(self.state), log_config=_LOG_CONFIG,
                                access_log=False, lifespan="off", timeout_graceful_shutdown=1,
                                backlog=512, limit_concurrency=None)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}",
                                        daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox gateway failed to start")
            self._thread.join(0.01)
        return self

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (the CLI)."""
        self._server.run(sockets=[self._sock])

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control (also reachable over HTTP, see SandboxClient) -------------------------

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return SandboxClient(self.base_url).set_faults(**faults)

    def ledger(self) -> dict[str, Any]:
        return self.state.ledger()


class SandboxClient:
    """Controls a sandbox over HTTP, wherever it runs."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.base_url}/_sandbox/faults", json=faults, timeout=5)
        r.raise_for_status()
        return r.json()

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults(latency_ms=0, error_rate=0, timeout_rate=0, ambiguous_rate=0)

    def ledger(self) -> dict[str, Any]:
        r = httpx.get(f"{self.base_url}/_sandbox/ledger", timeout=30)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/_sandbox/reset", timeout=5).raise_for_status()


_shared: SandboxServer | None = None
_shared_lock = threading.Lock()


def start_shared_sandbox(port: int = 0) -> SandboxServer:
    """One sandbox per process for the demo when no gateway is configured."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SandboxServer(port).start()
            logging.getLogger(__name__).info("sandbox gateway started",
                                             extra={"url": _shared.base_url})
        return _shared
