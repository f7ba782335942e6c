"""The console's small dialogs: the supervisor's sign-in, a confirmation, a price by
hand, a GA capacity, a seat block's kind and reason. Each makes its idempotency key when
it opens, so confirming twice (or retrying after a lost answer) acts once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static

from boxoffice_tui.base import BaseModal, after_typed_keys, error_text
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.i18n import t
from boxoffice_tui.screens import console_strings  # noqa: F401  (registers the labels)
from core.money import format_minor, parse_minor

if TYPE_CHECKING:
    from core.actors import OperatorInfo
    from core.backoffice.events import TierRow
    from terminal.monitor import GaLine

BLOCK_KINDS = ("house", "press", "technical", "other")


class ConsoleSignIn(BaseModal):
    """Login and PIN of a supervisor; the database checks the PIN (and counts failures),
    a cashier is refused. Dismisses with the signed-in ``OperatorInfo``."""

    BINDINGS = [Binding("enter", "sign_in", "sign_in", priority=True),
                Binding("escape", "cancel", "cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="console-signin"):
            yield Label(t("console_sign_in"), classes="title")
            yield Label(t("supervisor"))
            # No real operator's login as the example (issue 15 item 5).
            yield Input(id="con-login", placeholder=t("sup_login_hint"))
            yield Label(t("pin"))
            yield Input(id="con-pin", password=True, restrict=r"[0-9]*", max_length=12)
            yield Static("", id="con-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#con-login", Input).focus()

    @after_typed_keys
    def action_sign_in(self) -> None:
        login = self.query_one("#con-login", Input)
        pin = self.query_one("#con-pin", Input)
        if self.focused is login and not pin.value:
            pin.focus()
            return
        if not login.value or not pin.value:
            return
        self.call_core(self.monitor.supervisor_sign_in, login.value, pin.value,
                       done=self._signed_in, failed=self._failed, group="console-sign-in",
                       exclusive=True)

    def _signed_in(self, op: OperatorInfo) -> None:
        self.dismiss(op)

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#con-error", Static).update(error_text(exc))
        pin = self.query_one("#con-pin", Input)
        pin.value = ""
        pin.focus()


class ConfirmDialog(BaseModal):
    """Enter confirms (dismisses with the key made when it opened), Esc cancels."""

    BINDINGS = [Binding("enter", "confirm", "confirm", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.key = uuid.uuid4()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-box"):
            yield Static(self.question, id="confirm-text")
        yield QuickFooter()

    def action_confirm(self) -> None:
        self.dismiss(self.key)


@dataclass(frozen=True, slots=True)
class PriceChange:
    key: uuid.UUID
    section: str
    price_minor: int
    reason: str


class PriceDialog(BaseModal):
    """A section's new price, within its floor and ceiling, and the reason."""

    BINDINGS = [Binding("enter", "submit", "confirm", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self, event: str, tiers: list[TierRow], currency: str) -> None:
        super().__init__()
        self.event = event
        self.tiers = {tr.section: tr for tr in tiers}
        self.currency = currency
        self.key = uuid.uuid4()

    def compose(self) -> ComposeResult:
        first = next(iter(self.tiers))
        with Vertical(classes="dialog", id="price-box"):
            yield Label(t("price_title", event=self.event), classes="title")
            yield Label(t("section"))
            yield Select([(f"{tr.section} · {tr.section_name}", tr.section)
                          for tr in self.tiers.values()], value=first, allow_blank=False,
                         id="price-section")
            yield Static(self._bounds(first), id="price-bounds")
            yield Label(t("new_price"))
            yield Input(id="price-value", restrict=r"[0-9.,]*")
            yield Label(t("reason"))
            yield Input(id="price-reason", max_length=120)
            yield Static("", id="price-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#price-value", Input).focus()

    def _money(self, minor: int) -> str:
        return format_minor(minor, self.currency, self.bo.lang)

    def _bounds(self, section: str) -> str:
        tr = self.tiers[section]
        return t("bounds", floor=self._money(tr.floor_minor),
                 ceiling=self._money(tr.ceiling_minor), current=self._money(tr.current_minor))

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in self.tiers:
            self.query_one("#price-bounds", Static).update(self._bounds(event.value))

    @after_typed_keys
    def action_submit(self) -> None:
        value = self.query_one("#price-value", Input)
        reason = self.query_one("#price-reason", Input)
        if self.focused is value and not reason.value:
            reason.focus()
            return
        error = self.query_one("#price-error", Static)
        try:
            price = parse_minor(value.value)
        except ValueError:
            error.update(f"{t('new_price')}: {value.value or '?'}")
            value.focus()
            return
        if not reason.value.strip():
            error.update(f"{t('reason')}?")
            reason.focus()
            return
        section = str(self.query_one("#price-section", Select).value)
        self.dismiss(PriceChange(self.key, section, price, reason.value.strip()))


class CapacityDialog(BaseModal):
    """A GA section's new capacity; never below what is held, sold and leased (core
    checks it again in the same statement that changes it)."""

    BINDINGS = [Binding("enter", "submit", "confirm", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self, event: str, lines: tuple[GaLine, ...]) -> None:
        super().__init__()
        self.event = event
        self.lines = {g.section: g for g in lines}
        self.key = uuid.uuid4()

    def compose(self) -> ComposeResult:
        first = next(iter(self.lines.values()))
        with Vertical(classes="dialog", id="capacity-box"):
            yield Label(t("capacity_title", event=self.event), classes="title")
            yield Select([(f"{g.section} · {g.name}", g.section) for g in self.lines.values()],
                         value=first.section, allow_blank=False, id="cap-section")
            yield Label(self._hint(first.section), id="cap-hint")
            yield Input(str(first.capacity), id="cap-value", restrict=r"[0-9]*",
                        max_length=7)
            yield Static("", id="cap-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#cap-value", Input).focus()

    def _hint(self, section: str) -> str:
        g = self.lines[section]
        return t("new_capacity", min=g.held + g.sold + g.leased)

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in self.lines:
            self.query_one("#cap-hint", Label).update(self._hint(event.value))
            self.query_one("#cap-value", Input).value = str(self.lines[event.value].capacity)

    @after_typed_keys
    def action_submit(self) -> None:
        raw = self.query_one("#cap-value", Input).value
        if not raw.isdigit():
            self.query_one("#cap-error", Static).update(f"{raw or '?'}")
            return
        section = str(self.query_one("#cap-section", Select).value)
        self.dismiss((self.key, section, int(raw)))


class BlockDialog(BaseModal):
    """The kind and reason of a block (or, with ``release``, which kind of blocked seats
    goes back on sale). Dismisses with (key, kind, reason); kind None means all."""

    BINDINGS = [Binding("enter", "submit", "confirm", priority=True),
                Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, *, release: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.release = release
        self.key = uuid.uuid4()

    def compose(self) -> ComposeResult:
        kinds = [(k, k) for k in BLOCK_KINDS]
        if self.release:
            kinds = [(t("all_kinds"), "*"), *kinds]
        with Vertical(classes="dialog", id="block-box"):
            yield Label(self.title_text, classes="title")
            yield Label(t("block_kind"))
            yield Select(kinds, value=kinds[0][1], allow_blank=False, id="block-kind")
            if not self.release:
                yield Label(t("reason"))
                yield Input(id="block-reason", max_length=200)
            yield Static("", id="block-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        if self.release:
            self.query_one("#block-kind", Select).focus()
        else:
            self.query_one("#block-reason", Input).focus()

    @after_typed_keys
    def action_submit(self) -> None:
        kind = str(self.query_one("#block-kind", Select).value)
        if self.release:
            self.dismiss((self.key, None if kind == "*" else kind, ""))
            return
        reason = self.query_one("#block-reason", Input).value.strip()
        if not reason:
            self.query_one("#block-error", Static).update(f"{t('reason')}?")
            return
        self.dismiss((self.key, kind, reason))
