"""Stopping a process that started the embedded PostgreSQL with SIGTERM (or SIGHUP) stops
the server too (issue 13 item 12): their default action skips ``atexit``, which left
``boxoffice demo``'s PostgreSQL running after ``kill``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import threading
import time
from collections.abc import Callable

import psutil
import pytest

from core.db import embedded
from tests.db.test_embedded import ROOT, remove_scratch, scratch_pgdata


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _running(pid: int) -> bool:
    # A zombie is gone for our purpose (nobody may reap it inside a container).
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_the_embedded_server(sig: signal.Signals) -> None:
    pgdata = scratch_pgdata()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from core.db import embedded
        embedded.start(Path({str(pgdata)!r}), "x")
        print("ready", flush=True)
        sys.stdin.read()
        """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        pid = embedded.postmaster_pid(pgdata)
        assert pid is not None
        proc.send_signal(sig)
        assert proc.wait(60) == -sig  # still dies of the signal, as before
        assert embedded.postmaster_pid(pgdata) is None
        assert not _running(pid), "the postmaster is still running"
    finally:
        if proc.poll() is None:
            proc.kill()
        remove_scratch(pgdata)


@pytest.mark.slow
def test_sigterm_to_boxoffice_demo_stops_its_postgresql() -> None:
    """The real command, its cashier app drawing on a pseudo-terminal."""
    base = scratch_pgdata().parent
    data = base / "data"
    pgdata = data / "pgdata"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(HOME=str(base), BOXOFFICE_TERMINAL__DATA_DIR=str(data),
               BOXOFFICE_CONFIG=str(base / "none.toml"), TERM="xterm-256color",
               TEXTUAL_ANIMATIONS="none")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "boxoffice_cli.main", "demo"], env=env,
                            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    screen = bytearray()

    def drain() -> None:  # the app blocks if nobody reads its terminal
        with contextlib.suppress(OSError):
            while chunk := os.read(master, 65536):
                screen.extend(chunk)

    threading.Thread(target=drain, daemon=True).start()
    try:
        # Seeded, then the app switched to the alternate screen: it is running.
        _wait_for(lambda: b"\x1b[?1049h" in screen or proc.poll() is not None, 180,
                  "the cashier app")
        assert proc.poll() is None, screen.decode(errors="replace")[-2000:]
        pid = embedded.postmaster_pid(pgdata)
        assert pid is not None
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        _wait_for(lambda: embedded.postmaster_pid(pgdata) is None, 30, "the postmaster")
        assert not _running(pid), "the demo's PostgreSQL is still running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
        remove_scratch(pgdata)
