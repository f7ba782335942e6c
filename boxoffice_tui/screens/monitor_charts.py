"""The monitor's charts (``g`` on the monitor): sales per minute today against the same
weekday last week, occupancy of each event over time, and the price path of a
dynamically priced event. The figures come from the sales history through the monitor's
session (``MonitorSession.chart_*``); this screen only draws them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static, TabbedContent, TabPane, Tabs

from boxoffice_tui.base import BaseScreen
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import add_strings, language, t
from core.money import format_minor

if TYPE_CHECKING:
    from boxoffice_tui.widgets.chart import LineChart

# The chart widget (textual-plotext) is imported when the charts open, not with the
# monitor: the monitor's start does not wait for a plotting library.

REFRESH_S = 30.0
TABS = ("sales", "occupancy", "prices")

add_strings({
    "charts": ("Charts", "Gráficos"),
    "ch_sales": ("Sales/min", "Vendas/min"),
    "ch_occupancy": ("Occupancy", "Ocupação"),
    "ch_prices": ("Prices", "Preços"),
    "ch_event": ("Event", "Evento"),
    "ch_chart": ("Chart", "Gráfico"),
    "ch_sales_title": ("Sales per minute (10-minute average): {day} vs {last}",
                       "Vendas por minuto (média de 10 min): {day} x {last}"),
    "ch_today": ("today", "hoje"),
    "ch_last_week": ("last week", "semana passada"),
    "ch_sales_sum": ("{day}: {today} sales by {time} · {last}: {then} by then, {whole} all day",
                     "{day}: {today} vendas até {time} · {last}: {then} até então, "
                     "{whole} no dia"),
    "ch_occ_title": ("Occupancy over time (% sold)", "Ocupação ao longo do tempo (% vendido)"),
    "ch_no_sales": ("No sales yet.", "Nenhuma venda ainda."),
    "ch_price_title": ("Price path: {code} {name}", "Preços: {code} {name}"),
    "ch_no_priced": ("No dynamically priced event.", "Nenhum evento com preço dinâmico."),
    "ch_no_changes": ("{code}: no price change yet.", "{code}: nenhuma mudança de preço."),
    "ch_price_sum": ("{section} {first} → {now} ({n} changes)",
                     "{section} {first} → {now} ({n} mudanças)"),
    "ch_pick_event": ("←/→ another event", "←/→ outro evento"),
})


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _time_ticks(lo: float, hi: float, tz: str, n: int = 4) -> tuple[list[float], list[str]]:
    """``n`` + 1 evenly spaced ticks between two epoch times, labelled in ``tz``: hours
    and minutes within a day, else day and hour."""
    if hi <= lo:
        hi = lo + 3600
    fmt = "%H:%M" if hi - lo <= 86400 else "%d/%m %Hh"
    pos = [lo + (hi - lo) * i / n for i in range(n + 1)]
    zone = ZoneInfo(tz)
    return pos, [datetime.fromtimestamp(p, UTC).astimezone(zone).strftime(fmt) for p in pos]


def _per_minute(counts: Sequence[int], width: int = 10) -> tuple[list[float], list[float]]:
    """Sales per minute averaged over ``width``-minute steps, at each step's middle (in
    hours): a day's 1,440 minutes drawn one by one are a solid block on 100 columns."""
    xs: list[float] = []
    ys: list[float] = []
    for start in range(0, len(counts), width):
        chunk = counts[start:start + width]
        xs.append((start + len(chunk) / 2) / 60)
        ys.append(round(sum(chunk) / len(chunk), 2))
    return xs, ys


def _day(d: Any) -> str:
    return d.strftime("%d/%m")


def _steps(points: Sequence[Any], until: float) -> tuple[list[float], list[float]]:
    """A section's prices as a step line: the old price up to each change, then the new,
    held until ``until`` (the last change of any section)."""
    xs: list[float] = []
    ys: list[float] = []
    for p in points:
        at = p.at.timestamp()
        if not xs:
            xs.append(at)
            ys.append(p.old_minor / 100)
        else:
            xs.append(at)
            ys.append(ys[-1])
        xs.append(at)
        ys.append(p.new_minor / 100)
    if xs and xs[-1] < until:
        xs.append(until)
        ys.append(ys[-1])
    return xs, ys


class ChartsScreen(BaseScreen):
    AUTO_FOCUS = ""  # nothing here takes keys: they are the screen's
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('sales')", "ch_chart", key_display="1-3"),
        Binding("2", "tab('occupancy')", "ch_occupancy", show=False),
        Binding("3", "tab('prices')", "ch_prices", show=False),
        Binding("left", "event(-1)", "ch_event", key_display="←→"),
        Binding("right", "event(1)", "ch_event", show=False),
        Binding("r", "refresh", "refresh"),
        Binding("escape,g", "back", "back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.priced: list[Any] = []
        self.event_index = 0
        self.loaded: dict[str, Any] = {}  # tab -> the figures it last drew

    def compose(self) -> ComposeResult:
        from boxoffice_tui.widgets.chart import LineChart

        yield TerminalHeader()
        with TabbedContent(id="charts-tabs", initial="sales"):
            with TabPane(t("ch_sales"), id="sales"):
                yield LineChart(id="chart-sales")
                yield Static("", id="sum-sales", classes="chart-sum")
            with TabPane(t("ch_occupancy"), id="occupancy"):
                yield LineChart(id="chart-occupancy")
                yield Static("", id="sum-occupancy", classes="chart-sum")
            with TabPane(t("ch_prices"), id="prices"):
                yield LineChart(id="chart-prices")
                yield Static("", id="sum-prices", classes="chart-sum")
        yield QuickFooter()

    DEFAULT_CSS = """
    ChartsScreen TabPane { padding: 0 1; }
    ChartsScreen .chart-sum { height: auto; max-height: 3; color: $text-muted; }
    """

    def on_mount(self) -> None:
        super().on_mount()
        # 1, 2, 3 (or a click) change the chart; the arrows are the price path's events.
        tabs = self.query_one(Tabs)
        tabs.can_focus = False
        if self.focused is tabs:
            self.set_focus(None)
        self.action_refresh()
        self.set_interval(REFRESH_S, self.action_refresh)

    @property
    def tab(self) -> str:
        return str(self.query_one(TabbedContent).active or "sales")

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        if event.pane.id not in self.loaded:
            self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "event":  # only the price path has events to go through
            return (self.tab == "prices" and len(self.priced) > 1) or None
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_event(self, step: int) -> None:
        if self.priced:
            self.event_index = (self.event_index + step) % len(self.priced)
            self.action_refresh()

    def action_refresh(self) -> None:
        tab = self.tab
        m = self.monitor
        if tab == "sales":
            self.call_core(lambda: (m.chart_minute_sales(), m.chart_tz()), done=self.show_sales,
                           group="chart", exclusive=True, quiet=True)
        elif tab == "occupancy":
            self.call_core(lambda: (m.chart_occupancy(), m.chart_tz()),
                           done=self.show_occupancy, group="chart", exclusive=True,
                           quiet=True)
        else:
            def prices() -> tuple[list[Any], list[Any], str]:
                events = m.chart_priced_events()
                ev = events[self.event_index % len(events)] if events else None
                return events, m.chart_price_path(ev.id) if ev else [], m.chart_tz()

            self.call_core(prices, done=self.show_prices, group="chart", exclusive=True,
                           quiet=True)

    # --- drawing ---------------------------------------------------------------------
    def _chart(self, tab: str) -> LineChart:
        from boxoffice_tui.widgets.chart import LineChart

        return self.query_one(f"#chart-{tab}", LineChart)

    def show_sales(self, got: tuple[Any, str]) -> None:
        from boxoffice_tui.widgets.chart import Series

        data, _tz = got
        self.loaded["sales"] = data
        last_label = f"{t('ch_last_week')} ({_day(data.day - timedelta(days=7))})"
        today_label = f"{t('ch_today')} ({_day(data.day)})"
        chart = self._chart("sales")
        hours = list(range(0, 25, 3))
        chart.draw(
            t("ch_sales_title", day=_day(data.day), last=last_label),
            [Series(last_label, *_per_minute(data.last_week)),
             Series(today_label, *_per_minute(data.today))],
            xticks=(hours, [f"{h:02d}h" for h in hours]), xlim=(0, 24),
            empty_text=t("ch_no_sales"))
        upto = len(data.today)
        self.query_one("#sum-sales", Static).update(t(
            "ch_sales_sum", day=today_label, today=sum(data.today),
            time=_hhmm(max(0, upto - 1)) if upto < len(data.last_week) else "24:00",
            last=last_label, then=sum(data.last_week[:upto]), whole=sum(data.last_week)))

    def show_occupancy(self, got: tuple[list[Any], str]) -> None:
        from boxoffice_tui.widgets.chart import Series

        lines, tz = got
        self.loaded["occupancy"] = lines
        chart = self._chart("occupancy")
        stamps = [ts.timestamp() for ln in lines for ts in ln.at]
        series = [Series(ln.code, [ts.timestamp() for ts in ln.at], list(ln.percent))
                  for ln in lines]
        ticks = _time_ticks(min(stamps), max(stamps), tz) if stamps else None
        chart.draw(t("ch_occ_title"), series, xticks=ticks, ylim=(0, 100),
                   empty_text=t("ch_no_sales"))
        self.query_one("#sum-occupancy", Static).update("  ·  ".join(
            f"{ln.code} {ln.percent[-1]:.1f}%" for ln in lines))

    def show_prices(self, got: tuple[list[Any], list[Any], str]) -> None:
        from boxoffice_tui.widgets.chart import Series

        events, path, tz = got
        self.priced = events
        self.refresh_bindings()
        self.loaded["prices"] = path
        chart = self._chart("prices")
        if not events:
            chart.draw(t("ch_prices"), [], empty_text=t("ch_no_priced"))
            self.query_one("#sum-prices", Static).update("")
            return
        ev = events[self.event_index % len(events)]
        by_section: dict[str, list[Any]] = {}
        for p in path:
            by_section.setdefault(p.section, []).append(p)
        stamps = [p.at.timestamp() for p in path]
        series = [Series(section, *_steps(points, max(stamps)))
                  for section, points in by_section.items()]
        ticks = _time_ticks(min(stamps), max(stamps), tz) if stamps else None
        chart.draw(t("ch_price_title", code=ev.code, name=ev.name), series, xticks=ticks,
                   empty_text=t("ch_no_changes", code=ev.code))
        lang = language()
        parts = [t("ch_price_sum", section=section,
                   first=format_minor(points[0].old_minor, points[0].currency, lang),
                   now=format_minor(points[-1].new_minor, points[-1].currency, lang),
                   n=len(points))
                 for section, points in by_section.items()]
        if len(events) > 1:
            parts.append(t("ch_pick_event"))
        self.query_one("#sum-prices", Static).update("  ·  ".join(parts))

    def retranslate(self) -> None:
        super().retranslate()
        tabs = self.query_one(TabbedContent)
        for tab in TABS:
            tabs.get_tab(tab).label = t(f"ch_{tab}")
        self.loaded.clear()
        self.action_refresh()
