"""What every terminal session is built on: its core context (built on first use), its
registration as a terminal, the actor it acts as, and the devices the bootstrap gave it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from config import Settings
    from core.actors import Actor, Channel, OperatorInfo
    from core.app_context import CoreContext
    from core.presence import NameClaim
    from printing.spooler import Spooler

log = logging.getLogger("terminal")


class SessionBase:
    """``ctx`` may be a CoreContext or a function that builds one; the latter runs on
    first use (in a worker), so a face can draw before the database is reached."""

    kind: ClassVar[str] = "cashier"  # how the terminal registers (cashier | kiosk | monitor)
    channel: ClassVar[Channel] = "counter"

    def __init__(self, ctx: CoreContext | Callable[[], CoreContext], terminal_name: str,
                 settings: Settings | None = None) -> None:
        self._ctx: CoreContext | None = None
        self._factory: Callable[[], CoreContext] | None = None
        if callable(ctx) and not hasattr(ctx, "engine"):
            self._factory = ctx
        else:
            self._ctx = ctx  # type: ignore[assignment]
        if settings is None:
            if self._ctx is None:
                from config import load_settings

                settings = load_settings()
            else:
                settings = self._ctx.settings
        self.settings: Settings = settings
        self.terminal_name = terminal_name
        self.terminal_id: int | None = None
        self.operator: OperatorInfo | None = None
        # The printer spooler once the bootstrap started it (None: no printer here).
        self.spooler: Spooler | None = None
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        # True for the one session of a terminal process (the bootstrap sets it): its
        # name is claimed in the database for the process's life (core.presence).
        self.claim_name = False
        self.name_claim: NameClaim | None = None

    @property
    def ready(self) -> bool:
        return self._ctx is not None

    @property
    def ctx(self) -> CoreContext:
        if self._ctx is None:
            with self._lock:
                if self._ctx is None:
                    assert self._factory is not None
                    self._ctx = self._factory()
        return self._ctx

    # --- start ---------------------------------------------------------------------------
    def start(self) -> None:
        """Register the terminal (creates its audit chain) and finish interrupted sales."""
        with self._start_lock:  # sign-in, heartbeat and the warm-up may all arrive at once
            if self.terminal_id is not None:
                return
            self._register()
        self._recover()

    def _register(self) -> None:
        from core.actors import register_terminal

        if self.claim_name and self.name_claim is None:
            from core.presence import claim_terminal_name

            # Before registering: a second process must not touch the first one's row.
            self.name_claim = claim_terminal_name(self.ctx.engine, self.terminal_name)
        self.terminal_id = register_terminal(self.ctx.engine, self.terminal_name, self.kind)

    def release_name(self) -> None:
        """Free the terminal's name for another process (also freed when this one ends)."""
        claim, self.name_claim = self.name_claim, None
        if claim is not None:
            claim.release()

    def _recover(self) -> None:
        from core.sales import recover_stuck_sales

        try:  # its own sales only: the worker finishes the others' and pushes refunds
            recover_stuck_sales(self.ctx, terminal_id=self.terminal_id)
        except Exception:
            log.exception("stuck-sale recovery at start failed")

    def _prepare_signer(self) -> None:
        """Build the ticket signing key outside any transaction: built lazily inside the
        sale's transaction it registers the key in a second transaction that waits on the
        first one's audit-chain row lock until the statement timeout."""
        try:
            self.ctx.signer()
        except Exception:
            log.exception("ticket signing key not ready")

    @property
    def actor(self) -> Actor:
        from core.actors import Actor

        if self.terminal_id is None:
            self.start()
        assert self.terminal_id is not None
        op = self.operator
        return Actor(terminal_id=self.terminal_id, terminal_name=self.terminal_name,
                     operator_id=op.id if op else None, role=op.role if op else None,
                     channel=self.channel)

    def verify_supervisor(self, login: str, pin: str) -> OperatorInfo:
        from core.actors import authenticate, require_role

        op = authenticate(self.ctx.engine, login.strip(), pin.strip())
        require_role(op, "supervisor", "admin")
        return op

    def selling_offline(self) -> bool:
        """True while the terminal sells from its lease (only a counter can)."""
        return False
