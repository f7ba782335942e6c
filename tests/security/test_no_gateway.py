"""No card gateway unless one is configured (issue 11 item 6): the default is none, and a
cashier or kiosk without one refuses cards with ``card_payments_off`` before anything is
written, while cash at the counter still sells; a sandbox gateway outside the demo is an
alert on the monitor. Each terminal runs on its own provisioned login."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from config import Settings
from config.settings import GatewaySettings
from core.actors import authenticate
from core.errors import BoxOfficeError
from core.monitor import snapshot
from core.payments import CardPaymentsOff, build_gateway, with_demo_gateway
from core.reservation import hold_best_available
from core.sales import CardTender, CashTender, checkout, open_shift
from tests.security.conftest import actor_for, terminal_context, terminal_settings


@pytest.fixture(scope="module")
def contexts(terminals, tmp_path_factory):
    made = {}
    for kind in ("cashier", "kiosk", "monitor"):
        t = terminals[kind]
        tmp = tmp_path_factory.mktemp(kind)
        made[kind] = terminal_context(t, tmp, terminal_settings(t, tmp, gateway__kind="none"))
    yield made
    for c in made.values():
        c.engine.dispose()


def _event(ctx, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()


def test_the_default_is_no_gateway():
    assert GatewaySettings().kind == "none"
    assert Settings.model_fields["gateway"].default.kind == "none"
    with pytest.raises(CardPaymentsOff) as e:
        build_gateway(Settings(gateway={"kind": "none"}))  # type: ignore[arg-type]
    assert e.value.code == "card_payments_off"
    texts = {lang: e.value.message(lang) for lang in ("pt-BR", "en", "es")}
    assert len(set(texts.values())) == 3 and "gateway.kind" in texts["en"]
    # The demo's gateway is the sandbox whatever the config names, never a real account.
    live = Settings(gateway={"kind": "stripe", "secret_key": "sk_live_x"})  # type: ignore[arg-type]
    demo = with_demo_gateway(live).gateway
    assert demo.kind == "sandbox" and demo.secret_key is None and demo.base_url is None


def test_a_cashier_without_a_gateway_refuses_cards_and_sells_for_cash(contexts, terminals):
    c = contexts["cashier"]
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(terminals["cashier"], ana.id, ana.role)
    open_shift(c, actor, uuid.uuid4(), 10_000)
    h = hold_best_available(c, actor, uuid.uuid4(), _event(c, "COMEDIA-HOJE"), 2)
    card_key = uuid.uuid4()
    with pytest.raises(BoxOfficeError) as e:
        checkout(c, actor, card_key, h.hold_id, CardTender("pm_card_visa", "visa", "4242"))
    assert e.value.code == "card_payments_off"
    assert c.gateway is None  # no gateway was built, none was started
    with c.engine.connect() as conn:
        assert conn.execute(text("select count(*) from sales where key = :k"),
                            {"k": card_key}).scalar_one() == 0
    # The same hold then sells for cash, and a repeat of that checkout (a double click,
    # a retry after a timeout) answers from the sale without asking for a gateway.
    key = uuid.uuid4()
    sale = checkout(c, actor, key, h.hold_id, CashTender(h.total_minor))
    again = checkout(c, actor, key, h.hold_id, CashTender(h.total_minor))
    assert again.order.order_id == sale.order.order_id and len(sale.ticket_serials) == 2


def test_the_counter_session_says_card_is_off(contexts, terminals):
    from terminal.counter import CounterSession

    c = contexts["cashier"]
    session = CounterSession(c, terminals["cashier"].name, settings=c.settings)
    br = session.breaker()
    assert br.state == "off" and not br.card_allowed and "no card gateway" in br.reason
    h = hold_best_available(c, actor_for(terminals["cashier"]), uuid.uuid4(),
                            _event(c, "SINATRA"), 1)
    with pytest.raises(BoxOfficeError) as e:  # online or from the lease: no card at all
        session.pay_card(uuid.uuid4(), h, "pm_card_visa")
    assert e.value.code == "card_payments_off"


def test_a_kiosk_without_a_gateway_stays_out_of_service_and_says_why(contexts, terminals):
    from terminal.kiosk import KioskSession

    k = contexts["kiosk"]
    session = KioskSession(k, terminals["kiosk"].name, settings=k.settings)
    ready = session.readiness()
    assert "card" in ready.reasons and not ready.ok and ready.breaker == "off"
    session.warm_gateway()
    assert k.gateway is None
    h = hold_best_available(k, actor_for(terminals["kiosk"]), uuid.uuid4(),
                            _event(k, "SINATRA"), 1)
    with pytest.raises(BoxOfficeError) as e:
        session.pay(uuid.uuid4(), h, "pm_card_visa")
    assert e.value.code == "kiosk_not_ready" and "card" in str(e.value.details)


def test_the_monitor_flags_a_sandbox_gateway_outside_the_demo(contexts, terminals, tmp_path):
    from terminal.kiosk import KioskSession

    kt = terminals["kiosk"]
    sandboxed = terminal_context(kt, tmp_path, terminal_settings(
        kt, tmp_path, gateway__kind="sandbox", gateway__base_url="http://127.0.0.1:9"))
    try:
        for ctx, expect in ((contexts["kiosk"], "none"), (sandboxed, "sandbox")):
            session = KioskSession(ctx, kt.name, settings=ctx.settings)
            session.heartbeat({"screen": "attract"})
            snap = snapshot(contexts["monitor"].engine)  # as the supervisor's monitor reads
            row = next(r for r in snap.terminals if r.name == kt.name)
            assert row.state["gateway"] == expect
            flagged = [a for a in snap.alerts if a.code == "sandbox_gateway"]
            assert [a.terminal for a in flagged] == ([kt.name] if expect == "sandbox" else [])
    finally:
        sandboxed.engine.dispose()
