"""Issue 13 item 10: a kiosk whose terminal goes away exits within 5 s and releases its
holds, whatever screen it shows (it used to hang for ever in Textual's shutdown, writing
to the dead terminal).

The real command runs on a pseudo-terminal that is its controlling terminal; the test
closes the terminal's master side, as ``tmux kill-session`` does, and the kernel sends
the hang-up."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from core.reservation import hold_best_available
from tests.core.helpers import event_id
from tests.logins import psycopg_url

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _controlling_tty() -> None:  # in the child, after setsid: the pty becomes its tty
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Pty:
    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.screen = bytearray()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)

    def _drain(self) -> None:  # the app blocks if nobody reads its terminal
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.screen.extend(os.read(self.master, 65536))

    def start(self) -> None:
        os.close(self.slave)
        self._reader.start()

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def hang_up(self) -> None:
        """Nobody reads or holds the master any more: the terminal is gone."""
        self._stop.set()
        self._reader.join(5)
        os.close(self.master)


def _active_holds(ctx, tid: int) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select count(*) from holds where terminal_id = :t"
                              " and status = 'active'"), {"t": tid}).scalar_one()


def _terminal(ctx, name: str) -> tuple[int, bool] | None:
    with ctx.engine.connect() as c:
        r = c.execute(text("select id, last_heartbeat is not null as beat from terminals"
                           " where name = :n"), {"n": name}).first()
    return (int(r.id), bool(r.beat)) if r else None


@pytest.mark.parametrize("keys", [b"", b"\r"], ids=["attract", "after-a-touch"])
def test_a_kiosk_whose_terminal_goes_away_exits_and_releases_its_holds(ctx, tmp_path, keys,
                                                                       terminal_logins):
    name = f"hup-{uuid.uuid4().hex[:8]}"  # a fresh terminal: its heartbeat is this run's
    # The kiosk runs on its own kiosk login, as its config file gives it.
    login = terminal_logins.login(name, "kiosk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_CONFIG=str(tmp_path / "none.toml"),
               BOXOFFICE_DATABASE__URL=psycopg_url(login.url),
               BOXOFFICE_TERMINAL__DATA_DIR=str(tmp_path),
               BOXOFFICE_TERMINAL__HEARTBEAT_S="1", TERM="xterm-256color",
               TEXTUAL_ANIMATIONS="none",
               # A kiosk with no gateway stays out of service; this one takes a touch.
               BOXOFFICE_GATEWAY__KIND="sandbox")
    term = Pty()
    proc = subprocess.Popen([sys.executable, "-m", "boxoffice_cli.main", "kiosk",
                             "--name", name], env=env, cwd=ROOT, stdin=term.slave,
                            stdout=term.slave, stderr=term.slave, start_new_session=True,
                            preexec_fn=_controlling_tty)
    term.start()
    try:
        _wait_for(lambda: (_terminal(ctx, name) or (0, False))[1] or proc.poll() is not None,
                  120, "the kiosk's first heartbeat")
        assert proc.poll() is None, term.screen.decode(errors="replace")[-2000:]
        if keys:
            term.type(keys)
        tid = _terminal(ctx, name)[0]  # type: ignore[index]
        # A hold of this kiosk, made on its login (what a customer's pick would leave).
        actor = terminal_logins.actor(name, "kiosk")
        assert actor.terminal_id == tid
        hold_best_available(terminal_logins.context(name, "kiosk", ctx.settings), actor,
                            uuid.uuid4(), event_id(ctx.engine, "MAGICA"), 2)
        assert _active_holds(ctx, tid) == 1
        time.sleep(0.5)  # let it draw the screen it is on
        gone_at = time.monotonic()
        term.hang_up()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pytest.fail("the kiosk was still running 5 s after its terminal went away")
        assert time.monotonic() - gone_at < 5
        log = tmp_path / "logs" / "boxoffice.jsonl"
        assert _active_holds(ctx, tid) == 0, (log.read_text()[-3000:] if log.exists() else
                                             sorted(map(str, tmp_path.rglob("*"))))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        with contextlib.suppress(OSError):
            os.close(term.master)
