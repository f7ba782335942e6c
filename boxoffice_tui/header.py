"""The always-visible header: terminal, operator, shift, online state, printer, card."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.widgets import Static

from boxoffice_tui.i18n import label_for, t
from terminal.counter import CounterSession

if TYPE_CHECKING:
    from boxoffice_tui.app import BoxOfficeApp


class TerminalHeader(Static):
    DEFAULT_CSS = """
    TerminalHeader { dock: top; height: auto; background: $primary-darken-2; color: $text;
                     padding: 0 1; }
    TerminalHeader.-offline { background: $error; }
    """

    def on_mount(self) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        app: BoxOfficeApp = self.app  # type: ignore[assignment]
        svc = app.services
        op = svc.operator
        parts = [f"[b]{t(app.title_key)}[/b]", svc.terminal_name]
        parts.append(f"{op.display_name} ({label_for('role_', op.role)})" if op else "—")
        shift = svc.shift if isinstance(svc, CounterSession) else None
        parts.append(f"{t('shift')} {str(shift.shift_id)[:8]}" if shift else t("no_shift"))
        parts.append(("● " + t("online")) if app.online else ("✖ " + t("offline")))
        sync = app.sync_state
        if sync is not None:
            parts.append(sync_text(sync))
        status = app.status_line()
        if status:
            parts.append(status)
        text = " │ ".join(parts)
        if not app.online:
            text += "\n[b]" + t("db_lost" if sync is None else "offline_lease_only") + "[/b]"
        self.set_class(not app.online, "-offline")
        self.update(text)


def sync_text(sync: dict[str, Any]) -> str:
    """Queue depth, age of the oldest unsent sale, leased places (and flagged sales)."""
    out = t("queue_line", n=sync.get("queue_depth", 0))
    oldest = sync.get("oldest_unsent_s")
    if sync.get("oldest_at") is not None:
        oldest = time.time() - sync["oldest_at"]
    if oldest is not None:
        out += f" ({t('queue_oldest', s=int(oldest))})"
    leased = sum(int(x.get("remaining", 0)) for x in sync.get("leases", ())
                 if x.get("status") == "active")
    out += " · " + t("leased_line", n=leased)
    if sync.get("flagged"):
        out += " · " + t("flagged_line", n=sync["flagged"])
    return out
