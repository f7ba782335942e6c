"""The cashier app and the supervisor monitor, and the functions that run them.

``run_cashier(ctx)`` is what ``boxoffice demo`` opens and ``run_cashier_settings`` what
``boxoffice cashier`` opens; ``terminal.bootstrap`` assembles the process for both (file
logging first: the TUI owns the terminal) and the warm-up starts the devices (printer
spooler, card gateway, offline selling), stopped on the way out.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.message import Message

from boxoffice_tui.base import AppHooks, error_text
from boxoffice_tui.commands import EventCommands, OrderCommands
from boxoffice_tui.i18n import language, set_language, t
from boxoffice_tui.widgets.core_calls import CoreCalls
from boxoffice_tui.widgets.keycaps import KeyCaps
from boxoffice_tui.widgets.textual_compat import compose_offscreen, on_any_stack
from core.errors import BoxOfficeError
from core.money import format_minor
from terminal.counter import CounterSession
from terminal.results import BreakerView

if TYPE_CHECKING:
    from boxoffice_tui.screens.sale import SaleScreen
    from config import Settings
    from core.actors import OperatorInfo
    from core.app_context import CoreContext
    from core.reservation import EventInfo
    from core.sales import ShiftClose, ShiftReport
    from terminal.monitor import MonitorSession
    from terminal.results import Approval, LeasesTaken
    from terminal.session import TerminalSession

log = logging.getLogger("boxoffice_tui")
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _zone(name: str | None) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class SyncChanged(Message):
    """The offline terminal's state (online, queue depth, leases), posted from its
    threads; ``post_message`` is the thread-safe way onto the UI thread."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__()
        self.state = state


class BoxOfficeApp(CoreCalls, KeyCaps, App):
    """What the cashier app and the monitor share. App-level actions run their core calls
    on the app's own workers (``call_core``), never on whichever screen is on top."""

    # Absolute, so subclasses defined elsewhere (tests, kiosk) find it too.
    CSS_PATH = str(Path(__file__).with_name("boxoffice.tcss"))
    title_key = "app_title"
    clock_zone: str | None = None
    BINDINGS = [Binding("f1", "help", "help"),
                Binding("ctrl+l", "language", "language")]

    def __init__(self, services: TerminalSession, *, clock: Clock = _utcnow,
                 language_code: str | None = None, heartbeat: bool = True) -> None:
        super().__init__()
        self.services = services
        self.clock = clock
        self.online = True
        self.breaker = BreakerView("unknown")
        self.cached_events: list[EventInfo] = []
        self.heartbeat_enabled = heartbeat
        self.last_error: str | None = None
        self.warm_up: Callable[[], Any] | None = None
        self._last_status_line = ""
        self._executor: ThreadPoolExecutor | None = None
        self._sale_screen: SaleScreen | None = None  # kept composed, see open_event
        # sync.terminal.OfflineTerminal.status() as last posted; None without offline
        # selling (the monitor, tests without it): then core calls decide online/offline.
        self.sync_state: dict[str, Any] | None = None
        self._base_mounted = False
        self.beat_lock = threading.Lock()
        self.beats_ended = False
        set_language(language_code or services.settings.terminal.language)
        self.title = t(self.title_key)

    def on_load(self) -> None:
        from boxoffice_tui.base import translate_bindings

        translate_bindings(self)

    # --- shared helpers ----------------------------------------------------------------
    @property
    def lang(self) -> str:
        return language()

    def now(self) -> datetime:
        return self.clock()

    def format_when(self, ts: datetime, tz: str | None = None) -> str:
        """Times as the tickets print them: in the venue's zone (``tz``), else local."""
        local = ts.astimezone(_zone(tz))
        return local.strftime("%d/%m %H:%M") if self.lang == "pt-BR" else \
            local.strftime("%b %d %H:%M")

    @property
    def terminal_label(self) -> str:
        """The terminal's name as the header shows it."""
        return self.services.terminal_name

    def clock_text(self) -> str:
        """The header's clock: local time, or ``clock_zone``'s (snapshots pin it)."""
        return self.now().astimezone(_zone(self.clock_zone)).strftime("%H:%M")

    def status_line(self) -> str:
        parts = []
        pr = self.services.printer_state()
        if pr not in ("none", ""):
            parts.append(pr)
        if self.breaker.state not in ("unknown", "closed"):
            parts.append(f"{t('card')}: {self.breaker.state}")
        return "  ".join(parts)

    def refresh_status(self) -> None:
        from boxoffice_tui.header import TerminalHeader

        for screen in self.screen_stack:
            for header in screen.query(TerminalHeader):
                header.refresh_status()

    def set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.refresh_status()

    def core_ok(self) -> None:
        # With offline selling running, its watch decides (hysteresis): a sale from the
        # lease succeeds while the database is gone and must not flip the header.
        if self.sync_state is None or self.sync_state.get("online"):
            self.set_online(True)

    @property
    def selling_offline(self) -> bool:
        """Offline with the lease machinery running: sell from the lease only."""
        return self.sync_state is not None and not self.sync_state.get("online")

    def on_sync_changed(self, message: SyncChanged) -> None:
        self.apply_sync(message.state)

    def apply_sync(self, state: dict[str, Any]) -> None:
        oldest = state.get("oldest_unsent_s")
        # The header ages the oldest unsent sale every second without asking sync again.
        state = state | {"oldest_at": None if oldest is None else time.time() - oldest}
        self.sync_state = state
        self.online = bool(state.get("online"))
        self.refresh_status()
        for screen in self.screen_stack:
            if isinstance(screen, AppHooks):
                screen.sync_changed(state)

    def core_failed(self, exc: BaseException, failed: Callable[[BaseException], Any] | None,
                    quiet: bool) -> None:
        # Plain reads (seat maps, event lists) do not go through a unit of work, so a lost
        # server reaches us as the driver's OperationalError rather than our code.
        lost = (isinstance(exc, BoxOfficeError) and exc.code == "database_unavailable") or \
            type(exc).__name__ in ("OperationalError", "InterfaceError")
        # With offline selling running, its connectivity watch is the one source of truth
        # (hysteresis, issue 13 item 17): one failed call during a 1 s blip must not turn
        # the header OFFLINE. Without a watch (the monitor), calls decide.
        if self.sync_state is None:
            if lost:
                self.set_online(False)
            elif isinstance(exc, BoxOfficeError):
                self.set_online(True)
        if failed is not None:
            failed(exc)
        elif lost and not quiet:
            self.show_error(BoxOfficeError("database_unavailable"))
        elif not quiet:
            self.show_error(exc)

    def show_error(self, exc: BaseException | str) -> None:
        self.last_error = exc if isinstance(exc, str) else error_text(exc)
        self.notify(self.last_error, severity="error", timeout=6)

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO, and subclasses also call
        # super().on_mount(): without this the warm-up (spooler, gateway, offline
        # selling) and the timers would start twice.
        if self._base_mounted:
            return
        self._base_mounted = True
        if self.warm_up is not None:
            warm = self.warm_up
            self.call_after_refresh(lambda: self.run_worker(
                warm, thread=True, group="warm-up", exit_on_error=False))
        hb = self.services.settings.terminal.heartbeat_s
        if self.heartbeat_enabled:
            self.set_interval(hb, self.beat)
            self.call_after_refresh(self.beat)
        self.set_interval(1.0, self.poll_breaker)

    def terminal_state(self) -> dict[str, Any]:
        op = self.services.operator
        svc = self.services
        shift = svc.shift if isinstance(svc, CounterSession) else None
        online = svc.printer_online()
        sync = self.sync_state
        extra: dict[str, Any] = {} if sync is None else {"sync": {
            k: sync.get(k) for k in ("online", "links", "queue_depth", "flagged",
                                     "oldest_unsent_s", "offline_card_total_minor")}
            | {"leases": [{"lease_id": x["lease_id"], "remaining": x["remaining"]}
                          for x in sync.get("leases", ())]}}
        return extra | {
                "screen": type(self.screen).__name__, "operator": op.login if op else None,
                "shift": str(shift.shift_id) if shift else None,
                "online": self.online,
                "printer": "none" if online is None and svc.spooler is None else
                ("offline" if online is False else "ok"),
                "printer_text": svc.printer_state(), "queue_depth": svc.queue_depth(),
                "breaker": self.breaker.state, "lang": self.lang}

    def beat(self) -> None:
        if not self.screen_stack:
            # The timer can fire once more while the app closes, after its screens are
            # gone: the "stopped" beat is say_stopped's, and self.screen would raise.
            return
        state = self.terminal_state()

        def job() -> None:
            try:
                # A beat still on its way when the app closes must not land after the
                # "stopped" one (say_stopped takes the same lock and ends the beats).
                with self.beat_lock:
                    if self.beats_ended:
                        return
                    self.services.heartbeat(state)
            except BoxOfficeError as exc:
                self.call_from_thread(self.core_failed, exc, None, True)
                return
            except Exception:
                log.exception("heartbeat failed")
                return
            self.call_from_thread(self.core_ok)

        self.run_worker(job, thread=True, group="heartbeat", exclusive=True,
                        exit_on_error=False)

    def poll_breaker(self) -> None:
        """Breaker and printer state, once a second (both are in-process reads)."""
        try:
            br = self.services.breaker()
            line = self.status_line()
        except Exception:
            log.exception("breaker/printer state read failed")
            return
        if line != self._last_status_line or (self.sync_state or {}).get("queue_depth"):
            self._last_status_line = line
            self.refresh_status()
        if br != self.breaker:
            self.breaker = br
            self.refresh_status()
            for screen in self.screen_stack:
                if isinstance(screen, AppHooks):
                    screen.refresh_card_state()

    # --- app-wide actions ------------------------------------------------------------------
    def action_help(self) -> None:
        from boxoffice_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> Any:
        """F1 lists this face's keys (the counter's here; the monitor has its own)."""
        from boxoffice_tui.screens.help import CASHIER

        return CASHIER

    def action_language(self) -> None:
        from boxoffice_tui.base import translate_bindings

        set_language("en" if self.lang == "pt-BR" else "pt-BR")
        self.title = t(self.title_key)
        translate_bindings(self)
        for screen in self.screen_stack:
            if isinstance(screen, AppHooks):
                screen.retranslate()
        self.refresh_bindings()
        self.refresh_status()


class CashierApp(BoxOfficeApp):
    COMMANDS = App.COMMANDS | {EventCommands, OrderCommands}
    # Shift and order keys work on every screen of a signed-in cashier (docs/cashier.md:
    # "F8 at any time"); a screen that has room shows them in its own footer.
    BINDINGS = [Binding("f4", "take_leases", "lease", show=False),
                Binding("f3", "orders", "orders", show=False),
                Binding("f8", "x_report", "x_report", show=False),
                Binding("f10,ctrl+f", "close_shift", "close_shift", show=False)]
    services: CounterSession

    def __init__(self, services: CounterSession, **kwargs: Any) -> None:
        super().__init__(services, **kwargs)

    def on_mount(self) -> None:
        self.services.sync_subscribe(lambda st: self.post_message(SyncChanged(st)))
        super().on_mount()
        from boxoffice_tui.screens.signin import SignInScreen

        self.push_screen(SignInScreen())
        # Half a second after the first frame: nobody has typed a login by then.
        self.set_timer(0.5, lambda: self.run_worker(
            _preload, thread=True, group="preload", exit_on_error=False))

    def signed_in(self, op: OperatorInfo) -> None:
        self.refresh_status()
        if self.services.shift is None:
            from boxoffice_tui.screens.signin import OpenShiftScreen

            self.push_screen(OpenShiftScreen(), lambda _: self._to_events())
        else:
            self._to_events()

    def _to_events(self) -> None:
        from boxoffice_tui.screens.events import EventsScreen

        self.refresh_status()
        self.switch_screen(EventsScreen())
        self.call_later(self._cache_events)
        # Once the list is drawn, while the cashier reads it.
        self.set_timer(0.3, self.prepare_sale_screen)

    def _cache_events(self) -> None:
        def job() -> None:
            with contextlib.suppress(Exception):
                evs = self.services.events()
                self.call_from_thread(setattr, self, "cached_events", evs)

        self.run_worker(job, thread=True, group="cache-events", exit_on_error=False)

    def open_event(self, ev: EventInfo) -> SaleScreen | None:
        from boxoffice_tui.screens.sale import SaleScreen

        if self.services.operator is None:
            return None
        # The seat map's reads start now, on a pool thread, while the screen composes.
        prefetch = self._pool().submit(self.services.seat_map, ev.id)
        screen = self._sale_screen
        if screen is not None and screen.is_running and not on_any_stack(self, screen):
            # The kept screen is composed and styled already; it only takes the new
            # event's data (composing a new one was most of an opening's time).
            screen.show_event(ev, prefetch)
        else:
            screen = SaleScreen(ev, prefetch=prefetch)
            if self._sale_screen is None:
                self._keep_sale_screen(screen)
        self.push_screen(screen)
        return screen

    def order_refunded(self, order_id: str, amount: str) -> None:
        """Tell every screen (the kept sale screen too, off the stack) of a refund."""
        screens = list(self.screen_stack)
        if self._sale_screen is not None and self._sale_screen not in screens:
            screens.append(self._sale_screen)
        for screen in screens:
            if isinstance(screen, AppHooks):
                screen.order_refunded(order_id, amount)

    def _keep_sale_screen(self, screen: SaleScreen) -> None:
        # An installed screen stays mounted when popped, so it can be shown again.
        self.install_screen(screen, name="kept-sale")
        self._sale_screen = screen

    def prepare_sale_screen(self) -> None:
        """Compose the sale screen ahead of time, off the stack, so that even the first
        event opened only loads its data onto it."""
        from boxoffice_tui.screens.sale import SaleScreen

        if self._sale_screen is not None or self.services.operator is None:
            return
        screen = SaleScreen(None)
        self._keep_sale_screen(screen)
        # What push_screen does first (register, compose, mount), without showing it.
        compose_offscreen(self, screen)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(2, thread_name_prefix="prefetch")
        return self._executor

    def action_take_leases(self) -> None:
        """F4: take this terminal's configured leases now (and pick up any a supervisor
        took for it), so it can keep selling if the link drops. A lease the database
        grants only with a supervisor's PIN opens the approval dialog, then is taken."""
        from boxoffice_tui.screens.dialogs import SupervisorDialog

        # F4 typed inside the approval dialog must not stack a second one.
        if self.services.operator is None or isinstance(self.screen, SupervisorDialog):
            return
        self._take_leases()

    def _take_leases(self, approval: Approval | None = None, shown: tuple[str, ...] = (),
                     earlier: int = 0) -> None:
        svc = self.services

        def job() -> tuple[LeasesTaken, dict[str, Any]]:
            got = svc.take_leases(approval, shown)
            return got, svc.sync_status()

        def done(res: tuple[LeasesTaken, dict[str, Any]]) -> None:
            got, state = res
            self.apply_sync(state)
            if got.needs_supervisor and approval is None:
                self._ask_lease_supervisor(got)
                return
            self._leases_taken(got, earlier)

        self.call_core(job, done=done, group="lease")

    def _ask_lease_supervisor(self, got: LeasesTaken) -> None:
        """The supervisor reads which leases she approves, types login and PIN once (the
        dialog shows a wrong PIN or a lock-out from the database and stays open); every
        lease named is then taken with a proof of its own."""
        from boxoffice_tui.screens.dialogs import SupervisorDialog

        def approved(res: Approval | None) -> None:
            if res is None:  # no supervisor at hand: what needed none is taken already
                self._leases_taken(got)
                return
            self._take_leases(res, got.needs_supervisor, earlier=got.taken)

        what = f"{t('lease')} {', '.join(got.needs_supervisor)}"
        self.push_screen(SupervisorDialog(what, with_reason=False), approved)

    def _leases_taken(self, got: LeasesTaken, earlier: int = 0) -> None:
        self.notify(t("leases_taken", n=earlier + got.taken, seats=got.places_left))
        if got.needs_supervisor:
            self.notify(error_text(BoxOfficeError("lease_needs_supervisor")),
                        severity="warning", timeout=8)

    def action_orders(self, query: str = "") -> None:
        from boxoffice_tui.screens.orders import OrdersScreen

        if self.services.operator is None or isinstance(self.screen, OrdersScreen):
            return
        self.push_screen(OrdersScreen(query))

    def action_x_report(self) -> None:
        """F8, from any screen of a signed-in cashier with an open shift."""
        from boxoffice_tui.screens.dialogs import ReportDialog, shift_report_text

        if self.services.operator is None:
            return
        if self.services.shift is None:
            self.show_error(t("no_shift_open"))
            return

        def show(rep: ShiftReport) -> None:
            self.push_screen(ReportDialog(t("x_report"), shift_report_text(
                rep, self.lang, lambda ts: self.format_when(ts))))

        self.call_core(self.services.x_report, done=show, group="report")

    def action_close_shift(self) -> None:
        from boxoffice_tui.screens.dialogs import (
            CloseShiftDialog,
            ReportDialog,
            SupervisorDialog,
            close_text,
        )

        if self.services.operator is None:
            return
        if self.services.shift is None:
            self.show_error(t("no_shift_open"))
            return
        cur = self.services.settings.sales.currency
        svc = self.services

        def show(rep: ShiftClose) -> None:
            if rep.status == "closed":
                self.push_screen(ReportDialog(t("close_shift"), close_text(rep, cur, self.lang)),
                                 lambda _: self.shift_ended())
                return
            # Over the variance threshold: a supervisor approves on this terminal.
            def approved(res: Approval | None) -> None:
                if res:
                    self.call_core(
                        svc.approve_variance, uuid.uuid4(), rep.shift_id, res.login,
                        res.pin, res.reason, done=show, group="close")
                else:
                    # No supervisor at the counter: the shift waits for one on the
                    # monitor, and this cashier's session ends (nothing more to sell).
                    self.notify(t("variance_deferred"), severity="warning", timeout=10)
                    self.shift_ended(t("variance_deferred"))

            variance = format_minor(rep.variance_minor, cur, self.lang)
            self.push_screen(SupervisorDialog(f"{t('variance')} {variance}",
                                              reasons="variance"), approved)

        def counted(res: tuple[int, uuid.UUID] | None) -> None:
            if res:
                self.call_core(svc.close_shift, res[0], res[1], done=show, group="close")

        self.push_screen(CloseShiftDialog(), counted)

    def shift_ended(self, notice: str = "") -> None:
        """The shift is closed (or waits for the supervisor): the cashier signs out, and
        the next one signs in and opens a new shift; ``notice`` stays on the sign-in."""
        from boxoffice_tui.screens.signin import SignInScreen

        self.services.sign_out()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(SignInScreen(notice))
        self.refresh_status()


class MonitorApp(BoxOfficeApp):
    title_key = "monitor_title"
    # No command palette: it finds nothing on the monitor, and its system commands
    # (themes, screenshots) have no place on a supervisor's tablet.
    ENABLE_COMMAND_PALETTE = False
    services: MonitorSession

    def __init__(self, services: MonitorSession, *, sign_in_first: bool = False,
                 web_session: str | None = None, **kwargs: Any) -> None:
        super().__init__(services, **kwargs)
        # Served to a browser (``monitor --web``): nothing shows before a supervisor signs in.
        self.sign_in_first = sign_in_first
        # The browser tab's own id (boxoffice_tui.web_session): it beats under it.
        self.web_session = web_session
        # Who passed the sign-in gate (not an identity the monitor acts as): the tab's row.
        self.gate_login: str | None = None

    @property
    def terminal_label(self) -> str:
        name = self.services.terminal_name
        return name if self.web_session is None else f"{name}/{self.web_session}"

    def help_sections(self) -> Any:
        from boxoffice_tui.screens.help import MONITOR

        return MONITOR

    def terminal_state(self) -> dict[str, Any]:
        state = super().terminal_state()
        if self.web_session is None:
            return state
        from boxoffice_tui.web_session import beat_state

        return beat_state(self.web_session,
                          state | {"operator": state.get("operator") or self.gate_login})

    def on_mount(self) -> None:
        super().on_mount()
        if self.sign_in_first:
            from boxoffice_tui.screens.monitor_signin import MonitorSignInScreen

            self.push_screen(MonitorSignInScreen())
            return
        from boxoffice_tui.screens.monitor import MonitorScreen

        self.push_screen(MonitorScreen())


def _preload() -> None:
    """Import what the later screens need while the cashier types the PIN, so the first
    seat map does not pay for imports (dataclass creation alone is measurable)."""
    import importlib

    for name in ("boxoffice_tui.screens.events", "boxoffice_tui.screens.sale",
                 "boxoffice_tui.screens.checkout", "boxoffice_tui.screens.orders",
                 "boxoffice_tui.screens.dialogs", "core.monitor", "core.reservation",
                 "core.sales"):
        try:
            importlib.import_module(name)
        except Exception:
            log.exception("preloading %s failed", name)
    # Everything loaded so far lives as long as the process: keep it out of the cyclic
    # collector, whose full passes over it measured up to ~120 ms each, in the middle
    # of opening a seat map or drawing a burst of changes.
    import gc

    gc.collect()
    gc.freeze()


# --- entry points ------------------------------------------------------------------------


def _run_with_peripherals(app: BoxOfficeApp) -> int:
    from terminal.bootstrap import start_peripherals, stop_all

    stops: list[Callable[[], Any]] = []

    def warm_up() -> None:
        # Build the context (engine, migrations check), the gateway and the spooler in a
        # worker while the sign-in screen is already on screen.
        stops.extend(start_peripherals(app.services))

    app.warm_up = warm_up
    try:
        app.run()
    finally:
        say_stopped(app)
        stop_all(stops)
    return 0


def say_stopped(app: BoxOfficeApp, why: str = "exit") -> None:
    """The last heartbeat of a clean exit: the monitor shows the terminal as stopped
    instead of raising a silence alarm about it (the kiosk does the same); a browser
    tab's process takes its tab off the monitor."""
    svc = app.services
    if svc.terminal_id is None or not svc.ready:
        return
    web = getattr(app, "web_session", None)
    # After any beat in flight (a thread worker may outlive the app), and the last one.
    locked = app.beat_lock.acquire(timeout=10)
    app.beats_ended = True
    try:
        if web is not None:
            from boxoffice_tui.web_session import stopped_state

            svc.heartbeat(stopped_state(web))
        else:
            svc.heartbeat({"screen": "stopped", "stopped": why, "online": True})
    except Exception:
        log.exception("stopped heartbeat failed")
    finally:
        if locked:
            app.beat_lock.release()


def run_cashier(ctx: CoreContext) -> int:
    """Open the cashier app on an existing context (``boxoffice demo``)."""
    from terminal.bootstrap import counter_session

    return _run_with_peripherals(CashierApp(counter_session(ctx.settings, ctx)))


def run_cashier_settings(settings: Settings) -> int:
    """``boxoffice cashier``: the first screen draws before the database is reached."""
    from terminal.bootstrap import counter_session

    return _run_with_peripherals(CashierApp(counter_session(settings)))


def run_monitor(ctx: CoreContext, *, sign_in_first: bool = False) -> int:
    from boxoffice_tui.web_session import new_session_id, served
    from terminal.bootstrap import monitor_session

    session = monitor_session(ctx.settings, ctx)
    web = None
    if served():
        # Every tab of ``monitor --web`` is a process acting as the same monitor terminal:
        # none claims its name (a second tab would be refused), each beats as itself.
        session.claim_name = False
        web = new_session_id()
    app = MonitorApp(session, sign_in_first=sign_in_first, web_session=web)
    try:
        return app.run() or 0
    finally:
        say_stopped(app)


if TYPE_CHECKING:
    # The apps give their screens what boxoffice_tui.protocols promises (mypy checks).
    from boxoffice_tui.protocols import CounterHost, MonitorHost

    def _cashier_is_a_counter_host(app: CashierApp) -> CounterHost:
        return app

    def _monitor_is_a_monitor_host(app: MonitorApp) -> MonitorHost:
        return app
