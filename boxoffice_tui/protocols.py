"""What a screen may ask of its app, typed.

Screens talk to Textual's ``App`` for Textual things (push a screen, notify, bell) and to
these protocols for ours: ``ScreenHost`` is what both the cashier app and the monitor
give every screen, ``CounterHost`` what the counter's screens need besides (sign-in
done, open an event, the events cached for the palette and exchanges), ``MonitorHost``
the monitor's. ``boxoffice_tui.app`` checks that its apps implement them, so a screen
never reaches for a method only one app has."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.actors import OperatorInfo
    from core.reservation import EventInfo
    from terminal.counter import CounterSession
    from terminal.monitor import MonitorSession
    from terminal.results import BreakerView
    from terminal.session import TerminalSession


class ScreenHost(Protocol):
    """Shared by every app: language, clock, errors, connection and card state."""

    @property
    def services(self) -> TerminalSession: ...

    @property
    def lang(self) -> str: ...

    @property
    def breaker(self) -> BreakerView: ...

    @property
    def sync_state(self) -> dict[str, Any] | None: ...

    @property
    def selling_offline(self) -> bool: ...

    def now(self) -> datetime: ...

    def format_when(self, ts: datetime, tz: str | None = None) -> str: ...

    def show_error(self, exc: BaseException | str) -> None: ...


class CounterHost(ScreenHost, Protocol):
    """The cashier app, as its screens see it."""

    @property
    def services(self) -> CounterSession: ...

    @property
    def cached_events(self) -> list[EventInfo]: ...

    def signed_in(self, op: OperatorInfo) -> None: ...

    def open_event(self, ev: EventInfo) -> object: ...

    def order_refunded(self, order_id: str, amount: str) -> None: ...


class MonitorHost(ScreenHost, Protocol):
    """The supervisor's monitor, as its screens see it."""

    @property
    def services(self) -> MonitorSession: ...
