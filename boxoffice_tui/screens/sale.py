"""Selling one event: the seat map (or GA quantities), the cart with its hold countdown,
and the way to checkout. Seats sold elsewhere show up within a poll (0.5 s)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from boxoffice_tui.base import BaseScreen, error_text
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import language, t
from boxoffice_tui.widgets.legend import Entry, Legend
from boxoffice_tui.widgets.seat_feed import SeatFeed
from boxoffice_tui.widgets.seatmap import SYMBOLS, SeatMap, SeatRef, legend_text
from core.errors import BoxOfficeError
from core.money import format_minor
from terminal.results import ExchangeRequest, OfflineCart, SaleOutcome, SeatMapData

POLL_S = 0.5  # the fallback; with Redis, changes are pushed and the poll only confirms

if TYPE_CHECKING:
    from core.reservation import Availability, EventInfo, HoldResult, SectionInfo
    from terminal.counter import CounterSession


def stage_text(label: str) -> str:
    """The venue's stage label, unless it is just the word "stage" in some language: then
    the word in the cashier's language (PALCO read as such on an English screen)."""
    if label.strip().lower() in ("", "palco", "stage", "escenario", "escenário"):
        return t("stage").upper()
    return label


class SaleScreen(SeatFeed, BaseScreen):
    # Money keys first: at 80 columns the footer shows only the first few.
    BINDINGS = [
        Binding("f5", "cash", "cash"),
        Binding("f6", "card", "card"),
        Binding("enter", "hold", "hold"),
        # 1-9 (best N together) and + / - (one more, one less) share one footer place,
        # "1-9 +/- Qty": at 80 columns every key shows, in Portuguese too.
        Binding("1", "best(1)", "qty", key_display="1-9 +/-"),
        *[Binding(str(n), f"best({n})", "best", show=False) for n in range(2, 10)],
        Binding("plus,equals_sign", "more", "more", show=False),
        Binding("minus", "less", "less", show=False),
        Binding("t", "extend", "extend", key_display="T"),
        Binding("delete,x", "clear", "clear"),
        Binding("escape", "back", "back"),
        Binding("f3", "app.orders", "orders", show=False),
        # Help and the language switch work here too, but their footer places go to the
        # selling keys (every one of them shows at 80 columns); F1 lists them all.
        Binding("f1", "app.help", "help", show=False),
        Binding("ctrl+l", "app.language", "language", show=False),
    ]

    def __init__(self, event: EventInfo | None, exchange: ExchangeRequest | None = None,
                 prefetch: Future[SeatMapData] | None = None) -> None:
        """``event`` None composes an empty screen ahead of time (the app keeps one and
        shows each event on it with ``show_event``)."""
        super().__init__()
        self.event = event
        self._gen = 0  # which show_event a finished load belongs to
        self._styled_theme: str | None = None
        self._lang = language()
        self.exchange = exchange
        self.prefetch = prefetch
        self.data: SeatMapData | None = None
        self.hold: HoldResult | None = None
        self.extensions = 0
        self.clock_offset = timedelta(0)  # database clock minus local clock
        self.ga_section: SectionInfo | None = None
        self.ga_left = 0
        self.last_sale: SaleOutcome | None = None
        self.expired_shown = False
        self.polls = 0
        self.poll_s = POLL_S
        self.pushed = 0  # changes that arrived through the feed
        self.lease_seats: frozenset[int] = frozenset()  # this terminal's, unsold
        self.lease_ga_left = 0

    @property
    def svc(self) -> CounterSession:
        return self.counter

    @property
    def shown(self) -> EventInfo:
        """The event on show: set by the time anything about it is loaded or sold."""
        assert self.event is not None
        return self.event

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        with Horizontal(id="sale-body"):
            with Vertical(id="map-pane"):
                yield Static(self._title(), id="event-title")
                yield SeatMap(id="seatmap")
                yield Static("", id="ga-panel")
                yield Static("", id="seat-info")
                yield Legend(self._legend(), id="legend")
            with Vertical(id="cart-pane"):
                yield Static(t("cart"), id="cart-title", classes="title")
                yield Static(t("cart_empty"), id="cart-lines")
                yield Static("", id="cart-total")
                yield Static("", id="countdown")
                yield Static("", id="card-state")
                yield Static("", id="last-sale")
        # Compact: every selling key fits 80 columns in Portuguese too.
        yield QuickFooter(show_command_palette=False, compact=True)

    def _title(self) -> str:
        e = self.event
        if e is None:
            return ""
        # The show's name first and loud (the cashier checks it before selling), then the
        # time, then the room (what a narrow screen can lose).
        title = f"[b reverse] {e.name} [/] {self.bo.format_when(e.starts_at, e.timezone)}"
        if self.app.size.width >= 100:  # at 80 columns the room would be cut: leave it out
            title += f" · {e.venue}"
        if self.exchange is not None:
            title = f"[reverse] {t('exchange')} #{self.exchange.order_number} [/] " + title
        return title

    def _legend(self) -> list[Entry]:
        kinds = legend_text()
        if self.lease_seats or self.bo.selling_offline:
            kinds += [(SYMBOLS[k][0], k) for k in ("lease_mine", "leased")]
        return [(sym, SYMBOLS[kind][1], t("lg_" + kind)) for sym, kind in kinds]

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ga-panel").display = False
        self.query_one(SeatMap).focus()
        if self.event is not None:
            self._start_load()
        else:
            # Composed ahead of time: lay it out at the terminal's size now too, as
            # Textual does for screens under the top one, so showing it needs no reflow
            # (its styles were just computed, so no restyle either).
            self._styled_theme = self.app.theme
            self.call_after_refresh(lambda: self._refresh_layout(self.app.size))
        self.set_interval(self.poll_s, self.poll)
        self.set_interval(1.0, self.tick)
        self.refresh_card_state()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles every widget of a screen it shows again (35-50 ms here under
        # load). This screen is kept and shown once per event: its styles only go stale
        # when the theme changes (focus and class changes restyle their own widgets).
        theme = self.app.theme
        if self._styled_theme == theme:
            event.refresh_styles = False
        self._styled_theme = theme

    def _start_load(self) -> None:
        pre = self.prefetch
        fetch = pre.result if pre is not None else partial(self.svc.seat_map, self.shown.id)
        gen = self._gen

        def done(data: SeatMapData) -> None:
            if gen == self._gen:  # not a load for an event this screen showed before
                self._loaded(data)

        self.call_core(fetch, done=done, group="load")

    def show_event(self, event: EventInfo, prefetch: Future[SeatMapData] | None) -> None:
        """Show another event on this already composed screen (the app keeps one):
        composing and styling a new screen was most of the time a seat map took to open.
        Everything that belonged to the previous event is reset first."""
        self._gen += 1
        self.unsubscribe_feed()
        self.event, self.exchange, self.prefetch = event, None, prefetch
        self.data = self.hold = self.ga_section = self.last_sale = None
        self.extensions = self.ga_left = self.polls = self.pushed = self.lease_ga_left = 0
        self.clock_offset = timedelta(0)
        self.expired_shown = False
        self.lease_seats = frozenset()
        if not self.is_mounted:
            return  # on_mount starts the load
        smap = self.query_one(SeatMap)
        smap.clear()
        smap.display = True
        self.query_one("#ga-panel").display = False
        self.query_one("#event-title", Static).update(self._title(), layout=False)
        self.query_one("#seat-info", Static).update("", layout=False)
        # Only what changed: every update of an auto-sized text is a layout pass.
        last = self.query_one("#last-sale", Static)
        if str(last.render()):
            last.update("")
        for header in self.query(TerminalHeader):
            header.refresh_status()
        if self._lang != language():  # switched while this screen was hidden
            self.retranslate()
        else:
            self._render_cart()
        self.refresh_card_state()
        smap.focus()
        self._start_load()

    def retranslate(self) -> None:
        self._lang = language()
        super().retranslate()
        self.query_one("#legend", Legend).set_entries(self._legend())
        self.query_one("#cart-title", Static).update(t("cart"))
        self._render_cart()

    # --- loading and live updates ------------------------------------------------------
    def _loaded(self, data: SeatMapData) -> None:
        self.data = data
        if data.event is not None:
            self.event = data.event
        self._sync_clock(data.availability)
        self.subscribe_feed(self.svc.subscribe, self.shown.id)
        smap = self.query_one(SeatMap)
        if data.layout:
            smap.load(data.layout, data.availability, stage_text(data.stage))
            self._seat_info()
        else:
            smap.display = False
            self.query_one("#ga-panel").display = True
            self.ga_section = next((s for s in data.sections if s.kind == "ga"), None)
            self._update_ga(data.availability)
        self._render_cart()
        self._load_lease()

    # --- offline selling: this terminal's lease ---------------------------------------
    def sync_changed(self, state: dict[str, Any]) -> None:
        """Called by the app on every sync change (online/offline, a sale, a return)."""
        if self.data is not None:
            self._load_lease()

    def _load_lease(self) -> None:
        if self.bo.sync_state is None:
            return
        svc, ev = self.svc, self.shown.id
        sec = self.ga_section

        def job() -> tuple[frozenset[int], int]:
            return (svc.offline_lease_seats(ev),
                    svc.offline_ga_left(ev, sec.id) if sec is not None else 0)

        self.call_core(job, done=self._lease_loaded, group="lease", quiet=True)

    def _lease_loaded(self, got: tuple[frozenset[int], int]) -> None:
        self.lease_seats, self.lease_ga_left = got
        smap = self.query_one(SeatMap)
        if smap.display and smap.seat_count:
            smap.set_lease(self.lease_seats, self.bo.selling_offline)
        elif self.ga_section is not None and self.bo.selling_offline:
            self.query_one("#ga-panel", Static).update(
                f"[b]{t('ga_title')}: {self.ga_section.name}[/b]\n\n"
                f"◈ {t('lg_lease_mine')}: {t('ga_left', n=self.lease_ga_left)}\n\n"
                f"{t('ga_hint')}")
        self.query_one("#legend", Legend).set_entries(self._legend())
        self.refresh_card_state()

    def on_seat_map_refused(self, event: SeatMap.Refused) -> None:
        if self.bo.selling_offline:
            self.bo.show_error(BoxOfficeError("offline_not_in_lease"))

    def _offline_cart(self, seat_ids: list[int] | None = None, ga_qty: int = 0) -> None:
        sec = self.ga_section
        self.call_core(self.svc.offline_cart, self.shown.id, seat_ids,
                       sec.id if sec is not None and ga_qty else None, ga_qty,
                       done=self._held, failed=self._hold_failed, group="hold")

    def _sync_clock(self, avail: Availability) -> None:
        self.clock_offset = avail.as_of - self.bo.now()

    def poll(self) -> None:
        if self not in self.app.screen_stack:
            return  # a kept screen, hidden until the next event is opened
        # Offline, every read would wait for the dead link; the lease book is enough.
        if self.data is None or self.bo.selling_offline:
            return
        self.call_core(self.svc.availability, self.shown.id, done=self.apply_availability,
                       group="poll", exclusive=True, quiet=True)

    def apply_availability(self, avail: Availability) -> None:
        self.polls += 1
        self._sync_clock(avail)
        smap = self.query_one(SeatMap)
        if smap.display and smap.seat_count:
            if smap.apply(avail):
                self._seat_info()
            if self.hold is not None and self.hold.seat_ids and any(
                    avail.states[smap._index[s]] == "A" for s in self.hold.seat_ids
                    if s in smap._index):
                # The database says our hold lapsed (expired holds read as free).
                self._expired()
        else:
            self._update_ga(avail)

    def _update_ga(self, avail: Availability) -> None:
        sec = self.ga_section
        if sec is None:
            return
        ga = next((g for g in avail.ga if g.section_id == sec.id), None)
        self.ga_left = ga.available if ga else 0
        price = format_minor(sec.price_minor or 0, self.shown.currency, self.bo.lang)
        self.query_one("#ga-panel", Static).update(
            f"[b]{t('ga_title')}: {sec.name}[/b]\n{price}\n\n"
            f"{t('ga_left', n=self.ga_left)}\n\n{t('ga_hint')}")

    # --- cart ----------------------------------------------------------------------------
    def _render_cart(self) -> None:
        h = self.hold
        lines = self.query_one("#cart-lines", Static)
        total = self.query_one("#cart-total", Static)
        smap = self.query_one(SeatMap)
        if h is None:
            picked = smap.picked if smap.display else ()
            # Without a shift nothing can be paid: say so before a seat is picked.
            lines.update(t("picked", n=len(picked)) if picked else
                         t("no_shift_sale") if self.svc.shift is None else t("cart_empty"))
            lines.set_class(not picked and self.svc.shift is None, "error")
            total.update("")
            self.query_one("#countdown", Static).update("")
            return
        lines.set_class(False, "error")
        out = []
        for ln in h.lines:
            price = format_minor(ln.unit_price_minor * ln.qty, h.currency, self.bo.lang)
            if ln.seat_id is not None and smap.seat_count:
                label = smap.seat_ref(ln.seat_id).label
            else:
                label = f"{self.ga_section.code if self.ga_section else 'GA'} × {ln.qty}"
            out.append(f"{label:<13}{price:>13}")
        if smap.display and smap.picked:
            out.append(t("picked", n=len(smap.picked)))
        lines.update("\n".join(out))
        total.update(f"[b]{t('total')}: {format_minor(h.total_minor, h.currency, self.bo.lang)}"
                     "[/b]")
        self.tick()

    def remaining(self) -> int | None:
        if self.hold is None or isinstance(self.hold, OfflineCart):
            return None
        now_db = self.bo.now() + self.clock_offset
        return int((self.hold.expires_at - now_db).total_seconds())

    def tick(self) -> None:
        if self.hold is None and self not in self.app.screen_stack:
            return  # hidden and nothing counting down
        left = self.remaining()
        cd = self.query_one("#countdown", Static)
        if left is None:
            cd.update(t("offline_sale") if isinstance(self.hold, OfflineCart) else "")
            return
        if left <= 0:
            self._expired()
            return
        mm, ss = divmod(left, 60)
        cd.update(t("expires_in", mmss=f"{mm:02d}:{ss:02d}"))
        cd.set_class(left < 60, "warning")

    def _expired(self) -> None:
        self.hold = None
        self.extensions = 0
        self.query_one(SeatMap).set_mine(())
        self.query_one("#countdown", Static).update(t("hold_expired"))
        self.app.notify(t("hold_expired"), severity="warning")
        self.expired_shown = True
        self._render_cart()
        self.query_one("#countdown", Static).update(t("hold_expired"))
        self.poll()

    def _held(self, hold: HoldResult) -> None:
        self.hold = hold
        self.extensions = 0
        self.expired_shown = False
        smap = self.query_one(SeatMap)
        if smap.seat_count:
            smap.set_state(hold.seat_ids, "H")
            smap.set_mine(hold.seat_ids)
            smap.clear_picked()
            self._seat_info()
        self._render_cart()

    def order_refunded(self, order_id: str, amount: str) -> None:
        # The last sale shown here was refunded at the orders screen: it is no longer
        # "complete".
        sale = self.last_sale
        if sale is not None and sale.order_id == order_id and self.is_mounted:
            self.query_one("#last-sale", Static).update(
                t("sale_refunded", number=sale.order_number, amount=amount))

    def _hold_failed(self, exc: BaseException) -> None:
        self.bo.show_error(exc)
        self.poll()
        if isinstance(exc, BoxOfficeError) and exc.code == "offline_not_in_lease":
            self.query_one(SeatMap).clear_picked()
            self._render_cart()

    def on_seat_map_selection_changed(self, event: SeatMap.SelectionChanged) -> None:
        if event.lost:
            labels = ", ".join(self.query_one(SeatMap).seat_ref(s).label for s in event.lost)
            self.app.notify(BoxOfficeError("seat_unavailable", seat_ids=labels).message(
                self.bo.lang), severity="warning")
        self._render_cart()
        self._seat_info()  # the seat under the cursor is picked (or not) now

    def on_seat_map_cursor_moved(self, event: SeatMap.CursorMoved) -> None:
        self._seat_info(event.seat)

    def _seat_info(self, seat: SeatRef | None = None) -> None:
        smap = self.query_one(SeatMap)
        if seat is None and smap.cursor is not None and smap.seat_count:
            seat = smap.seat_ref(smap._seat_ids[smap.cursor])
        if seat is None or self.data is None:
            return
        sec = next((s for s in self.data.sections if s.id == seat.section_id), None)
        price = format_minor(sec.price_minor, self.shown.currency, self.bo.lang) \
            if sec and sec.price_minor is not None else ""
        kind = self.query_one(SeatMap).state_of(seat.seat_id)
        # One fixed line: no layout pass (a burst of remote changes redraws this too).
        self.query_one("#seat-info", Static).update(
            f"{seat.label}  {price}  {SYMBOLS[kind][0]} {t('lg_' + kind)}", layout=False)

    # --- actions -------------------------------------------------------------------------
    def _replace_hold(self, make: Callable[..., HoldResult], *args: object) -> None:
        """Release the current hold (if any) and take a new one, in one worker so the
        two steps cannot interleave with another key press."""
        old = self.hold
        svc = self.svc
        if isinstance(old, OfflineCart):
            old = None  # nothing to release: the lease is the hold

        def job() -> HoldResult:
            if old is not None:
                svc.release(uuid.uuid4(), old.hold_id)
            return make(uuid.uuid4(), self.shown.id, *args)

        if old is not None:
            self.hold = None
            self.query_one(SeatMap).set_mine(())
        self.call_core(job, done=self._held, failed=self._hold_failed, group="hold",
                       exclusive=False)

    def _no_shift(self) -> bool:
        """Refuse to hold when nothing could be paid (no open shift), before the seats
        are taken from other counters."""
        if self.svc.shift is None:
            self.app.bell()
            self.bo.show_error(t("no_shift_sale"))
            return True
        return False

    def action_hold(self) -> None:
        smap = self.query_one(SeatMap)
        if not smap.display or self._no_shift():
            return
        picked = set(smap.picked)
        if not picked:
            if smap.cursor is not None and self.hold is None:
                smap.action_toggle()
                picked = set(smap.picked)
            if not picked:
                return
        seats = sorted(picked | set(self.hold.seat_ids if self.hold else ()))
        if self.bo.selling_offline:
            self._offline_cart(seats)
            return
        self._replace_hold(self.svc.hold_seats, seats)

    def _quantity(self) -> int:
        return self.hold.quantity if self.hold else 0

    def _ask(self, n: int) -> None:
        if n <= 0:
            self.action_clear()
            return
        if self._no_shift():
            return
        if self.bo.selling_offline:  # first free seats of the lease, or GA places from it
            if self.query_one(SeatMap).display:
                seats = sorted(self.lease_seats)[:n]
                if len(seats) < n:
                    self.bo.show_error(BoxOfficeError("offline_not_in_lease"))
                    return
                self._offline_cart(seats)
            elif self.ga_section is not None:
                self._offline_cart(None, n)
            return
        if self.query_one(SeatMap).display:
            self._replace_hold(self.svc.hold_best, n)
        elif self.ga_section is not None:
            self._replace_hold(self.svc.hold_ga, self.ga_section.id, n)

    def action_best(self, n: int) -> None:
        self._ask(n)

    def action_more(self) -> None:
        self._ask(self._quantity() + 1)

    def action_less(self) -> None:
        self._ask(self._quantity() - 1)

    def action_extend(self) -> None:
        if self.hold is None or isinstance(self.hold, OfflineCart):
            return
        hold = self.hold

        def done(state: object) -> None:
            if self.hold is not None and self.hold.hold_id == hold.hold_id:
                self.hold = replace(hold, expires_at=state.expires_at)  # type: ignore
                self.extensions += 1
                self.app.notify(t("extended"))
                self.tick()

        self.call_core(self.svc.extend, uuid.uuid4(), hold.hold_id, done=done, group="hold")

    def action_clear(self) -> None:
        smap = self.query_one(SeatMap)
        smap.clear_picked()
        hold = self.hold
        if hold is None:
            self._render_cart()
            return
        self.hold = None
        smap.set_mine(())
        if isinstance(hold, OfflineCart):
            self._render_cart()
            return
        smap.set_state(hold.seat_ids, "A")
        self._render_cart()
        self.call_core(self.svc.release, uuid.uuid4(), hold.hold_id,
                       done=lambda _: self.app.notify(t("released")), group="hold")

    def action_back(self) -> None:
        self.unsubscribe_feed()
        if self.hold is not None and not isinstance(self.hold, OfflineCart):
            self.call_core(self.svc.release, uuid.uuid4(), self.hold.hold_id, group="hold",
                           quiet=True)
            self.hold = None
        self.dismiss()

    def refresh_card_state(self) -> None:
        br = self.bo.breaker
        txt = "" if br.card_allowed else t("card_unavailable", reason=br.reason or br.state)
        if self.bo.selling_offline:  # store-and-forward needs no gateway now
            txt = "◈ " + t("offline_lease_only")
        self.query_one("#card-state", Static).update(txt)

    def action_cash(self) -> None:
        if self.hold is None:
            self.app.bell()
            return
        from boxoffice_tui.screens.checkout import CashScreen

        self.app.push_screen(CashScreen(self.hold, exchange=self.exchange), self._paid)

    def action_card(self) -> None:
        if self.hold is None:
            self.app.bell()
            return
        br = self.bo.breaker
        if not br.card_allowed and not isinstance(self.hold, OfflineCart):
            self.bo.show_error(t("card_unavailable", reason=br.reason or br.state))
            return
        from boxoffice_tui.screens.checkout import CardScreen

        self.app.push_screen(CardScreen(self.hold, exchange=self.exchange), self._paid)

    def _paid(self, outcome: SaleOutcome | str | None) -> None:
        if outcome is None:
            return
        hold = self.hold
        self.hold = None
        smap = self.query_one(SeatMap)
        smap.set_mine(())
        if isinstance(outcome, str):
            if outcome == "declined" and not self.svc.release_on_decline() and hold:
                # The hold is kept for another card or cash.
                self.hold = hold
                smap.set_mine(hold.seat_ids)
                self._render_cart()
                return
            if hold is not None:  # the hold was lost (expired, or released by the saga)
                smap.set_state(hold.seat_ids, "A")
            self._render_cart()
            self.poll()
            return
        if hold is not None:
            smap.set_state(hold.seat_ids, "S")
        self.last_sale = outcome
        self._seat_info()
        total = format_minor(outcome.total_minor, outcome.currency, self.bo.lang)
        msg = t("sale_done", number=outcome.order_number, total=total)
        if outcome.refunded_minor:
            msg += " · " + t("refunded", number=self.exchange.order_number if self.exchange
                             else "", amount=format_minor(outcome.refunded_minor,
                                                          outcome.currency, self.bo.lang))
            self.exchange = None
            self.query_one("#event-title", Static).update(self._title())
        if outcome.change_minor:
            msg += f" · {t('change')} " + format_minor(outcome.change_minor, outcome.currency,
                                                        self.bo.lang)
        if outcome.offline:
            msg += " · " + t("offline_sale")
            if outcome.card_risk_minor:
                msg += " · " + t("card_saf_done", risk=format_minor(
                    outcome.card_risk_minor, outcome.currency, self.bo.lang))
            self._load_lease()
        self.query_one("#last-sale", Static).update(msg)
        self.app.notify(msg)
        if self.svc.printer_online() is False:
            self.app.notify(t("print_problem", state=outcome.print_state), severity="warning")
        self._render_cart()
        self.poll()


def _utcnow() -> datetime:
    return datetime.now(UTC)


__all__ = ["SaleScreen", "error_text"]
