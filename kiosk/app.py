"""The kiosk app: one customer decision per screen, no way out without a supervisor.

Locked down: the keys that quit, suspend or open the command palette in a Textual app are
bound (priority) to nothing; the command palette is off; the only exit is the hidden staff
dialog (F12, or five quick taps on the top-right corner) that needs a supervisor's PIN,
and SIGTERM/SIGHUP from the operating system, which release the kiosk's holds first.

Time: idle prompts, the hold countdown, the thank-you screen and the attract cycle are
measured with an injectable clock (``kiosk.clock``), checked by one ticking timer, so
tests move time forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

from boxoffice_tui.widgets.keycaps import KeyCaps
from kiosk.clock import Clock, monotonic
from kiosk.i18n import error_message, language, set_language, t
from terminal.kiosk import KioskSession
from terminal.results import EventShape, Readiness

if TYPE_CHECKING:
    from config import Settings
    from core.reservation import EventInfo, HoldResult
    from core.sales import CheckoutResult

log = logging.getLogger("kiosk")

# Keys a Textual app (or the terminal around it) treats as quit, suspend, copy, palette...
BLOCKED_KEYS = ("ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash", "ctrl+p", "ctrl+d",
                "ctrl+s", "ctrl+w", "ctrl+t", "ctrl+y", "ctrl+x", "ctrl+l", "super+c",
                "ctrl+shift+p", "ctrl+shift+q")
STAFF_TAPS = 5
STAFF_TAP_WINDOW_S = 3.0
# Seconds the hold countdown keeps in reserve: the customer is stopped before the database
# expires the hold, not after.
HOLD_MARGIN_S = 10.0
# How long a stop (SIGTERM, staff exit) waits for a card payment in flight.
PAY_GRACE_S = 30.0
# After SIGHUP (the kiosk's terminal is gone) the process is gone within this, whatever
# the screen, the database or Textual are doing (issue 13 item 10).
HANGUP_EXIT_S = 4.0


@dataclass
class Purchase:
    """The customer's purchase in progress."""

    event: EventInfo
    shape: EventShape | None = None
    quantity: int = 0
    hold: HoldResult | None = None
    hold_deadline: float | None = None
    seat_labels: tuple[str, ...] = ()
    age_ok: bool = False
    identified: bool = False
    sale: CheckoutResult | None = None
    pay_key: uuid.UUID | None = None


# What a crashed kiosk leaves on its screen until systemd restarts it (no detail: the
# customer cannot act on it, the log file has it).
OUT_OF_SERVICE = "Fora de serviço · Out of service · Fuera de servicio"


class KioskApp(KeyCaps, App, inherit_bindings=False):
    CSS_PATH = str(Path(__file__).with_name("kiosk.tcss"))
    ENABLE_COMMAND_PALETTE = False
    TITLE = "Kiosk"
    BINDINGS = [*(Binding(k, "blocked", show=False, priority=True) for k in BLOCKED_KEYS),
                Binding("f12", "staff", show=False, priority=True),
                Binding("f1", "keys", show=False, priority=True)]

    def __init__(self, services: KioskSession, *, clock: Clock = monotonic,
                 language_code: str | None = None, heartbeat: bool = True,
                 tick_s: float = 0.25, handle_signals: bool = True) -> None:
        super().__init__()
        self.services = services
        self.settings = services.settings
        self.kcfg = services.settings.kiosk
        self.clock = clock
        self.heartbeat_enabled = heartbeat
        self.tick_s = tick_s
        self.handle_signals = handle_signals
        self.purchase: Purchase | None = None
        self.readiness = Readiness(("starting",))
        self.started = False
        self.db_ok = True
        self.stopping = False
        self.high_contrast = False
        self.last_input = clock()
        self.last_sale: dict[str, Any] | None = None
        self.events_cache: list[EventInfo] = []
        self._taps: list[float] = []
        self._signals: list[int] = []
        self._old_hup: Any = None
        self._hung_up = False
        # The devices' stops (printer spooler, gateway): run_kiosk sets them, so a hang-up,
        # which leaves without Textual's shutdown, still stops them.
        self.stops: list[Callable[[], Any]] = []
        self._target: Screen | None = None
        self.tz: Any = None  # None: the machine's local time zone
        self.default_language = set_language(language_code
                                             or services.settings.terminal.language)

    # --- lifecycle ---------------------------------------------------------------------
    def on_mount(self) -> None:
        from kiosk.screens.attract import AttractScreen

        self.push_screen(AttractScreen())
        self.run_worker(self._start, thread=True, group="start", exit_on_error=False)
        self.set_interval(self.tick_s, self.tick)
        self.set_interval(1.0, self.poll_health)
        if self.heartbeat_enabled:
            self.set_interval(self.settings.terminal.heartbeat_s, self.beat)
        if self.handle_signals:
            self._install_signals()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, self._on_signal, signal.SIGTERM)
            self._signals.append(signal.SIGTERM)
        # SIGHUP: the terminal is gone. Not through the event loop: the loop may be stuck
        # for good in Textual's writer queue (a write to the dead terminal), and Textual's
        # own shutdown writes to it too (FIELD-NOTES, Textual). A plain handler runs in
        # the main thread whatever the loop is doing, and the exit leaves from a thread.
        with contextlib.suppress(ValueError):
            self._old_hup = signal.signal(signal.SIGHUP, self._on_hangup)

    def _on_hangup(self, signum: int, frame: Any) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        threading.Thread(target=self._leave_after_hangup, name="kiosk-hangup",
                         daemon=True).start()

    def _leave_after_hangup(self) -> None:
        """Release the holds, say so in the heartbeat, stop the devices and leave without
        a write to the terminal; a timer makes sure of the exit if any of it hangs."""
        deadline = threading.Timer(HANGUP_EXIT_S, _leave_now, args=(1,))
        deadline.daemon = True
        deadline.start()
        log.info("kiosk stopping: its terminal is gone", extra={"signal": "SIGHUP"})
        self.stopping = True
        purchase = self.purchase
        try:
            if self.services.ready and self.services.terminal_id is not None:
                if purchase is not None and purchase.hold is not None \
                        and purchase.sale is None:
                    self.services.release(uuid.uuid4(), purchase.hold.hold_id)
                self.services.release_all()
                self.services.heartbeat({"screen": "stopped", "stopped": "terminal gone"})
        except Exception:
            log.exception("releasing holds after the terminal hung up failed")
        for stop in reversed(self.stops):
            with contextlib.suppress(Exception):
                stop()
        with contextlib.suppress(Exception):
            self.services.release_name()
        _leave_now(0)

    def _on_signal(self, sig: int) -> None:
        log.info("kiosk stopping on signal", extra={"signal": int(sig)})
        self.run_worker(self.shutdown(f"signal {int(sig)}"), group="shutdown")

    def on_unmount(self) -> None:
        with contextlib.suppress(Exception):
            loop = asyncio.get_running_loop()
            for sig in self._signals:
                loop.remove_signal_handler(sig)
            if self._old_hup is not None:
                signal.signal(signal.SIGHUP, self._old_hup)

    def _start(self) -> None:
        try:
            self.services.start()
            self.services.warm_gateway()
        except Exception as exc:
            log.exception("kiosk start failed")
            self.call_from_thread(self._start_failed, exc)
            return
        try:
            events = self.services.events()
        except Exception:
            log.exception("event list failed")
            events = []
        self.call_from_thread(self._started, events)

    def _started(self, evs: list[EventInfo]) -> None:
        self.started = True
        self.db_ok = True
        self.events_cache = evs
        self.poll_health()
        for screen in self.screen_stack:
            fn = getattr(screen, "events_loaded", None)
            if fn is not None:
                fn(evs)
        if self.heartbeat_enabled:
            self.beat()

    def _start_failed(self, exc: BaseException) -> None:
        self.db_ok = False
        self.readiness = Readiness(("database",))
        self.show_out_of_service()
        # Try again later: the database may come back.
        self.set_timer(5.0, lambda: self.run_worker(self._start, thread=True, group="start",
                                                    exclusive=True, exit_on_error=False))

    async def shutdown(self, why: str) -> None:
        """Release this kiosk's holds, say so in the heartbeat, then exit."""
        if self.stopping:
            return
        self.stopping = True
        # A card being charged or tickets being printed finish first (bounded): stopping
        # half-way would leave the customer paid without tickets until the recovery runs.
        for group, limit in (("pay", PAY_GRACE_S), ("print", self.kcfg.print_wait_s + 5)):
            running = [w for w in self.workers if w.group == group and not w.is_finished]
            if running:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.workers.wait_for_complete(running), limit)
        purchase, self.purchase = self.purchase, None
        try:
            if purchase is not None and purchase.hold is not None and purchase.sale is None:
                await asyncio.to_thread(self.services.release, uuid.uuid4(),
                                        purchase.hold.hold_id)
            await asyncio.to_thread(self.services.release_all)
            state = {**self.terminal_state(), "screen": "stopped", "stopped": why}
            await asyncio.to_thread(self.services.heartbeat, state)
        except Exception:
            log.exception("releasing holds at shutdown failed")
        self.exit(0)

    # --- input and idleness ------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown
                      | events.MouseScrollUp):
            self.touch()
        await super().on_event(event)

    def touch(self) -> None:
        self.last_input = self.clock()

    def action_blocked(self) -> None:
        """The quit/suspend/palette keys: deliberately nothing."""

    def tick(self) -> None:
        """Everything time-driven, read from ``self.clock``."""
        from kiosk.screens.dialogs import StaffExitDialog, StillThereDialog

        if self.stopping:
            return
        now = self.clock()
        scr = self._top()
        if scr is None:
            return
        p = self.purchase
        if isinstance(scr, StillThereDialog):
            if now >= scr.deadline:
                self.cancel_purchase("idle")
            else:
                with contextlib.suppress(NoMatches):
                    scr.on_tick(now)
            return
        if isinstance(scr, StaffExitDialog):
            if now - self.last_input >= self.kcfg.idle_s:
                self.pop_screen()
            return
        busy = bool(getattr(scr, "busy", False))
        if p is not None and p.hold_deadline is not None and p.sale is None and not busy \
                and now >= p.hold_deadline:
            self.cancel_purchase("time_up")
            return
        if getattr(scr, "customer", False) and not busy and \
                now - self.last_input >= self.kcfg.idle_s:
            self.push_screen(StillThereDialog(now + self.kcfg.prompt_s))
            return
        fn = getattr(scr, "on_tick", None)
        if fn is not None:
            with contextlib.suppress(NoMatches):  # a screen still composing
                fn(now)

    def _top(self) -> Screen | None:
        """The screen on top, or None once the app is closing: a timer may still fire
        after the last screen was popped (seen under load at the end of a test)."""
        try:
            return self.screen
        except ScreenStackError:
            return None

    # --- health and heartbeat ----------------------------------------------------------
    def poll_health(self) -> None:
        from kiosk.screens.attract import AttractScreen
        from kiosk.screens.service import OutOfServiceScreen

        if not self.started or self.stopping:
            return
        try:
            self.readiness = self.services.readiness()
        except Exception:
            log.exception("readiness check failed")
            return
        # The screen being switched to, not the one still on display.
        scr = self._target if self._target is not None else self._top()
        if scr is None:
            return
        if not self.readiness.ok and isinstance(scr, AttractScreen):
            self.show_out_of_service()
        elif isinstance(scr, OutOfServiceScreen):
            if self.readiness.ok and self.db_ok:
                self.to_attract()
            else:
                scr.set_reasons(self.readiness.reasons)

    def terminal_state(self) -> dict[str, Any]:
        r = self.readiness
        scr = self.screen
        name = getattr(scr, "screen_name", type(scr).__name__)
        return {"kind": "kiosk", "screen": name, "printer": r.printer,
                "printer_text": self.services.printer_state(),
                "queue_depth": self.services.queue_depth(), "breaker": r.breaker,
                "out_of_service": list(r.reasons) or None, "last_sale": self.last_sale,
                "lang": language(), "high_contrast": self.high_contrast, "online": self.db_ok}

    def beat(self) -> None:
        if not self.started:
            return
        state = self.terminal_state()

        def job() -> None:
            try:
                self.services.heartbeat(state)
            except Exception:
                log.exception("heartbeat failed")
                self.call_from_thread(setattr, self, "db_ok", False)
                return
            self.call_from_thread(setattr, self, "db_ok", True)

        self.run_worker(job, thread=True, group="heartbeat", exclusive=True,
                        exit_on_error=False)

    # --- navigation --------------------------------------------------------------------
    def _clear_modals(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def go(self, screen: Screen) -> None:
        self._clear_modals()
        self.touch()
        self._target = screen
        self.switch_screen(screen)
        if self.heartbeat_enabled and self.started:
            self.call_after_refresh(self.beat)

    def to_attract(self, message: str | None = None) -> None:
        from kiosk.screens.attract import AttractScreen

        self.purchase = None
        if not self.readiness.ok and self.started:
            self.show_out_of_service()
            return
        self.go(AttractScreen(message))

    def _handle_exception(self, error: Exception) -> None:
        # A crash on the public floor: Textual's default prints a traceback with local
        # variables on the customer's screen (it once showed a staff PIN). Log it to the
        # file (a plain traceback: no locals), say "out of service" and exit non-zero, so
        # systemd restarts the kiosk.
        log.error("kiosk crashed: %s", type(error).__name__,
                  exc_info=(type(error), error, error.__traceback__))
        self._return_code = 1
        if self._exception is None:  # a test's pilot re-raises it
            self._exception = error
            self._exception_event.set()
        self.panic(OUT_OF_SERVICE)

    def show_out_of_service(self) -> None:
        from kiosk.screens.service import OutOfServiceScreen

        current = self._target if self._target is not None else self.screen
        if isinstance(current, OutOfServiceScreen):
            current.set_reasons(self.readiness.reasons)
            return
        self.go(OutOfServiceScreen(self.readiness.reasons))

    def release_hold_later(self, hold: HoldResult | None) -> None:
        if hold is None:
            return
        hold_id = hold.hold_id

        def job() -> None:
            try:
                self.services.release(uuid.uuid4(), hold_id)
            except Exception:
                # The hold expires by itself; the next start releases it too.
                log.exception("release after cancel failed")

        self.run_worker(job, thread=True, group="release", exit_on_error=False)

    def cancel_purchase(self, why: str = "cancel") -> None:
        """Cancel, idle timeout or hold run out: give the seats back, start over."""
        p = self.purchase
        self.purchase = None
        if p is not None and p.sale is None:
            self.release_hold_later(p.hold)
        log.info("purchase ended without sale", extra={"why": why})
        self.to_attract(t("time_up") if why in ("time_up",) else None)

    def start_purchase(self, ev: EventInfo) -> None:
        self.purchase = Purchase(ev)
        self.next_step("shows")

    def min_age(self) -> int | None:
        """The age the buyer confirms for the show being bought (None: no question): the
        event's own age gate when the back office set one (0: none), else the kiosk's."""
        p = self.purchase
        if p is not None and p.event.min_age is not None:
            return p.event.min_age or None
        return self.kcfg.min_age if self.kcfg.age_gate else None

    def steps(self) -> list[str]:
        out = ["shows"]
        if self.min_age() is not None:
            out.append("age")
        out.append("quantity")
        p = self.purchase
        if p is None or p.shape is None or p.shape.seated:
            out.append("seats")  # general admission has no seats to show
        if self.kcfg.self_exclusion:
            out.append("identify")
        out += ["summary", "payment"]
        return out

    def step_label(self, name: str) -> str:
        steps = self.steps()
        if name not in steps:
            return ""
        return t("step", n=steps.index(name) + 1, total=len(steps))

    def next_step(self, current: str) -> None:
        steps = self.steps()
        self.open_step(steps[steps.index(current) + 1])

    def prev_step(self, current: str) -> None:
        steps = self.steps()
        i = steps.index(current)
        if i == 0:
            self.cancel_purchase("back")
            return
        target = steps[i - 1]
        p = self.purchase
        if p is not None and steps.index(target) <= steps.index("quantity") and p.hold:
            # Going back before the seats were chosen gives them back.
            self.release_hold_later(p.hold)
            p.hold, p.hold_deadline, p.seat_labels = None, None, ()
        self.open_step(target)

    def open_step(self, name: str) -> None:
        from kiosk.screens import checkout, choose, seats

        factories: dict[str, Callable[[], Screen]] = {
            "shows": choose.ShowsScreen, "age": choose.AgeScreen,
            "quantity": choose.QuantityScreen, "seats": seats.SeatsScreen,
            "identify": checkout.IdentifyScreen, "summary": checkout.SummaryScreen,
            "payment": checkout.PaymentScreen,
        }
        self.go(factories[name]())

    def set_hold(self, hold: HoldResult) -> None:
        assert self.purchase is not None
        self.purchase.hold = hold
        # The event's own kiosk hold lifetime when set (core holds for that long too).
        ttl = self.purchase.event.kiosk_hold_s or self.settings.holds.kiosk_ttl_s
        self.purchase.hold_deadline = self.clock() + max(5.0, ttl - HOLD_MARGIN_S)

    # --- sale ----------------------------------------------------------------------------
    def sold(self, result: CheckoutResult) -> None:
        from kiosk.screens.checkout import PrintingScreen

        assert self.purchase is not None
        self.purchase.sale = result
        self.last_sale = {"order": result.order.number, "amount_minor": result.amount_minor,
                          "currency": result.currency, "tickets": len(result.ticket_serials)}
        self.go(PrintingScreen())
        self._start_printing(result)

    def _start_printing(self, result: CheckoutResult) -> None:
        """Send the tickets and wait for them to leave the printer (an app worker, not the
        screen's: a stop in the middle waits for it)."""
        svc, lang, wait_s = self.services, language(), self.kcfg.print_wait_s

        def job() -> None:
            try:
                ids = svc.print_tickets(result.order.order_id, lang)
                ok = svc.wait_printed(ids, wait_s)
            except Exception:
                log.exception("printing after the sale failed")
                ok = False
            if not ok:
                try:
                    svc.withdraw_print(result.order.order_id)
                except Exception:
                    log.exception("could not withdraw the unprinted tickets")
            self.call_from_thread(self._printed, ok)

        self.run_worker(job, thread=True, group="print", exclusive=True, exit_on_error=False)

    def _printed(self, ok: bool) -> None:
        from kiosk.screens.checkout import CollectScreen, ThanksScreen

        if self.purchase is None or self.stopping:
            return
        self.go(ThanksScreen() if ok else CollectScreen())

    # --- staff exit and options --------------------------------------------------------
    def action_keys(self) -> None:
        """F1: the kiosk's keys (kiosk/screens/keys.py) over any step; F1 again closes
        them."""
        from kiosk.screens.dialogs import StaffExitDialog
        from kiosk.screens.keys import KeysDialog

        if isinstance(self.screen, KeysDialog):
            self.screen.dismiss(None)
        elif not isinstance(self.screen, StaffExitDialog):
            self.push_screen(KeysDialog())

    def action_staff(self) -> None:
        from kiosk.screens.dialogs import StaffExitDialog

        if not isinstance(self.screen, StaffExitDialog):
            self.push_screen(StaffExitDialog())

    def corner_tap(self) -> None:
        now = self.clock()
        self._taps = [x for x in self._taps if now - x <= STAFF_TAP_WINDOW_S] + [now]
        if len(self._taps) >= STAFF_TAPS:
            self._taps = []
            self.action_staff()

    def set_high_contrast(self, on: bool) -> None:
        self.high_contrast = on
        self.set_class(on, "-hc")

    def choose_language(self, lang: str) -> None:
        set_language(lang)
        for screen in self.screen_stack:
            fn = getattr(screen, "retranslate", None)
            if fn is not None:
                fn()

    # --- what CoreCalls (boxoffice_tui.widgets) expects of its app ------------------------
    def core_ok(self) -> None:
        self.db_ok = True

    def core_failed(self, exc: BaseException, failed: Callable[[BaseException], Any] | None,
                    quiet: bool) -> None:
        if failed is not None:
            failed(exc)
        elif not quiet:
            self.show_error(exc)

    def show_error(self, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else error_message(exc)
        self.notify(t("error", message=text), severity="error", timeout=8)


# --- entry point ---------------------------------------------------------------------------


def _leave_now(code: int) -> None:
    """Exit the process at once: no atexit, no Textual shutdown (it would write to the
    terminal that is gone and block), the log flushed first."""
    with contextlib.suppress(Exception):
        logging.shutdown()
    os._exit(code)


def run_kiosk(settings: Settings) -> int:
    """``boxoffice kiosk``: logs to a file, the spooler and gateway started in a worker
    while the attract screen draws; holds released on the way out whatever the reason."""
    from terminal.bootstrap import kiosk_session, stop_all

    svc, stops = kiosk_session(settings)
    app = KioskApp(svc)
    app.stops = stops
    try:
        app.run()
    finally:
        with contextlib.suppress(Exception):
            if svc.ready and svc.terminal_id is not None:
                svc.release_all()
        stop_all(stops)
    # Non-zero after a crash: systemd restarts the kiosk (Restart=always).
    return app.return_code or 0
