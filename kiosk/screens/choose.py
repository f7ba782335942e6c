"""Choosing: the show, the age confirmation, the number of tickets."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Button, Static

from kiosk.i18n import t
from kiosk.screens.attract import on_sale
from kiosk.screens.base import FocusScroll, KioskScreen, money, when

if TYPE_CHECKING:
    from core.reservation import EventInfo, HoldResult
    from terminal.results import EventShape


class ShowsScreen(KioskScreen):
    screen_name = "shows"

    def title_text(self) -> str:
        return t("pick_show")

    def body(self) -> ComposeResult:
        with FocusScroll(id="shows"):
            evs = on_sale(self.kiosk.events_cache)
            if not evs:
                yield Static(t("no_shows"), classes="message")
            for i, ev in enumerate(evs):
                yield Button(self._label(ev), id=f"show-{i}", classes="show",
                             disabled=ev.available <= 0)

    def _label(self, ev: EventInfo) -> str:
        price = (t("from_price", price=money(ev.min_price_minor, ev.currency))
                 if ev.min_price_minor is not None else "")
        return (f"{ev.name}\n{when(ev.starts_at, self.kiosk.tz, ev.timezone)} · {ev.venue} · "
                f"{price} · {t('seats_left', n=ev.available)}")

    def on_mount(self) -> None:
        for b in self.query(".show"):
            if not b.disabled:
                b.focus()
                break
        # Fresher counts for the list (the cache is from the attract screen).
        self.call_core(self.kiosk.services.events, done=self._fresh, quiet=True,
                       group="events", exclusive=True)

    def _fresh(self, evs: list) -> None:
        old = on_sale(self.kiosk.events_cache)
        self.kiosk.events_cache = evs
        new = on_sale(evs)
        if [e.id for e in new] != [e.id for e in old]:
            self.refresh(recompose=True)
            return
        # Same shows: update the counts in place, never rebuild under a finger.
        for i, ev in enumerate(new):
            b = self.query_one(f"#show-{i}", Button)
            b.label = self._label(ev)
            b.disabled = ev.available <= 0

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id.startswith("show-"):
            evs = on_sale(self.kiosk.events_cache)
            ev = evs[int(button_id.removeprefix("show-"))]
            self.kiosk.start_purchase(ev)


class AgeScreen(KioskScreen):
    screen_name = "age"

    def title_text(self) -> str:
        return t("age_title", age=self.kiosk.min_age())

    def body(self) -> ComposeResult:
        age = self.kiosk.min_age()
        with FocusScroll(id="age"):
            yield Static(t("age_why"), classes="explain")
            yield Button(t("yes_age", age=age), id="age-yes", classes="primary big")
            yield Button(t("no_age"), id="age-no", classes="big")

    def on_mount(self) -> None:
        self.focus_id("#age-yes")

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id == "age-yes":
            self.purchase.age_ok = True
            self.kiosk.next_step(self.screen_name)
        elif button_id == "age-no":
            k = self.kiosk
            age = k.min_age()
            k.purchase = None
            k.to_attract(t("underage", age=age))


class QuantityScreen(KioskScreen):
    screen_name = "quantity"

    def title_text(self) -> str:
        return t("how_many")

    def body(self) -> ComposeResult:
        p = self.purchase
        most = max(1, min(self.kiosk.kcfg.max_tickets, p.event.available,
                          self.kiosk.settings.sales.max_seats_per_order))
        yield Static(p.event.name, classes="explain")
        with Grid(id="quantities"):
            for n in range(1, most + 1):
                yield Button(str(n), id=f"qty-{n}", classes="qty")
        yield Static("", id="status", classes="message")

    def on_mount(self) -> None:
        self.focus_id("#qty-1")

    def pressed(self, button_id: str, button: Button) -> None:
        if not button_id.startswith("qty-") or self.busy:
            return
        n = int(button_id.removeprefix("qty-"))
        p = self.purchase
        svc = self.kiosk.services
        key = uuid.uuid4()
        self.set_busy(True)
        self.query_one("#status", Static).update(t("finding"))

        def job() -> tuple[EventShape, HoldResult]:
            shape = p.shape or svc.event_shape(p.event.id)
            return shape, svc.hold_for(key, p.event.id, n, shape)

        self.call_core(job, done=lambda r: self._held(n, *r), failed=self._failed,
                       group="hold", exclusive=True)

    def _held(self, n: int, shape: EventShape, hold: HoldResult) -> None:
        k = self.kiosk
        if k.purchase is None or k.screen is not self:
            # Cancelled or timed out while the hold was being taken: give it back.
            k.release_hold_later(hold)
            return
        p = self.purchase
        p.shape, p.quantity = shape, n
        k.set_hold(hold)
        self.busy = False
        k.next_step(self.screen_name)

    def _failed(self, exc: BaseException) -> None:
        from kiosk.i18n import error_message

        self.set_busy(False)
        self.query_one("#status", Static).update(t("error", message=error_message(exc)))
