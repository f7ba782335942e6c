"""What every core service is handed: the context (settings, engine, seat-change
listeners, the lazily built signer and card gateway) and the seat change it publishes.

Only data types live here; ``core.app_context.build_context`` assembles a context from
settings. Keeping the two apart lets the listeners the builder installs (``core.live``,
``core.metrics``) import these types without importing their own builder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from config import Settings

if TYPE_CHECKING:
    from core.tickets.keys import TicketSigner

log = logging.getLogger(__name__)

_SIGNER_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class SeatChange:
    """Published after commit so caches and open seat maps can refresh."""

    event_id: int
    kind: str  # held | released | expired | sold | extended
    seat_ids: tuple[int, ...] = ()
    ga_section_id: int | None = None


@dataclass
class CoreContext:
    settings: Settings
    engine: Engine
    listeners: list[Callable[[SeatChange], Any]] = field(default_factory=list)
    _signer: TicketSigner | None = field(default=None, init=False, repr=False)
    # The card gateway (core.payments.PaymentGateway); built from settings on first use,
    # or given (tests, benchmark) to share one sandbox.
    gateway: Any = field(default=None, repr=False)

    def signer(self) -> TicketSigner:
        """This terminal's ticket signer (core.tickets.TicketSigner): the key pair is made
        on first use and its public key registered; cached afterwards."""
        if self._signer is None:
            with _SIGNER_LOCK:  # threads of one app must not build two signers at once
                if self._signer is None:
                    # Imported here: a context made by hand (tests, tools) still signs, and
                    # a process that never sells never loads the key machinery.
                    from core.tickets.keys import terminal_signer

                    self._signer = terminal_signer(self.settings, self.engine)
        return self._signer

    def payment_gateway(self) -> Any:
        """The card gateway (core.payments.PaymentGateway), built on first use."""
        if self.gateway is None:
            from core.payments import gateway_for

            gateway_for(self)
        return self.gateway

    def publish(self, change: SeatChange) -> None:
        for fn in list(self.listeners):
            try:
                fn(change)
            except Exception:  # a listener (cache, pub/sub) must never undo a committed sale
                log.exception("seat change listener failed")
