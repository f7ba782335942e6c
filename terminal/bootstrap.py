"""The one place a process is assembled: every face (cashier, monitor, kiosk), the
headless worker and the CLI start here.

Order matters and is the same everywhere: settings, then logging to the JSON-lines file
(before any thread can log: a TUI owns the terminal) and the process language, then the
core context with its migrations check, then the devices (printer spooler, card gateway,
and on a counter the offline journal). Nothing is built at import time, and a face may
hand ``context_for`` to a session as a factory so its first screen draws before the
database is reached.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config import Settings
    from core.app_context import CoreContext
    from terminal.counter import CounterSession
    from terminal.kiosk import KioskSession
    from terminal.monitor import MonitorSession
    from terminal.session import TerminalSession

log = logging.getLogger("terminal")
Stop = Callable[[], Any]


def load_settings() -> Settings:
    from config import load_settings as load

    return load()


def prepare_process(settings: Settings) -> None:
    """Logs to the file (never stdout/stderr) and the language the process speaks. Every
    file the process creates from here on (logs, the sale journal, spool, previews) is
    its user's only: a terminal's files hold sales, customers and staff names."""
    from core.language import set_language
    from terminal.logsetup import configure

    os.umask(0o077)
    configure(Path(settings.log_file), settings.logging.level)
    set_language(settings.terminal.language)


def context_for(settings: Settings, *, migrate: bool = True,
                url: str | None = None) -> CoreContext:
    """The core context on the configured database, migrated to head unless ``migrate``
    is False (a command that must work offline, or one that migrates itself)."""
    from core.app_context import build_context
    from core.db import migrate as migrations

    ctx = build_context(settings, url=url)
    if migrate and not migrations.is_current(ctx.engine):
        migrations.upgrade(ctx.engine)
    return ctx


def terminal_context(settings: Settings, *, url: str | None = None) -> CoreContext:
    """A terminal's core context. Terminals never migrate (their database logins cannot,
    and a counter must not change the schema under the others): a schema behind or ahead
    of this program refuses the start with ``schema_behind`` / ``schema_ahead``, and the
    operator runs ``boxoffice db upgrade`` with the owner's URL."""
    from core.app_context import build_context
    from core.db import migrate as migrations

    ctx = build_context(settings, url=url)
    try:
        migrations.check_schema_current(ctx.engine)
    except BaseException:
        ctx.engine.dispose()
        raise
    return ctx


def start_peripherals(session: TerminalSession) -> list[Stop]:
    """Start the printer spooler and the card gateway (the one configured: none by
    default, the sandbox in-process only when asked for) and, on a counter, offline
    selling; returns the stop functions, last started first to stop. Each one that fails
    is logged and skipped: the terminal still opens (cash only, no printer) rather than
    not at all."""
    from printing.spooler import start_spooler
    from terminal.offline import OfflineSelling

    stops: list[Stop] = []
    try:
        spooler = start_spooler(session.ctx, session.settings)
        session.spooler = spooler
        stops.append(spooler.close)
    except Exception:
        log.exception("printer spooler did not start")
    from core.payments import card_payments_on

    if not card_payments_on(session.settings):
        # The default: no gateway configured, no card payments (never a fake gateway).
        log.warning("no card gateway configured (gateway.kind = none): cash only")
    else:
        try:
            gw = session.ctx.payment_gateway()
            stops.append(gw.close)
        except Exception:
            log.exception("card gateway not available; cash only")
    if isinstance(session, OfflineSelling):
        try:  # journal, connectivity watch, leases, background replay
            stops.append(session.start_sync())
        except Exception:
            log.exception("offline selling did not start")
    return stops


def stop_all(stops: Iterable[Stop]) -> None:
    for stop in reversed(list(stops)):
        with contextlib.suppress(Exception):
            stop()


def _source(settings: Settings, ctx: CoreContext | None) -> Any:
    return ctx if ctx is not None else partial(terminal_context, settings)


def counter_session(settings: Settings, ctx: CoreContext | None = None) -> CounterSession:
    """The cashier's session; without ``ctx`` the context is built on first use."""
    from terminal.counter import CounterSession

    prepare_process(settings)
    session = CounterSession(_source(settings, ctx), settings.terminal.name, settings=settings)
    session.claim_name = True  # one process per terminal name
    return session


def monitor_session(settings: Settings, ctx: CoreContext | None = None) -> MonitorSession:
    from terminal.monitor import MonitorSession

    prepare_process(settings)
    session = MonitorSession(_source(settings, ctx), f"{settings.terminal.name}-monitor",
                             settings=settings)
    session.claim_name = True
    return session


def kiosk_settings(settings: Settings) -> Settings:
    """The spooler registers the terminal by this kind when it counts printed copies."""
    if settings.terminal.kind == "kiosk":
        return settings
    # A name not given becomes the kiosk's default, never the cashier's (issue 13 item 11).
    return settings.model_copy(update={"terminal": settings.terminal.as_kind("kiosk")})


def kiosk_session(settings: Settings) -> tuple[KioskSession, list[Stop]]:
    """The kiosk's session, whose start (in the app's start worker) first starts the
    devices; the returned list fills with their stops."""
    from terminal.kiosk import KioskSession

    settings = kiosk_settings(settings)
    prepare_process(settings)
    session = KioskSession(partial(terminal_context, settings), settings.terminal.name,
                           settings=settings)
    session.claim_name = True
    stops: list[Stop] = []
    session.before_start = lambda: stops.extend(start_peripherals(session))
    return session, stops


def run_worker(settings: Settings, *, once: bool = False, interval_s: float = 2.0) -> int:
    """``boxoffice worker``: the background jobs, logging to the file."""
    from core.worker import run_worker as run
    from printing.eticket import install as install_etickets

    prepare_process(settings)
    install_etickets()  # the confirmation emails attach each ticket as a PNG
    return run(terminal_context(settings), once=once, interval_s=interval_s)
