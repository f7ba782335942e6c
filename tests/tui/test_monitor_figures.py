"""Issue 15, monitor items 9-12, against the real database: alerts and approval titles
worded and money-formatted by the monitor from core's codes and figures, revenue as
gross, refunds and net, every column whole at 120 and 80 columns, "card ok / card down",
a cleanly stopped terminal says "stopped" without an alarm, and a one-shot command that
registered a row is not a terminal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from boxoffice_tui.app import MonitorApp
from boxoffice_tui.screens.dialogs import SupervisorDialog
from boxoffice_tui.screens.monitor import MonitorScreen
from boxoffice_tui.screens.monitor_text import amount
from core.actors import authenticate
from core.heartbeat import beat
from terminal.counter import CounterSession
from terminal.monitor import MonitorSession
from terminal.results import Approval
from tests.tui.conftest import build_session, scalar, wait_for

pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture(scope="module")
def floor(tctx: Any, ctx: Any, terminal_logins: Any) -> dict[str, Any]:
    """A counter that sold cash and card and refunded the card order, then counted its
    drawer 80,00 short (waits for a supervisor); a kiosk stopped cleanly ten minutes
    ago; a cashier silent for ten minutes; a gate command that registered and never
    beat."""
    # Every terminal on the floor acts on its own login; the owner's ``ctx`` only moves
    # the clock (heartbeats ten minutes old).
    eng = ctx.engine
    counter = build_session(CounterSession, tctx, "mon-counter")
    counter.start()
    counter.operator = authenticate(terminal_logins.context(
        "mon-counter", "cashier", tctx.settings).engine, "ana", "1234")
    counter.open_shift(20000, uuid.uuid4())
    ev = scalar(tctx, "select id from events where code = 'COMEDIA-HOJE'")
    cash = counter.pay_cash(uuid.uuid4(), counter.hold_best(uuid.uuid4(), ev, 1), 10 ** 6)
    card = counter.pay_card(uuid.uuid4(), counter.hold_best(uuid.uuid4(), ev, 2),
                            "pm_card_visa")
    counter.refund(uuid.uuid4(), card.order_id,
                   Approval(None, "customer_request", "carla", "9999"))
    closed = counter.close_shift(20000 + cash.total_minor - 8000, uuid.uuid4())
    assert closed.status == "pending_approval"
    counter.heartbeat({"screen": "EventsScreen", "operator": "ana", "breaker": "open",
                       "printer": "ok", "queue_depth": 0})
    kiosk = terminal_logins.context("mon-kiosk", "kiosk", tctx.settings, pool_size=1)
    beat(kiosk.engine, terminal_logins.actor("mon-kiosk", "kiosk").terminal_id,
         {"kind": "kiosk", "screen": "stopped", "stopped": "staff exit", "printer": "ok",
          "breaker": "closed"})
    silent = terminal_logins.context("mon-silent", "cashier", tctx.settings, pool_size=1)
    beat(silent.engine, terminal_logins.actor("mon-silent", "cashier").terminal_id,
         {"screen": "EventsScreen", "printer": "ok", "breaker": "closed"})
    from sqlalchemy import text

    with eng.begin() as c:
        c.execute(text("update terminals set last_heartbeat = now() - interval '10 minutes'"
                       " where name in ('mon-kiosk', 'mon-silent')"))
    terminal_logins.login("gate-G1", "gate")  # `boxoffice scan --gate G1`, provisioned
    return {"card": card, "cash": cash}


def monitor_app(tctx: Any) -> MonitorApp:
    return MonitorApp(build_session(MonitorSession, tctx, "mon-monitor"), language_code="en",
                      heartbeat=False)


async def drawn(pilot: Any) -> MonitorScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen)
                   and app.screen.refreshes > 0)
    await pilot.pause()
    await pilot.pause()
    return app.screen


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def row_of(table: DataTable, name: str) -> list[str]:
    return next(r for r in cells(table) if r[0] == name)


def whole(table: DataTable) -> bool:
    """Every column drawn: nothing scrolled off to the right."""
    return table.virtual_size.width <= table.scrollable_content_region.width


async def test_words_money_states_and_net_revenue(tctx: Any, floor: dict[str, Any]) -> None:
    app = monitor_app(tctx)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await drawn(pilot)
        snap = screen.snapshot
        terms = screen.query_one("#terminals", DataTable)
        names = [r[0] for r in cells(terms)]
        assert {"mon-counter", "mon-kiosk", "mon-silent"} <= set(names)
        assert "gate-G1" not in names  # a command, not a terminal
        kiosk, counter = row_of(terms, "mon-kiosk"), row_of(terms, "mon-counter")
        assert kiosk[4] == "stopped"
        assert counter[7] == "card down"
        assert row_of(terms, "mon-silent")[7] == "card ok"
        assert not any(c in ("closed", "open") for r in cells(terms) for c in r)

        alerts = str(screen.query_one("#alerts", Static).render())
        assert "mon-counter: card payments down" in alerts
        assert "mon-silent silent for 10 min" in alerts
        assert "Cash variance of -R$ 80.00 at mon-counter (ana) waits for approval" in alerts
        assert "mon-kiosk" not in alerts  # stopped cleanly: no alarm
        assert "-8000" not in alerts and "circuit" not in alerts

        # Revenue: gross, refunds and net by tender; the refunded card order is out of net.
        card = floor["card"]
        assert snap.refunds_by_tender["card"] >= card.total_minor
        net = snap.net_by_tender()
        assert net["card"] == snap.revenue_by_tender["card"] - snap.refunds_by_tender["card"]
        revenue = str(screen.query_one("#revenue", Static).render())
        assert "gross" in revenue and "refund" in revenue and "net" in revenue
        card_line = next(ln for ln in revenue.splitlines() if ln.startswith("card"))
        assert card_line.split() == [
            "card", amount(snap.revenue_by_tender["card"]),
            amount(snap.refunds_by_tender["card"]), amount(net["card"])]

        # Occupancy whole (2/1216, not 2/12) and the printer and card columns on screen.
        occ = screen.query_one("#occupancy", DataTable)
        for o in snap.occupancy:
            assert f"{o.sold}/{o.capacity}" in [r[2] for r in cells(occ)]
        assert whole(occ) and whole(terms)

        # The approval's title: worded and formatted, not "shift_variance expected 108000".
        appr = screen.query_one("#approvals", DataTable)
        assert cells(appr)[0][:2] == ["Cash variance", "ana@mon-counter"]
        appr.focus()
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        label = app.screen.query_one("#approval-title")
        title = str(label.render())
        assert "Cash variance -R$ 80.00\nat mon-counter (ana)\nexpected R$ " in title
        assert label.region.height == 3 and label.region.width >= max(
            len(ln) for ln in title.splitlines())  # the whole title on screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("ctrl+l")
        await pilot.pause()
        alerts = str(screen.query_one("#alerts", Static).render())
        assert "mon-counter: cartão fora do ar" in alerts
        assert "Diferença de caixa de -R$ 80,00 em mon-counter (ana)" in alerts
        assert row_of(terms, "mon-kiosk")[4] == "parado"
        assert row_of(terms, "mon-silent")[7] == "cartão ok"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_panels_fit(tctx: Any, floor: dict[str, Any], size: tuple[int, int]) -> None:
    """Occupancy and revenue on screen at 80x24, titles whole, no table cut sideways."""
    app = monitor_app(tctx)
    async with app.run_test(size=size) as pilot:
        screen = await drawn(pilot)
        height = size[1]
        for pid in ("#p-sales", "#p-occ", "#p-appr", "#p-alerts"):
            region = screen.query_one(pid).region
            assert region.height > 0 and region.bottom <= height - 1, pid
        for table_id in ("occupancy", "terminals", "holds", "approvals"):
            assert whole(screen.query_one(f"#{table_id}", DataTable)), table_id
        for label in screen.query(".title"):
            text = str(label.render())
            assert label.region.width >= len(text), text
        revenue = screen.query_one("#revenue", Static)
        widest = max(len(ln) for ln in str(revenue.render()).splitlines())
        assert revenue.region.width >= widest


def test_a_cleanly_closed_face_says_stopped(tctx: Any, ctx: Any) -> None:
    """The cashier app and the monitor send a last heartbeat on a clean exit (the kiosk
    already did): the monitor lists them as stopped, with no silence alarm later."""
    from boxoffice_tui.app import CashierApp, say_stopped
    from core.monitor import snapshot

    svc = build_session(CounterSession, tctx, "mon-closing")
    svc.start()
    svc.heartbeat({"screen": "EventsScreen", "printer": "ok", "breaker": "closed"})
    say_stopped(CashierApp(svc, language_code="en", heartbeat=False))
    from sqlalchemy import text

    with ctx.engine.begin() as c:  # an hour passes (the owner moves the clock)
        c.execute(text("update terminals set last_heartbeat = now() - interval '1 hour'"
                       " where name = 'mon-closing'"))
    snap = snapshot(tctx.engine, 15.0)
    row = next(t for t in snap.terminals if t.name == "mon-closing")
    assert row.stopped and not row.stale
    assert not [a for a in snap.alerts if a.terminal == "mon-closing"]


@pytest.mark.parametrize(("lang", "want"), [
    ("en", ["kiosk-3: order 1042 (R$ 150.00) not paid at the gateway; tickets void",
            "4 card sale(s) unchecked for 12 min: is the worker running?",
            "kiosk-2: 5 wrong staff PIN(s) in 15 min: login locked"]),
    ("pt-BR", ["kiosk-3: pedido 1042 (R$ 150,00) sem pagamento na operadora; ingressos anulados",
               "4 venda(s) no cartão sem conferência há 12 min: o worker está rodando?",
               "kiosk-2: 5 PIN(s) de equipe errado(s) em 15 min: login bloqueado"]),
])
def test_reconciliation_alerts_read_as_sentences(lang: str, want: list[str]) -> None:
    """The worker's verdicts reach the supervisor worded and with money formatted, never
    as the raw code (``alert_payment_unverified``) or minor units."""
    from boxoffice_tui.screens.monitor_text import alert_text
    from core.language import language, set_language
    from core.monitor import Alert

    before = language()
    set_language(lang)
    try:
        got = [alert_text(Alert("payment_unverified", "kiosk-3",
                                {"order": 1042, "amount_minor": 15000, "currency": "BRL",
                                 "reason": "not_found"}), "BRL"),
               alert_text(Alert("reconcile_behind", "", {"count": 4, "seconds": 725}), "BRL"),
               alert_text(Alert("kiosk_pin_failed", "kiosk-2", {"count": 5, "lockout": True}),
                          "BRL")]
    finally:
        set_language(before)
    assert got == want
