"""The counter with a real gateway (issue 11 item 6): no typed card field, the card is
read on the terminal's card reader, and without a reader card is refused with
``card_reader_missing`` before anything is written or sent. The module's terminal is
configured ``gateway.kind = "stripe"`` against a loopback HTTP server that counts the
requests it gets: none may reach it. The decision itself (terminal.card_input) is
unit-tested here too, including a reader a site installs as an entry point."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boxoffice_tui.screens.checkout import CardScreen
from config import Settings
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.payments import SANDBOX_KEY, build_gateway
from core.payments.card_reader import CardPresentation
from terminal.base import SessionBase
from terminal.card_input import card_from, card_input
from terminal.counter import CounterSession
from tests.gateway_recorder import Recorder
from tests.terminal_fixtures import build_session, context_on, scalar, terminal_settings
from tests.tui.conftest import TERMINAL, open_event, sign_in, wait_for

SIZE = (100, 30)
pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Path, recorder: Recorder) -> dict[str, Any]:
    return {"terminal__name": TERMINAL, "printer__url": f"preview://{module_tmp / 'preview'}",
            "holds__counter_ttl_s": 240, "logging__file": str(module_tmp / "tui.jsonl"),
            "gateway__kind": "stripe", "gateway__base_url": recorder.url,
            "gateway__secret_key": "sk_live_not_a_real_key"}


class FakeReader:
    """A card reader as a site would plug in: it hands back the reference of the card
    the customer presented, and remembers the amounts it was asked for."""

    def __init__(self, pm: str = "pm_card_mastercard") -> None:
        self.pm = pm
        self.asked: list[tuple[int, str]] = []

    def present(self, amount_minor: int, currency: str) -> CardPresentation:
        self.asked.append((amount_minor, currency))
        return CardPresentation(self.pm, "mastercard", "4444")


def _session(kind: str, reader: Any = None) -> SessionBase:
    s = SessionBase(lambda: None, "unit", settings=Settings(  # type: ignore[arg-type]
        gateway={"kind": kind, "secret_key": "sk_x"}))
    if reader is not None:
        s.card_reader = reader  # type: ignore[attr-defined]
    return s


def test_the_card_input_follows_the_gateway() -> None:
    sandbox = card_input(_session("sandbox"))
    assert sandbox.kind == "sandbox" and sandbox.typed and sandbox.refusal is None
    off = card_input(_session("none"))
    assert off.kind == "off" and not off.typed and off.refusal == "card_payments_off"
    missing = card_input(_session("stripe"))
    assert missing.kind == "off" and not missing.typed
    assert missing.refusal == "card_reader_missing"
    reader = FakeReader()
    real = card_input(_session("stripe", reader))
    assert real.kind == "reader" and not real.typed and real.refusal is None
    # What each payment takes: a typed test reference only in the sandbox.
    assert card_from(_session("sandbox"), "pm_card_visa", 100, "BRL") == \
        ("pm_card_visa", "visa", "4242")
    with pytest.raises(BoxOfficeError) as e:
        card_from(_session("stripe", reader), "pm_card_visa", 100, "BRL")
    assert e.value.code == "card_typed_refused" and reader.asked == []
    assert card_from(_session("stripe", reader), None, 2500, "BRL") == \
        ("pm_card_mastercard", "mastercard", "4444")
    assert reader.asked == [(2500, "BRL")]
    for kind, code in (("none", "card_payments_off"), ("stripe", "card_reader_missing")):
        with pytest.raises(BoxOfficeError) as e:
            card_from(_session(kind), None, 100, "BRL")
        assert e.value.code == code
        texts = {lang: e.value.message(lang) for lang in ("pt-BR", "en", "es")}
        assert len(set(texts.values())) == 3


def test_a_site_plugs_a_reader_in_as_an_entry_point(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented way (docs/payments.md): an installed package declares an entry
    point in ``boxoffice.card_readers``; the terminal finds and builds it."""
    (tmp_path / "site_reader.py").write_text(
        "from core.payments.card_reader import CardPresentation\n"
        "class Reader:\n"
        "    def __init__(self, settings):\n"
        "        self.terminal = settings.terminal.name\n"
        "    def present(self, amount_minor, currency):\n"
        "        return CardPresentation('pm_site_reader', 'visa', '1111')\n"
        "def make(settings):\n"
        "    return Reader(settings)\n")
    info = tmp_path / "site_reader-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: site-reader\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[boxoffice.card_readers]\nlobby = site_reader:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    s = _session("stripe")
    assert card_input(s).kind == "reader"
    assert card_from(s, None, 100, "BRL") == ("pm_site_reader", "visa", "1111")
    # Two readers installed: which one would charge the customer? Neither.
    other = tmp_path / "other_reader-1.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: other-reader\nVersion: 1.0\n")
    (other / "entry_points.txt").write_text("[boxoffice.card_readers]\nx = site_reader:make\n")
    assert card_input(_session("stripe")).refusal == "card_reader_missing"
    del sys.modules["site_reader"]


async def test_without_a_reader_f6_says_why_and_the_hold_stays_for_cash(
        make_app: Any, tctx: CoreContext, recorder: Recorder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        sales_before = scalar(tctx, "select count(*) from sales")
        # The header already says "no card"; F6 says why and stays on the sale.
        await pilot.press("f6")
        await wait_for(pilot, lambda: "no card reader installed" in (app.last_error or ""))
        assert app.screen is screen and not isinstance(app.screen, CardScreen)
        assert screen.hold is not None  # the customer can still pay cash
    assert scalar(tctx, "select count(*) from sales") == sales_before
    assert recorder.seen == []


async def test_with_a_reader_the_dialog_asks_for_the_card_on_it(
        make_app: Any, recorder: Recorder) -> None:
    app = make_app()
    reader = FakeReader()
    app.services.card_reader = reader
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        card = app.screen
        await pilot.pause()
        assert not card.query("#card-input") and not card.query("#card-refused")
        assert "present the card on the reader" in str(card.query_one("#card-reader").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
    assert reader.asked == [] and recorder.seen == []


def test_a_reader_card_sells_through_the_real_gateway_path(
        tctx: CoreContext, sandbox: Any, module_tmp: Path, db_url: str,
        recorder: Recorder) -> None:
    """kind = "stripe" pointed at the project's sandbox (it speaks the same API): the
    reader's card is charged and its brand and last four are the sale's; a typed
    reference is refused before anything is written."""
    settings = terminal_settings(db_url, module_tmp, sandbox, terminal__name=TERMINAL,
                                 gateway__kind="stripe", gateway__base_url=sandbox.base_url,
                                 gateway__secret_key=SANDBOX_KEY)
    gw = build_gateway(settings)
    try:
        c = context_on(tctx, settings, gateway=gw)
        counter = build_session(CounterSession, c, "tui-reader")
        counter.sign_in("ana", "1234")
        if counter.shift is None:
            counter.open_shift(10_000, uuid.uuid4())
        ev = scalar(tctx, "select id from events where code = 'MAGICA'")
        hold = counter.hold_best(uuid.uuid4(), ev, 1)
        reader = FakeReader()
        refused = []
        for code in ("card_reader_missing", "card_typed_refused"):
            key = uuid.uuid4()
            with pytest.raises(BoxOfficeError) as e:
                counter.pay_card(key, hold, "pm_card_visa")
            assert e.value.code == code
            refused.append(str(key))
            counter.card_reader = reader
        assert scalar(tctx, "select count(*) from sales where key::text = any(:k)",
                      k=refused) == 0
        out = counter.pay_card(uuid.uuid4(), hold, None)
        assert (out.card_brand, out.card_last4) == ("mastercard", "4444")
        assert reader.asked == [(hold.total_minor, hold.currency)]
    finally:
        gw.close()
    assert recorder.seen == []
