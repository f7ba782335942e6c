"""The counter (cashier) session: the shared terminal session plus sign-in, the drawer,
cash and card sales, orders, refunds, reprints and selling from leases offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from terminal.orders import Orders
from terminal.payments import CounterPayments
from terminal.session import TerminalSession

if TYPE_CHECKING:
    from core.actors import OperatorInfo


class CounterSession(CounterPayments, Orders, TerminalSession):
    kind: ClassVar[str] = "cashier"

    def _register(self) -> None:
        super()._register()
        self._prepare_signer()

    def sign_in(self, login: str, pin: str) -> OperatorInfo:
        from core.actors import authenticate

        if self.terminal_id is None:
            self.start()
        self.operator = authenticate(self.ctx.engine, login.strip(), pin.strip())
        self.shift = self.current_shift()
        return self.operator

    def sign_out(self) -> None:
        self.operator = None
        self.shift = None
