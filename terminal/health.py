"""How the terminal is doing: the card circuit as it sees it, and its heartbeat."""

from __future__ import annotations

from typing import Any

from terminal.base import SessionBase
from terminal.results import BreakerView


class Health(SessionBase):
    def breaker(self) -> BreakerView:
        """The card gateway's circuit as this terminal sees it. Only a gateway that was
        already built is asked (building one may start the sandbox server). ``off``: no
        gateway is configured, or a real one with no card reader to read the card, so no
        card is taken at all (the header and the monitor say "no card")."""
        from core.payments import card_payments_on
        from terminal.card_input import card_input

        if not card_payments_on(self.settings):
            return BreakerView("off", "no card gateway configured")
        if card_input(self).refusal is not None:
            return BreakerView("off", "no card reader installed")
        if self._ctx is None or self._ctx.gateway is None:
            return BreakerView("unknown", "")
        br = self._ctx.gateway.breaker
        state = str(br.state).lower()
        reason = ""
        if state == "open":
            wait = br.wait_in_open_s
            reason = "payment gateway failing" + (f"; retry in ≤{int(wait)} s" if wait else "")
        return BreakerView(state, reason)

    def heartbeat(self, state: dict[str, Any]) -> None:
        from core.heartbeat import beat

        if self.terminal_id is None:
            self.start()
        assert self.terminal_id is not None
        beat(self.ctx.engine, self.terminal_id, state, gateway=self.settings.gateway.kind)
