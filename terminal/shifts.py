"""The cashier's drawer: open a shift with a float, X report, blind close, and a
supervisor's approval when the count is off by more than the threshold."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from core.errors import BoxOfficeError
from terminal.base import SessionBase

if TYPE_CHECKING:
    from core.sales import ShiftClose, ShiftInfo, ShiftReport


class Shifts(SessionBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shift: ShiftInfo | None = None

    def current_shift(self) -> ShiftInfo | None:
        from core.sales import current_shift

        if self.operator is None:
            return self.shift
        return current_shift(self.ctx, self.actor)

    def open_shift(self, float_minor: int, key: uuid.UUID) -> ShiftInfo:
        from core.sales import open_shift

        self.shift = open_shift(self.ctx, self.actor, key, float_minor)
        return self.shift

    def _open(self) -> ShiftInfo:
        if self.shift is None:
            raise BoxOfficeError("no_shift")
        return self.shift

    def x_report(self) -> ShiftReport:
        from core.sales import x_report

        return x_report(self.ctx, self._open().shift_id)

    def close_shift(self, counted_minor: int, key: uuid.UUID) -> ShiftClose:
        """Blind count. The result's status is ``pending_approval`` when the variance is
        over the threshold; then ``approve_variance`` closes it with a supervisor's PIN."""
        from core.sales import close_shift

        self._open()
        result = close_shift(self.ctx, self.actor, key, counted_minor)
        if result.status == "closed":
            self.shift = None
        return result

    def approve_variance(self, key: uuid.UUID, shift_id: uuid.UUID, login: str, pin: str,
                         reason: str) -> ShiftClose:
        from core.sales import SupervisorPin, approve_variance

        result = approve_variance(self.ctx, self.actor, key, shift_id,
                                  SupervisorPin(login, pin), reason)
        if result.status == "closed":
            self.shift = None
        return result
