"""The always-visible header: terminal, operator, shift, online state, printer, card, clock.

One line at any width: what does not fit is shortened in a fixed order (the least useful
first), never wrapped. Only the offline alarm adds a line under it, saying what still
works."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.widgets import Static

from boxoffice_tui.i18n import add_strings, label_for, language, t
from terminal.counter import CounterSession

if TYPE_CHECKING:
    from boxoffice_tui.app import BoxOfficeApp

add_strings({
    "hdr_card_open": ("card down", "cartão fora"),
    "hdr_card_half_open": ("card retry", "cartão testando"),
    "hdr_card_off": ("no card", "sem cartão"),
})

SEP, NARROW_SEP = " │ ", "│"


class Part:
    """One fact of the header (``name``) and its shorter forms; "" drops it."""

    def __init__(self, name: str, *forms: str) -> None:
        self.name = name
        self.forms = list(forms)
        self.i = 0

    @property
    def text(self) -> str:
        return self.forms[self.i]

    def shorten(self) -> None:
        self.i = min(self.i + 1, len(self.forms) - 1)


class TerminalHeader(Static):
    DEFAULT_CSS = """
    TerminalHeader { dock: top; height: 1; background: $primary-darken-2; color: $text;
                     padding: 0 1; }
    TerminalHeader.-offline { height: auto; background: $error; }
    """

    _clock = ""
    _width = 0

    def on_mount(self) -> None:
        self.refresh_status()
        # The clock shows minutes: look once a second, redraw when the minute changes.
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self.refresh_status()

    def _tick(self) -> None:
        app: BoxOfficeApp = self.app  # type: ignore[assignment]
        if app.clock_text() != self._clock:
            self.refresh_status()

    def refresh_status(self) -> None:
        app: BoxOfficeApp = self.app  # type: ignore[assignment]
        width = self.content_region.width or max(app.size.width - 2, 20)
        self._width = self.size.width
        self._clock = app.clock_text()
        line = fit(header_parts(app), self._clock, width)
        if not app.online:
            # The alarm's sentence wraps under the line (the line itself is exactly as
            # wide as the header, so it does not).
            line.no_wrap = False
            line.append("\n")
            line.append(t("db_lost" if app.sync_state is None else "offline_lease_only"),
                        "bold")
        self.set_class(not app.online, "-offline")
        self.update(line)


def header_parts(app: BoxOfficeApp) -> list[Part]:
    """The facts in the order they show, each with its shorter forms (see ``fit``)."""
    svc = app.services
    op = svc.operator
    parts = [Part("title", t(app.title_key), ""), Part("terminal", app.terminal_label)]
    if op is not None:
        parts.append(Part("operator", f"{op.display_name} ({label_for('role_', op.role)})",
                          op.display_name, op.login))
    else:
        # A served monitor's tab: who passed its sign-in gate (not an identity it acts as).
        gate = getattr(app, "gate_login", None)
        parts.append(Part("operator", gate or "—"))
    if isinstance(svc, CounterSession):  # the monitor has no shift
        shift = svc.shift
        sid = str(shift.shift_id) if shift is not None else ""
        parts.append(Part("shift", f"{t('shift')} {sid[:8]}", f"{t('shift')} {sid[:4]}")
                     if shift is not None else Part("shift", t("no_shift")))
    parts.append(Part("online", ("● " + t("online")) if app.online else ("✖ " + t("offline"))))
    # A printer or card problem right after the online state (what is cut at the end of a
    # line too long is the queue); a ready printer is the first thing to go.
    printer, ready = printer_text(app)
    if printer and not ready:
        parts.append(Part("problem", printer))
    if app.breaker.state not in ("unknown", "closed"):
        parts.append(Part("problem", label_for("hdr_card_", app.breaker.state)))
    if app.sync_state is not None:
        parts.append(Part("sync", *sync_forms(app.sync_state)))
    if printer and ready:
        parts.append(Part("printer", printer, ""))
    return parts


def printer_text(app: BoxOfficeApp) -> tuple[str, bool]:
    """The printer's state in words, and whether it is the plain "ready"."""
    spooler = getattr(app.services, "spooler", None)
    if spooler is None:
        return "", True
    try:
        st = spooler.state()
    except Exception:
        return "?", False
    return st.message(language()), st.online is not False and not st.waiting and not st.failed


# The order in which facts are shortened when the line is too long: a ready printer and
# the title first, then the longer forms of the queue, the operator and the shift, then
# narrower separators; what is still too long is cut with an ellipsis before the clock.
_ORDER = ("printer", "title", "sync", "operator", "sync", "shift", "operator", "sep")


def fit(parts: list[Part], clock: str, width: int) -> Text:
    """``parts`` joined on one line of ``width`` cells with the clock at its right end."""
    sep = SEP
    room = width - len(clock) - 1

    def line() -> str:
        return sep.join(p.text for p in parts if p.text)

    for step in _ORDER:
        if Text(line()).cell_len <= room:
            break
        if step == "sep":
            sep = NARROW_SEP
        for p in parts:
            if p.name == step:
                p.shorten()
    text = Text(line(), no_wrap=True, overflow="ellipsis")
    if parts[0].name == "title" and parts[0].text:
        text.stylize("bold", 0, len(parts[0].text))
    text.truncate(max(room, 1), overflow="ellipsis")
    text.append(" " * max(width - text.cell_len - len(clock), 1))
    text.append(clock, "bold")
    return text


def sync_forms(sync: dict[str, Any]) -> tuple[str, str, str]:
    """The offline selling state three ways: queue with the age of the oldest unsent
    sale, leased places and flagged sales; without the age; queue and lease only."""
    n = sync.get("queue_depth", 0)
    oldest = sync.get("oldest_unsent_s")
    if sync.get("oldest_at") is not None:
        oldest = time.time() - sync["oldest_at"]
    leased = sum(int(x.get("remaining", 0)) for x in sync.get("leases", ())
                 if x.get("status") == "active")
    queue = t("queue_line", n=n)
    lease = t("leased_line", n=leased)
    flagged = (" · " + t("flagged_line", n=sync["flagged"])) if sync.get("flagged") else ""
    full = queue + (f" ({t('queue_oldest', s=int(oldest))})" if oldest is not None else "")
    return (f"{full} · {lease}{flagged}", f"{queue} · {lease}{flagged}",
            f"{queue} · {lease}")


def sync_text(sync: dict[str, Any]) -> str:
    """Queue depth, age of the oldest unsent sale, leased places (and flagged sales)."""
    return sync_forms(sync)[0]
