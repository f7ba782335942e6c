"""The supervisor monitor's session: the live snapshot and approving what waits on it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, ClassVar

from terminal.session import TerminalSession

if TYPE_CHECKING:
    from core.monitor import Snapshot
    from core.sales import ShiftClose
    from terminal.results import Approval


class MonitorSession(TerminalSession):
    kind: ClassVar[str] = "monitor"

    def monitor_snapshot(self) -> Snapshot:
        from core.monitor import snapshot

        stale = max(15.0, self.settings.terminal.heartbeat_s * 3)
        return snapshot(self.ctx.engine, stale, self.settings.sales.currency)

    def approve(self, approval_id: str, approval: Approval) -> ShiftClose:
        """Approve what waits on the monitor (a counted shift's variance)."""
        from core.errors import BoxOfficeError
        from core.sales import approve_variance

        pin = approval.supervisor()
        if pin is None:
            raise BoxOfficeError("not_authorized", role="supervisor")
        return approve_variance(self.ctx, self.actor, uuid.uuid4(), uuid.UUID(approval_id),
                                pin, approval.reason or "other")
