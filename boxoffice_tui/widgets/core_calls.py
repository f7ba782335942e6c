"""The worker helper every screen (cashier, monitor, kiosk) uses to call its terminal
session: ``self.call_core(fn, *args, done=...)`` runs ``fn`` in a thread worker; the
result goes to ``done`` on the UI thread, a ``BoxOfficeError`` becomes a clear message,
anything else is logged with its traceback and shown as a short line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, cast

from textual.worker import Worker

from core.errors import BoxOfficeError

log = logging.getLogger("boxoffice_tui")


class CoreApp(Protocol):
    """What ``CoreCalls`` needs of its app: the UI-thread hop and where outcomes go."""

    def call_from_thread(self, callback: Callable[..., Any], *args: Any,
                         **kwargs: Any) -> Any: ...

    def core_ok(self) -> None: ...

    def core_failed(self, exc: BaseException, failed: Callable[[BaseException], Any] | None,
                    quiet: bool) -> None: ...


class CoreCalls:
    """Mixin for screens (with Textual's ``Screen`` or ``ModalScreen``)."""

    def call_core(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], Any] | None
                  = None, failed: Callable[[BaseException], Any] | None = None,
                  group: str = "core", exclusive: bool = False, quiet: bool = False,
                  **kwargs: Any) -> Worker:
        app = cast(CoreApp, self.app)  # type: ignore[attr-defined]

        def job() -> None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # shown, never a traceback on screen
                if not isinstance(exc, BoxOfficeError):
                    log.exception("core call %s failed", getattr(fn, "__name__", fn))
                app.call_from_thread(app.core_failed, exc, failed, quiet)
                return
            app.call_from_thread(app.core_ok)
            if done is not None:
                app.call_from_thread(done, result)

        return self.run_worker(job, thread=True, group=group,  # type: ignore[attr-defined]
                               exclusive=exclusive, exit_on_error=False)
