"""The always-visible header: terminal, operator, shift, online state, printer, card."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from boxoffice_tui.i18n import t

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
        parts.append(f"{op.display_name} ({op.role})" if op else "—")
        shift = svc.shift
        parts.append(f"{t('shift')} {str(shift.shift_id)[:8]}" if shift else t("no_shift"))
        parts.append(("● " + t("online")) if app.online else ("✖ " + t("offline")))
        status = app.status_line()
        if status:
            parts.append(status)
        text = " │ ".join(parts)
        if not app.online:
            text += "\n[b]" + t("db_lost") + "[/b]"
        self.set_class(not app.online, "-offline")
        self.update(text)
