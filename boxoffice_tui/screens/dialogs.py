"""Small dialogs: supervisor approval on this terminal, a text report, the blind count."""

from __future__ import annotations

import uuid
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, Select, Static

from boxoffice_tui.base import BaseModal, error_text
from boxoffice_tui.i18n import language, t
from core.actors import OperatorInfo
from core.money import format_minor, parse_minor

REASONS = (
    ("customer_request", "Customer request", "Pedido do cliente"),
    ("event_changed", "Event changed or canceled", "Evento alterado ou cancelado"),
    ("wrong_sale", "Sold by mistake", "Venda errada"),
    ("duplicate", "Duplicate charge", "Cobrança duplicada"),
    ("damaged_ticket", "Ticket damaged or lost", "Ingresso danificado ou perdido"),
)


class SupervisorDialog(BaseModal):
    """A supervisor signs on this terminal; dismisses with (OperatorInfo, reason code)."""

    BINDINGS = [Binding("enter", "approve", "approve", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self, what: str, with_reason: bool = True) -> None:
        super().__init__()
        self.what = what
        self.with_reason = with_reason

    def compose(self) -> ComposeResult:
        pt = language() == "pt-BR"
        with Vertical(classes="dialog", id="approval-box"):
            yield Label(f"{t('approval')}: {self.what}", classes="title")
            if self.with_reason:
                yield Label(t("reason"))
                yield Select([(pt_ if pt else en, code) for code, en, pt_ in REASONS],
                             value=REASONS[0][0], allow_blank=False, id="reason")
            yield Label(t("supervisor"))
            yield Input(id="sup-login", placeholder="carla")
            yield Label(t("pin"))
            yield Input(id="sup-pin", password=True, restrict=r"[0-9]*", max_length=12)
            yield Static("", id="approval-error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#sup-login", Input).focus()

    def action_approve(self) -> None:
        login = self.query_one("#sup-login", Input)
        pin = self.query_one("#sup-pin", Input)
        if self.focused is login and not pin.value:
            pin.focus()
            return
        if not login.value or not pin.value:
            return
        reason = str(self.query_one("#reason", Select).value) if self.with_reason else ""
        self.call_core(self.bo.services.verify_supervisor, login.value, pin.value,
                       done=lambda op: self.dismiss((op, reason)), failed=self._failed,
                       group="approve", exclusive=True)

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#approval-error", Static).update(error_text(exc))
        self.query_one("#sup-pin", Input).value = ""


class ReportDialog(BaseModal):
    BINDINGS = [Binding("escape,enter", "cancel", "back")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="report-box"):
            yield Label(self.title_text, classes="title")
            with VerticalScroll():
                yield Static(self.body, id="report-body")
        yield Footer()


def report_text(report: dict[str, Any], currency: str, lang: str) -> str:
    """A shift report as aligned lines; *_minor values are shown as money."""
    lines = []
    for k, v in report.items():
        if isinstance(v, dict):
            lines.append(f"{k}:")
            for k2, v2 in v.items():
                val = format_minor(v2, currency, lang) if isinstance(v2, int) and \
                    (k.endswith("_minor") or k2.endswith("_minor") or k.startswith("by_")) \
                    else str(v2)
                lines.append(f"  {k2:<22}{val:>16}")
            continue
        if isinstance(v, int) and k.endswith("_minor"):
            v = format_minor(v, currency, lang)
            k = k[: -len("_minor")]
        lines.append(f"{k:<24}{v!s:>16}")
    return "\n".join(lines)


class CloseShiftDialog(BaseModal):
    """Blind count: the cashier types what is in the drawer without seeing what is
    expected; the variance is shown only after the close."""

    BINDINGS = [Binding("enter", "close", "close_shift", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self) -> None:
        super().__init__()
        self._key = uuid.uuid4()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="close-box"):
            yield Label(t("close_shift"), classes="title")
            yield Label(t("counted"))
            yield Input(id="counted", restrict=r"[0-9.,]*")
            yield Static("", id="close-error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#counted", Input).focus()

    def action_close(self) -> None:
        raw = self.query_one("#counted", Input).value
        try:
            counted = parse_minor(raw)
        except ValueError:
            self.query_one("#close-error", Static).update(f"{t('amount')}: {raw} ?")
            return
        self.dismiss((counted, self._key))


OperatorApproval = tuple[OperatorInfo, str]
