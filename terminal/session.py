"""The terminal session every role shares: start, actor, supervisor check, the catalogue,
seat maps and holds, the card circuit, the printer's state and the heartbeat."""

from __future__ import annotations

from terminal.health import Health
from terminal.printer import PrinterStatus
from terminal.seats import SeatMaps


class TerminalSession(SeatMaps, Health, PrinterStatus):
    """Called from the faces' thread workers only: every method may block on the
    database, the gateway or the printer."""
