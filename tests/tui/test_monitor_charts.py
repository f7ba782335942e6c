"""The monitor's charts (``g``): sales per minute of a day against the same weekday a
week before, occupancy per event over time and the price path, read from a sales history
and price changes seeded with fixed timestamps, through a monitor session on its own
database login. Snapshots at 120x40 and 80x24; the monitor's panels are still there
when the charts close."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from boxoffice_tui.app import MonitorApp
from boxoffice_tui.screens.monitor_charts import ChartsScreen
from terminal.monitor import MonitorSession
from tests.terminal_fixtures import build_session
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.db
DAY = date(2026, 11, 24)  # a Tuesday; its week-before twin is 2026-11-17
FROZEN = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
AT = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
SIZES = [(120, 40), (80, 24)]


class FixedMonitor(MonitorSession):
    """The real charts of the seeded history, for a fixed day instead of today."""

    def chart_minute_sales(self, day: date | None = None) -> Any:
        return super().chart_minute_sales(day or DAY)

    def chart_occupancy(self, at: datetime | None = None) -> Any:
        return super().chart_occupancy(at or AT)


class ChartsMonitor(MonitorApp):
    clock_zone = "UTC"


def _venue_tz(ctx: Any) -> ZoneInfo:
    with ctx.engine.connect() as c:
        return ZoneInfo(c.execute(text("select timezone from venues group by timezone"
                                       " order by count(*) desc limit 1")).scalar_one())


# Sales of each day: (hour, minute, orders, event code), in the venue's time.
TODAY = [(h, m, 1 + (h + m) % 3, ("SINATRA", "COMEDIA-HOJE", "POKER-OPEN")[(h * 7 + m) % 3])
         for h in range(10, 19) for m in range(0, 60, 6)]
LAST_WEEK = [(h, m, 1 + (h * m) % 2, ("SINATRA", "COMEDIA-HOJE")[(h + m) % 2])
             for h in range(9, 23) for m in range(3, 60, 9)]
PRICES = [  # (minutes after 10:00 on DAY, section, old, new)
    (0, "ORQ", 25000, 27500), (95, "ORQ", 27500, 30000), (180, "ORQ", 30000, 28000),
    (40, "MEZ", 18000, 19800), (200, "MEZ", 19800, 21000)]


@pytest.fixture(scope="module")
def seeded(ctx: Any) -> dict[str, Any]:
    """The sales history and price changes of two Tuesdays, written by the owner with
    fixed timestamps (the history has no foreign keys: its rows stand alone)."""
    tz = _venue_tz(ctx)
    with ctx.engine.begin() as c:
        events = {r.code: r.id for r in c.execute(text("select id, code from events"))}
        sections = {r.event_id: r.section_id for r in c.execute(text(
            "select distinct on (pt.event_id) pt.event_id, pt.section_id from price_tiers pt"
            " order by pt.event_id, pt.section_id"))}
        for day, sales in ((DAY, TODAY), (DAY - timedelta(days=7), LAST_WEEK)):
            for h, m, n, code in sales:
                at = datetime(day.year, day.month, day.day, h, m, 30, tzinfo=tz)
                for _ in range(n):
                    c.execute(text(
                        "insert into sales_history (at, kind, order_id, line_id, event_id,"
                        " section_id, terminal_id, operator_id, tender, currency, units,"
                        " amount_minor) values (:at, 'sale', :o, 1, :e, :s, 1, null,"
                        " 'cash', 'BRL', 2, 50000)"),
                        {"at": at, "o": uuid.uuid4(), "e": events[code],
                         "s": sections[events[code]]})
        tiers = {r.code: r.id for r in c.execute(text(
            "select s.code, pt.id from price_tiers pt join sections s on s.id = pt.section_id"
            " where pt.event_id = :e"), {"e": events["SINATRA"]})}
        start = datetime(DAY.year, DAY.month, DAY.day, 10, 0, tzinfo=tz)
        for minutes, section, old, new in PRICES:
            c.execute(text("insert into price_changes (tier_id, old_minor, new_minor, reason,"
                           " at) values (:t, :o, :n, 'rule', :at)"),
                      {"t": tiers[section], "o": old, "n": new,
                       "at": start + timedelta(minutes=minutes)})
    return {"tz": tz, "events": events}


@pytest.fixture
def monitor(tctx: Any, seeded: Any) -> FixedMonitor:
    return build_session(FixedMonitor, tctx, "charts-monitor")


def _app(monitor: FixedMonitor, lang: str = "en") -> ChartsMonitor:
    return ChartsMonitor(monitor, clock=lambda: FROZEN, language_code=lang, heartbeat=False)


async def _charts(pilot: Any, tab: str = "sales") -> ChartsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MonitorScreen",
                   timeout=30)
    await pilot.press("g")
    await wait_for(pilot, lambda: isinstance(app.screen, ChartsScreen), timeout=30)
    screen = app.screen
    await pilot.press({"sales": "1", "occupancy": "2", "prices": "3"}[tab])
    await wait_for(pilot, lambda: tab in screen.loaded, timeout=30)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()
    return screen


def test_figures_are_the_seeded_history(monitor: FixedMonitor) -> None:
    sales = monitor.chart_minute_sales()
    assert sales.day == DAY and len(sales.today) == len(sales.last_week) == 1440
    assert sum(sales.today) == sum(n for *_, n, _ in TODAY)
    assert sum(sales.last_week) == sum(n for *_, n, _ in LAST_WEEK)
    h, m, n, _ = TODAY[0]
    assert sales.today[h * 60 + m] == n
    lines = {ln.code: ln for ln in monitor.chart_occupancy()}
    assert set(lines) == {"SINATRA", "COMEDIA-HOJE", "POKER-OPEN"}
    sold = 2 * sum(n for *_, n, code in TODAY + LAST_WEEK if code == "SINATRA")
    sin = lines["SINATRA"]
    assert sin.percent[-1] == round(100.0 * sold / sin.capacity, 1)
    assert list(sin.percent) == sorted(sin.percent)  # only sales: it only rises
    events = monitor.chart_priced_events()
    assert events[0].code == "SINATRA" and events[0].changes == len(PRICES)
    path = monitor.chart_price_path(events[0].id)
    assert [(p.section, p.new_minor) for p in path] == [
        (s, new) for _, s, _, new in sorted(PRICES)]


@pytest.mark.anyio
async def test_keys_switch_charts_and_the_monitor_is_kept(monitor: FixedMonitor) -> None:
    from textual.widgets import TabbedContent

    app = _app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _charts(pilot, "sales")
        assert "Sales per minute" in screen._chart("sales").chart_title
        summary = str(screen.query_one("#sum-sales").render())
        assert str(sum(n for *_, n, _ in TODAY)) in summary
        screen = await _charts_tab(pilot, screen, "occupancy")
        assert {s.label for s in screen._chart("occupancy").series} == {
            "SINATRA", "COMEDIA-HOJE", "POKER-OPEN"}
        screen = await _charts_tab(pilot, screen, "prices")
        assert "SINATRA" in screen._chart("prices").chart_title
        assert {s.label for s in screen._chart("prices").series} == {"ORQ", "MEZ"}
        assert len(screen.priced) > 1, screen.priced
        await pilot.press("right")  # the next priced event: no change yet
        await wait_for(pilot, lambda: "SINATRA" not in screen._chart("prices").chart_title)
        assert screen._chart("prices").series == ()
        await pilot.press("left")
        await wait_for(pilot, lambda: "SINATRA" in screen._chart("prices").chart_title)
        assert screen.query_one(TabbedContent).active == "prices"
        await pilot.press("ctrl+l")  # Português: the tabs and the chart at once
        await wait_for(pilot, lambda: "Preços" in screen._chart("prices").chart_title)
        assert str(screen.query_one(TabbedContent).get_tab("sales").label) == "Vendas/min"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MonitorScreen")
        for panel in ("#p-sales", "#p-occ", "#p-alerts", "#p-appr", "#p-term", "#p-holds"):
            assert app.screen.query_one(panel)


async def _charts_tab(pilot: Any, screen: ChartsScreen, tab: str) -> ChartsScreen:
    await pilot.press({"sales": "1", "occupancy": "2", "prices": "3"}[tab])
    await wait_for(pilot, lambda: tab in screen.loaded, timeout=30)
    return screen


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_sales_chart(snap_compare: Any, monitor: FixedMonitor, size: tuple[int, int]) -> None:
    assert snap_compare(_app(monitor), terminal_size=size,
                        run_before=lambda pilot: _charts(pilot, "sales"))


def test_occupancy_chart(snap_compare: Any, monitor: FixedMonitor) -> None:
    assert snap_compare(_app(monitor), terminal_size=(120, 40),
                        run_before=lambda pilot: _charts(pilot, "occupancy"))


def test_price_chart_in_portuguese(snap_compare: Any, monitor: FixedMonitor) -> None:
    assert snap_compare(_app(monitor, "pt-BR"), terminal_size=(80, 24),
                        run_before=lambda pilot: _charts(pilot, "prices"))
