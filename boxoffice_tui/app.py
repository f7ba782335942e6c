"""The cashier app and the supervisor monitor, and the functions that run them.

``run_cashier(ctx)`` is what ``boxoffice`` and ``boxoffice demo`` open: it configures
file logging first (the TUI owns the terminal), starts what the demo needs (the preview
printer spooler, the sandbox gateway when no real one is configured) and stops them after.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from boxoffice_tui.base import error_text
from boxoffice_tui.commands import EventCommands, OrderCommands
from boxoffice_tui.i18n import language, set_language, t
from boxoffice_tui.services import BreakerView, Services
from core.actors import OperatorInfo
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.reservation import EventInfo

log = logging.getLogger("boxoffice_tui")
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BoxOfficeApp(App):
    CSS_PATH = "boxoffice.tcss"
    title_key = "app_title"
    BINDINGS = [Binding("f1", "help", "help", show=False),
                Binding("ctrl+l", "language", "language", show=False)]

    def __init__(self, services: Services, *, clock: Clock = _utcnow,
                 language_code: str | None = None, heartbeat: bool = True) -> None:
        super().__init__()
        self.services = services
        self.clock = clock
        self.online = True
        self.breaker = BreakerView("unknown")
        self.cached_events: list[EventInfo] = []
        self.heartbeat_enabled = heartbeat
        self.last_error: str | None = None
        set_language(language_code or services.ctx.settings.terminal.language)
        self.title = t(self.title_key)

    # --- shared helpers ----------------------------------------------------------------
    @property
    def lang(self) -> str:
        return language()

    def now(self) -> datetime:
        return self.clock()

    def format_when(self, ts: datetime) -> str:
        local = ts.astimezone()
        return local.strftime("%d/%m %H:%M") if self.lang == "pt-BR" else \
            local.strftime("%b %d %H:%M")

    def status_line(self) -> str:
        parts = []
        pr = self.services.printer_state()
        if pr not in ("none", ""):
            parts.append(f"🖶 {pr}")
        if self.breaker.state not in ("unknown", "closed"):
            parts.append(f"{t('card')}: {self.breaker.state}")
        return "  ".join(parts)

    def refresh_status(self) -> None:
        from boxoffice_tui.widgets.status import TerminalHeader

        for screen in self.screen_stack:
            for header in screen.query(TerminalHeader):
                header.refresh_status()

    def set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.refresh_status()

    def core_ok(self) -> None:
        self.set_online(True)

    def core_failed(self, exc: BaseException, failed: Callable[[BaseException], Any] | None,
                    quiet: bool) -> None:
        lost = isinstance(exc, BoxOfficeError) and exc.code == "database_unavailable"
        if lost:
            self.set_online(False)
        elif isinstance(exc, BoxOfficeError):
            self.set_online(True)
        if failed is not None:
            failed(exc)
        elif not (quiet and lost) and not (quiet and not isinstance(exc, BoxOfficeError)):
            self.show_error(exc)

    def show_error(self, exc: BaseException) -> None:
        self.last_error = error_text(exc)
        self.notify(self.last_error, severity="error", timeout=6)

    def on_mount(self) -> None:
        hb = self.services.ctx.settings.terminal.heartbeat_s
        if self.heartbeat_enabled:
            self.set_interval(hb, self.beat)
            self.call_after_refresh(self.beat)
        self.set_interval(1.0, self.poll_breaker)

    def terminal_state(self) -> dict[str, Any]:
        op = self.services.operator
        spooler = self.services.extras.get("spooler")
        return {"screen": type(self.screen).__name__, "operator": op.login if op else None,
                "shift": str(self.services.shift.shift_id) if self.services.shift else None,
                "online": True, "printer": self.services.printer_state(),
                "queue_depth": int(getattr(spooler, "pending", 0) or 0) if spooler else 0,
                "breaker": self.breaker.state, "lang": self.lang}

    def beat(self) -> None:
        state = self.terminal_state()

        def job() -> None:
            try:
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
        try:
            br = self.services.breaker()
        except Exception:
            log.exception("breaker state read failed")
            return
        if br != self.breaker:
            self.breaker = br
            self.refresh_status()
            for screen in self.screen_stack:
                fn = getattr(screen, "refresh_card_state", None)
                if fn is not None:
                    fn()

    # --- app-wide actions ------------------------------------------------------------------
    def action_help(self) -> None:
        from boxoffice_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_language(self) -> None:
        set_language("en" if self.lang == "pt-BR" else "pt-BR")
        self.title = t(self.title_key)
        for screen in self.screen_stack:
            fn = getattr(screen, "retranslate", None)
            if fn is not None:
                fn()
        self.refresh_bindings()
        self.refresh_status()


class CashierApp(BoxOfficeApp):
    COMMANDS = App.COMMANDS | {EventCommands, OrderCommands}

    def on_mount(self) -> None:
        super().on_mount()
        from boxoffice_tui.screens.signin import SignInScreen

        self.push_screen(SignInScreen())

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

    def _cache_events(self) -> None:
        def job() -> None:
            with contextlib.suppress(Exception):
                evs = self.services.events()
                self.call_from_thread(setattr, self, "cached_events", evs)

        self.run_worker(job, thread=True, group="cache-events", exit_on_error=False)

    def open_event(self, ev: EventInfo) -> None:
        from boxoffice_tui.screens.sale import SaleScreen

        if self.services.operator is None:
            return
        self.push_screen(SaleScreen(ev))

    def action_orders(self, query: str = "") -> None:
        from boxoffice_tui.screens.orders import OrdersScreen

        if self.services.operator is None or isinstance(self.screen, OrdersScreen):
            return
        self.push_screen(OrdersScreen(query))

    def action_x_report(self) -> None:
        from boxoffice_tui.screens.dialogs import ReportDialog, report_text

        cur = self.services.ctx.settings.sales.currency
        self.screen.call_core(  # type: ignore[attr-defined]
            self.services.x_report,
            done=lambda rep: self.push_screen(
                ReportDialog(t("x_report"), report_text(rep, cur, self.lang))),
            group="report")

    def action_close_shift(self) -> None:
        from boxoffice_tui.screens.dialogs import (
            CloseShiftDialog,
            ReportDialog,
            SupervisorDialog,
            report_text,
        )

        cur = self.services.ctx.settings.sales.currency
        svc = self.services

        def closed(rep: dict[str, Any]) -> None:
            self.push_screen(ReportDialog(t("close_shift"), report_text(rep, cur, self.lang)),
                             lambda _: self._after_close())

        def close(counted: int, key: Any, approver: OperatorInfo | None) -> None:
            def failed(exc: BaseException) -> None:
                if isinstance(exc, BoxOfficeError) and exc.code == "not_authorized" \
                        and approver is None:
                    self.push_screen(SupervisorDialog(t("variance"), with_reason=False),
                                     lambda res: res and close(counted, key, res[0]))
                else:
                    self.show_error(exc)

            self.screen.call_core(svc.close_shift, counted, key, approver,  # type: ignore
                                  done=closed, failed=failed, group="close")

        def counted(res: Any) -> None:
            if res:
                close(res[0], res[1], None)

        self.push_screen(CloseShiftDialog(), counted)

    def _after_close(self) -> None:
        from boxoffice_tui.screens.signin import SignInScreen

        self.services.sign_out()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(SignInScreen())


class MonitorApp(BoxOfficeApp):
    title_key = "monitor_title"

    def on_mount(self) -> None:
        super().on_mount()
        from boxoffice_tui.screens.monitor import MonitorScreen

        self.push_screen(MonitorScreen())


# --- entry points ------------------------------------------------------------------------


def _prepare(ctx: CoreContext, kind: str) -> Services:
    from boxoffice_tui.logsetup import configure

    settings = ctx.settings
    configure(Path(settings.log_file), settings.logging.level)
    return Services(ctx, settings.terminal.name if kind == "cashier"
                    else f"{settings.terminal.name}-monitor", kind=kind)


def start_peripherals(svc: Services) -> list[Callable[[], Any]]:
    """Start the printer spooler and, when no real gateway is configured, the sandbox
    gateway; returns the stop functions. Missing modules are simply skipped."""
    stops: list[Callable[[], Any]] = []
    settings = svc.ctx.settings
    try:
        from printing import spooler as spooler_mod  # type: ignore[import-not-found]

        start = getattr(spooler_mod, "start_spooler", None)
        if start is not None:
            sp = start(svc.ctx, settings)
            svc.extras["spooler"] = sp
            stops.append(getattr(sp, "stop", lambda: None))
    except ModuleNotFoundError:
        pass
    except Exception:
        log.exception("printer spooler did not start")
    if settings.gateway.kind == "sandbox" and not settings.gateway.base_url:
        try:
            from core.payments import sandbox  # type: ignore[attr-defined]

            start = getattr(sandbox, "start_background", None)
            if start is not None:
                server = start()
                svc.extras["sandbox"] = server
                stops.append(getattr(server, "stop", lambda: None))
        except (ModuleNotFoundError, ImportError):
            pass
        except Exception:
            log.exception("sandbox gateway did not start")
    return stops


def run_cashier(ctx: CoreContext) -> int:
    svc = _prepare(ctx, "cashier")
    stops = start_peripherals(svc)
    try:
        CashierApp(svc).run()
    finally:
        for stop in reversed(stops):
            with contextlib.suppress(Exception):
                stop()
    return 0


def run_monitor(ctx: CoreContext) -> int:
    svc = _prepare(ctx, "monitor")
    MonitorApp(svc).run()
    return 0
