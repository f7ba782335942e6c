"""The supervisor's tablet (issue 15 item 15): ``boxoffice monitor --web`` served by
textual-serve on loopback, driven by a real Chromium (Debian's package) through
Playwright. A supervisor signs in, sees a sale made at a counter appear, approves the
counter's cash variance; screenshots at tablet sizes land in the test's tmp dir.

What the browser shows is read from the bytes it received on its websocket (the
terminal's output, escape sequences stripped): the page draws them on a WebGL canvas,
which has no text to query."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (see below)
import pytest

from core.actors import authenticate
from core.app_context import CoreContext
from terminal.counter import CounterSession
from tests.logins import TerminalLogins, psycopg_url

# ``hypothesis`` is imported above because pytest's failure report imports it lazily, and
# that first import, compiled from inside Playwright's greenlet, hits a CPython 3.11
# compiler error (SystemError: AST constructor recursion depth mismatch) that hides the
# real failure behind an INTERNALERROR.
pytestmark = [pytest.mark.db, pytest.mark.timeout(240)]
CHROMIUM = "/usr/bin/chromium"
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[PX^_].*?\x1b\\|\x1b\][^\x07]*\x07|"
                  r"\x1b[()][0-9A-B]|\x1b[=>78DEHMc]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(ctx: CoreContext, terminal_logins: TerminalLogins,
           module_tmp: Path) -> Iterator[str]:
    """``boxoffice monitor --web`` as a process on a loopback port, on the monitor's own
    login (its session is ``web-monitor``)."""
    port = free_port()
    url = psycopg_url(terminal_logins.login("web-monitor", "monitor").url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_CONFIG=str(module_tmp / "none.toml"), BOXOFFICE_DATABASE__URL=url,
               BOXOFFICE_TERMINAL__DATA_DIR=str(module_tmp / "web"),
               BOXOFFICE_TERMINAL__NAME="web", BOXOFFICE_TERMINAL__LANGUAGE="en",
               BOXOFFICE_TERMINAL__HEARTBEAT_S="1",
               BOXOFFICE_LOGGING__FILE=str(module_tmp / "web.jsonl"))
    log = (module_tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "boxoffice_cli.main", "monitor", "--web",
                             "--port", str(port)], env=env, stdout=log, stderr=log,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        assert proc.poll() is None, (module_tmp / "server.log").read_text()
        assert time.monotonic() < deadline, "monitor --web did not listen"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    os.killpg(proc.pid, signal.SIGTERM)  # the server and every monitor it started
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


class Screen:
    """What the browser's terminal received, as text."""

    def __init__(self, page: Any) -> None:
        self.raw: list[str] = []
        self._lock = threading.Lock()
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: Any) -> None:
        data = payload if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace")
        with self._lock:
            self.raw.append(data)

    def text(self) -> str:
        with self._lock:
            return ANSI.sub("", "".join(self.raw))

    def mark(self) -> int:
        with self._lock:
            return len(self.raw)

    def since(self, mark: int) -> str:
        with self._lock:
            return ANSI.sub("", "".join(self.raw[mark:]))


SHOTS: dict[str, Any] = {}


def wait_until(page: Any, pred: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            # What the page showed instead, next to the test's other screenshots.
            shot = SHOTS.get("dir")
            if shot is not None:
                name = re.sub(r"\W+", "-", what)
                page.screenshot(path=str(shot / f"failed-{name}.png"))
                stream = SHOTS.get("stream")
                if stream is not None:
                    (shot / f"failed-{name}.txt").write_text(repr(stream))
            raise AssertionError(f"not seen in the browser: {what}")
        page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def counter(ctx: CoreContext, terminal_logins: TerminalLogins) -> CounterSession:
    """A counter at work on its own login: signed in, shift open, beating."""
    cctx = terminal_logins.new_context("web-counter", "cashier", ctx.settings)
    svc = CounterSession(cctx, "web-counter", settings=cctx.settings)
    svc.start()
    svc.operator = authenticate(cctx.engine, "ana", "1234")
    svc.open_shift(20000, uuid.uuid4())
    svc.heartbeat({"screen": "EventsScreen", "operator": "ana", "printer": "ok",
                   "breaker": "closed"})
    return svc


def open_monitor(browser: Any, server: str, width: int, height: int) -> tuple[Any, Screen]:
    page = browser.new_page(viewport={"width": width, "height": height}, has_touch=True)
    screen = Screen(page)
    SHOTS["stream"] = screen.raw
    page.goto(server + "/", wait_until="domcontentloaded")
    wait_until(page, lambda: "sign in" in screen.text(), "the sign-in screen")
    # The terminal takes the keyboard; clicked on empty space (the middle of the page is
    # the PIN field, which a click would focus).
    page.locator("#terminal").click(position={"x": 20, "y": height - 60})
    page.wait_for_timeout(300)
    return page, screen


def next_field(page: Any, key: str = "Tab") -> None:
    """Move to the next field and give the app a moment to move its focus: Enter on a
    login field moves focus after the keys already queued, so a digit typed at once
    would still land in the login."""
    page.keyboard.press(key)
    page.wait_for_timeout(300)


def type_in(page: Any, screen: Screen, text: str, *, secret: bool = False) -> None:
    """Type like a person and wait for the field to show it (a login echoes, a PIN
    shows dots): keys sent before the app has its field focused would be lost."""
    mark = screen.mark()
    page.keyboard.type(text, delay=40)
    shown = "•" * len(text) if secret else text
    wait_until(page, lambda: shown in screen.since(mark), f"typed {shown}")


def test_sign_in_sale_appears_and_variance_approved(browser: Any, server: str, ctx: Any,
                                                    counter: CounterSession,
                                                    tmp_path: Path) -> None:
    SHOTS["dir"] = tmp_path
    page, screen = open_monitor(browser, server, 1024, 768)
    page.screenshot(path=str(tmp_path / "signin-1024x768.png"))
    before = "Occupancy" in screen.text()
    assert not before  # nothing of the floor before the sign-in
    # A wrong PIN is refused in the page.
    type_in(page, screen, "carla")
    next_field(page, "Enter")
    type_in(page, screen, "0000", secret=True)
    mark = screen.mark()
    page.keyboard.press("Enter")
    wait_until(page, lambda: re.search(r"PIN|locked|incorrect", screen.since(mark), re.I)
               is not None, "the refusal")
    refused = "Occupancy" in screen.text()
    assert not refused
    # The login stays, the PIN field is cleared and focused: type the right one.
    type_in(page, screen, "9999", secret=True)
    mark = screen.mark()
    page.keyboard.press("Enter")
    wait_until(page, lambda: "Occupancy" in screen.since(mark), "the monitor")

    # A sale at the counter appears: the counter among the terminals, its cash takings.
    with ctx.engine.connect() as c:
        ev = c.exec_driver_sql("select id from events where code = 'COMEDIA-HOJE'").scalar_one()
    mark = screen.mark()
    sale = counter.pay_cash(uuid.uuid4(), counter.hold_best(uuid.uuid4(), ev, 2), 10 ** 6)
    counter.heartbeat({"screen": "SaleScreen", "operator": "ana", "printer": "ok",
                       "breaker": "closed"})
    from core.money import format_minor

    figure = format_minor(sale.total_minor, "", "en").strip()  # the monitor speaks English
    wait_until(page, lambda: figure in screen.since(mark) and "web-counter"
               in screen.text(), f"the sale ({figure}) at web-counter")
    page.screenshot(path=str(tmp_path / "sale-1024x768.png"))

    # The counter closes its shift 80,00 short: the variance waits for a supervisor.
    mark = screen.mark()
    closed = counter.close_shift(20000 + sale.total_minor - 8000, uuid.uuid4())
    assert closed.status == "pending_approval"
    wait_until(page, lambda: "Cash variance" in screen.since(mark)
               and "-R$ 80.00" in screen.since(mark), "the variance")
    mark = screen.mark()
    page.keyboard.press("a")
    wait_until(page, lambda: "at web-counter (ana)" in screen.since(mark),
               "the approval dialog")
    page.screenshot(path=str(tmp_path / "approve-1024x768.png"))
    type_in(page, screen, "carla")
    next_field(page)
    type_in(page, screen, "9999", secret=True)
    page.keyboard.press("Enter")

    def shift_closed() -> bool:
        with ctx.engine.connect() as c:
            return c.exec_driver_sql("select status from shifts where id = %(i)s",
                                     {"i": closed.shift_id}).scalar_one() == "closed"

    wait_until(page, shift_closed, "the variance approved")
    wait_until(page, lambda: "Approved" in screen.since(mark) or "approved" in
               screen.since(mark), "the approval's confirmation")
    page.screenshot(path=str(tmp_path / "approved-1024x768.png"))
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (768, 1024)])
def test_tablet_layouts(browser: Any, server: str, counter: CounterSession, tmp_path: Path,
                        width: int, height: int) -> None:
    SHOTS["dir"] = tmp_path
    page, screen = open_monitor(browser, server, width, height)
    type_in(page, screen, "carla")
    next_field(page)
    type_in(page, screen, "9999", secret=True)
    mark = screen.mark()
    page.keyboard.press("Enter")
    wait_until(page, lambda: "Occupancy" in screen.since(mark), "the monitor")
    wait_until(page, lambda: "Terminals" in screen.text() and "Alerts" in screen.text(),
               "every panel title")
    page.wait_for_timeout(500)
    shot = tmp_path / f"monitor-{width}x{height}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.close()


def web_tabs(ctx: CoreContext) -> dict[str, Any]:
    """The browser tabs recorded on the served monitor's terminal row: id -> beat (None
    once the tab closed)."""
    with ctx.engine.connect() as c:
        state = c.exec_driver_sql(
            "select state from terminals where name = 'web-monitor'").scalar() or {}
    return {k[len("web:"):]: v for k, v in state.items() if k.startswith("web:")}


def sign_in(page: Any, screen: Screen) -> None:
    type_in(page, screen, "carla")
    next_field(page)
    type_in(page, screen, "9999", secret=True)
    mark = screen.mark()
    page.keyboard.press("Enter")
    wait_until(page, lambda: "Occupancy" in screen.since(mark), "the monitor")


def test_each_tab_is_a_monitor_of_its_own(browser: Any, server: str, ctx: CoreContext,
                                          tmp_path: Path) -> None:
    """Two tablets at once (issue 15 item 15's known limit): each tab's process beats as
    itself, both sign in (the second is not refused as the same terminal), each is a row
    of the terminal list, and a closed tab leaves the list at once without an alarm."""
    from boxoffice_tui import web_session
    from terminal.monitor import MonitorSession

    SHOTS["dir"] = tmp_path
    gone = {k for k, v in web_tabs(ctx).items() if v is None}
    page1, screen1 = open_monitor(browser, server, 1024, 768)
    page2, screen2 = open_monitor(browser, server, 1024, 768)

    def live() -> set[str]:
        return {k for k, v in web_tabs(ctx).items() if v is not None} - gone

    wait_until(page2, lambda: len(live()) == 2, "two tabs beating")
    # Each page's header names its own tab (read before the sign-in: from then on the
    # terminal list names the other tab too).
    own = re.compile(r"web-monitor/([0-9a-f]{6})")
    mine1, mine2 = (own.search(screen1.text()), own.search(screen2.text()))
    assert mine1 is not None and mine2 is not None
    mine1, mine2 = mine1.group(1), mine2.group(1)
    assert {mine1, mine2} == live()
    sign_in(page1, screen1)
    sign_in(page2, screen2)
    wait_until(page1, lambda: f"web-monitor/{mine2}" in screen1.text(), "the other tab")
    wait_until(page2, lambda: f"web-monitor/{mine1}" in screen2.text(), "the other tab")
    # A tab's beat says who passed its sign-in, never the PIN.
    wait_until(page1, lambda: web_tabs(ctx)[mine1].get("operator") == "carla", "who")
    assert "9999" not in str(web_tabs(ctx))
    page1.screenshot(path=str(tmp_path / "two-tabs-1024x768.png"))

    page1.close()
    wait_until(page2, lambda: web_tabs(ctx)[mine1] is None, "the closed tab said so")
    assert web_tabs(ctx)[mine2] is not None
    mon = MonitorSession(ctx, "web-check", settings=ctx.settings)
    snap = mon.monitor_snapshot()
    names = {r.name for r in web_session.expand(snap.terminals, snap.as_of, 15.0)
             if r.name.startswith("web-monitor")}
    assert names == {f"web-monitor/{mine2}"}
    assert not [a for a in snap.alerts if a.terminal.startswith("web-monitor")]
    page2.close()
    deadline = time.monotonic() + 30
    while web_tabs(ctx)[mine2] is not None:
        assert time.monotonic() < deadline, "the last tab did not say it closed"
        time.sleep(0.1)
