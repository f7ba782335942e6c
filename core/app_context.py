"""Composition root: builds what core needs from settings. Nothing is built at import."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from config import Settings, load_settings

if TYPE_CHECKING:
    from core.tickets.keys import TicketSigner


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
                import logging

                logging.getLogger(__name__).exception("seat change listener failed")


def build_context(settings: Settings | None = None, *, url: str | None = None,
                  pool_size: int | None = None) -> CoreContext:
    from core.db.engine import build_engine

    settings = settings or load_settings()
    ctx = CoreContext(settings=settings,
                      engine=build_engine(settings, url=url, pool_size=pool_size))
    from core import metrics

    ctx.listeners.append(metrics.count_change)
    if settings.redis.url is not None:
        from core.live import install

        install(ctx)
    return ctx
