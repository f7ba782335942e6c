"""Small dialogs: supervisor approval on this terminal, a text report, the blind count."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static

from boxoffice_tui.base import BaseModal, after_typed_keys, error_text
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.i18n import label_for, reason_text, status_text, t
from core.money import format_minor, parse_minor
from terminal.results import Approval

if TYPE_CHECKING:
    from core.sales import ShiftClose, ShiftReport

# Re-exported: the dialog dismisses with one, screens and the terminal session take it.
__all__ = ["Approval", "CloseShiftDialog", "ReportDialog", "SupervisorDialog", "close_text",
           "report_text", "shift_report_text"]


def _reasons(kind: str) -> tuple[str, ...]:
    # Imported when a dialog opens: core.sales loads SQLAlchemy, which the sign-in screen
    # must not wait for.
    from core.sales import approvals

    return approvals.REFUND_REASONS if kind == "refund" else approvals.VARIANCE_REASONS


class SupervisorDialog(BaseModal):
    """A supervisor signs on this terminal. Dismisses with an ``Approval`` (the PIN is
    checked here for immediate feedback and again by core, which records the approval)."""

    BINDINGS = [Binding("enter", "approve", "approve", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self, what: str, with_reason: bool = True, reasons: str = "refund",
                 need_pin: bool = True) -> None:
        super().__init__()
        self.what = what
        self.with_reason = with_reason
        self.need_pin = need_pin
        self.reasons = _reasons(reasons)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="approval-box"):
            # "Supervisor approval" only when one is asked for: a refund the cashier may
            # make alone is titled by what it does.
            title = f"{t('approval')}: {self.what}" if self.need_pin else self.what
            yield Label(title, classes="title", id="approval-title")
            if self.with_reason:
                yield Label(t("reason"))
                yield Select([(reason_text(code), code) for code in self.reasons],
                             value=self.reasons[0], allow_blank=False, id="reason")
            if self.need_pin:
                yield Label(t("supervisor"))
                yield Input(id="sup-login", placeholder=t("sup_login_hint"))
                yield Label(t("pin"))
                yield Input(id="sup-pin", password=True, restrict=r"[0-9]*", max_length=12)
            yield Static("", id="approval-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        if self.need_pin:
            self.query_one("#sup-login", Input).focus()
        else:
            self.query_one("#reason", Select).focus()

    @after_typed_keys
    def action_approve(self) -> None:
        if not self.need_pin:
            reason = str(self.query_one("#reason", Select).value)
            self.dismiss(Approval(None, reason, "", ""))
            return
        login = self.query_one("#sup-login", Input)
        pin = self.query_one("#sup-pin", Input)
        if self.focused is login and not pin.value:
            pin.focus()
            return
        if not login.value or not pin.value:
            return
        reason = str(self.query_one("#reason", Select).value) if self.with_reason else ""
        creds = (login.value, pin.value)
        self.call_core(self.bo.services.verify_supervisor, *creds,
                       done=lambda op: self.dismiss(Approval(op, reason, *creds)),
                       failed=self._failed,
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
        yield QuickFooter()


def report_text(report: ShiftReport | ShiftClose | Mapping[str, Any], currency: str, lang: str,
                indent: int = 0) -> str:
    """A report as aligned lines, its fields in order; ``*_minor`` values are shown as
    money, nested figures (totals by tender) indented under their name."""
    lines = []
    pad = "  " * indent
    for k, v in _items(report):
        if isinstance(v, Mapping) or is_dataclass(v):
            lines.append(f"{pad}{k}:")
            lines.append(report_text(cast(Any, v), currency, lang, indent + 1))
            continue
        if isinstance(v, int) and not isinstance(v, bool) and k.endswith("_minor"):
            v = format_minor(v, currency, lang)
            k = k[: -len("_minor")]
        if isinstance(v, datetime):
            v = v.astimezone().strftime("%d/%m %H:%M")
        lines.append(f"{pad}{k:<{26 - 2 * indent}}{v!s:>18}")
    return "\n".join(lines)


def _money(minor: int, currency: str, lang: str) -> str:
    return format_minor(minor, currency, lang)


def shift_report_text(rep: ShiftReport, lang: str, when: Callable[[datetime], str]) -> str:
    """The X (or Z) report as the cashier reads it: when the shift opened (local time),
    the float, then sales, refunds and net by tender, and the drawer's movements. The
    expected cash is not in it: the count at close is blind."""
    cur = rep.currency
    lines = [f"{t('rep_shift')} {str(rep.shift_id)[:8]}  ·  {status_text(rep.status)}",
             f"{t('rep_opened'):<22}{when(rep.opened_at):>34}"]
    if rep.closed_at is not None:
        lines.append(f"{t('rep_closed'):<22}{when(rep.closed_at):>34}")
    lines.append(f"{t('opening_float_short'):<22}{_money(rep.opening_float_minor, cur, lang):>34}")
    lines += ["", f"{'':<8}{t('rep_sales'):>16}{t('rep_refunds'):>16}{t('rep_net'):>16}"]
    tot = [0, 0, 0, 0]
    for tender, tt in sorted(rep.by_tender.items()):
        lines.append(f"{label_for('tender_', tender):<8}"
                     f"{tt.sales_count:>3} {_money(tt.sales_minor, cur, lang):>12}"
                     f"{tt.refunds_count:>3} {_money(tt.refunds_minor, cur, lang):>12}"
                     f"{_money(tt.sales_minor - tt.refunds_minor, cur, lang):>16}")
        tot = [tot[0] + tt.sales_count, tot[1] + tt.sales_minor,
               tot[2] + tt.refunds_count, tot[3] + tt.refunds_minor]
    if not rep.by_tender:
        lines.append(t("rep_no_sales"))
    lines.append(f"{t('total'):<8}{tot[0]:>3} {_money(tot[1], cur, lang):>12}"
                 f"{tot[2]:>3} {_money(tot[3], cur, lang):>12}"
                 f"{_money(tot[1] - tot[3], cur, lang):>16}")
    if rep.cash_by_kind:
        lines += ["", t("rep_drawer")]
        for kind, minor in sorted(rep.cash_by_kind.items()):
            lines.append(f"  {label_for('cash_', kind):<20}{_money(minor, cur, lang):>34}")
    return "\n".join(lines)


def close_text(res: ShiftClose, currency: str, lang: str) -> str:
    """After the count: only now the expected cash and the difference."""
    rows = [(t("counted_short"), res.counted_cash_minor),
            (t("expected_short"), res.expected_cash_minor),
            (t("variance"), res.variance_minor)]
    lines = [f"{label:<22}{_money(minor, currency, lang):>34}" for label, minor in rows]
    lines.append(f"{t('col_status'):<22}{status_text(res.status):>34}")
    return "\n".join(lines)


def _items(report: Any) -> list[tuple[str, Any]]:
    if isinstance(report, Mapping):
        return list(report.items())
    return [(f.name, getattr(report, f.name)) for f in fields(report)]


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
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#counted", Input).focus()

    @after_typed_keys
    def action_close(self) -> None:
        raw = self.query_one("#counted", Input).value
        try:
            counted = parse_minor(raw)
        except ValueError:
            self.query_one("#close-error", Static).update(f"{t('amount')}: {raw} ?")
            return
        self.dismiss((counted, self._key))
