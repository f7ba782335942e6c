"""F1 lists the keys of the face in use, exactly (issue 15: the monitor once showed the
counter's keys): the monitor's help is docs/monitor.md's key tables cell for cell, the
counter's help covers every key its screens bind and none of the monitor's; and the
header stays one line at 80 columns, shortening in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from boxoffice_tui.app import CashierApp, MonitorApp
from boxoffice_tui.header import Part, fit, sync_forms
from boxoffice_tui.i18n import set_language
from boxoffice_tui.screens.help import CASHIER, MONITOR, HelpScreen
from core.actors import OperatorInfo
from core.app_context import CoreContext
from terminal.counter import CounterSession
from terminal.monitor import MonitorSession
from tests.conftest import make_settings
from tests.terminal_fixtures import wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs"


def doc_key_tables(name: str) -> list[list[str]]:
    """The first column of every ``| key | what it does |`` table, backticks dropped."""
    tables: list[list[str]] = []
    rows: list[str] | None = None
    for line in (DOCS / name).read_text(encoding="utf-8").splitlines():
        if re.match(r"^\|\s*key\s*\|\s*what it does\s*\|", line):
            rows = []
            tables.append(rows)
        elif rows is not None and line.startswith("|"):
            if not set(line) <= set("|- "):
                rows.append(line.split("|")[1].strip().replace("`", ""))
        else:
            rows = None
    return tables


def test_monitor_help_is_the_guide_s_key_tables() -> None:
    tables = doc_key_tables("monitor.md")
    assert len(tables) == len(MONITOR) == 4
    assert [[k for k, _ in keys] for _, keys in MONITOR] == tables


def _help_keys(sections: Any) -> set[str]:
    """Each key named in a help section ("F11 / Ctrl+T" names two)."""
    out: set[str] = set()
    for _, keys in sections:
        for label, _ in keys:
            out |= {k.strip() for k in re.split(r" / | or |, ", label)}
    return out


# A binding's key as the help writes it.
NAMES = {"escape": "Esc", "enter": "Enter", "delete": "Del", "space": "Space", "down": "↓",
         "plus": "+", "minus": "-", "equals_sign": "="}


def _shown_as(key: str) -> str:
    if key in NAMES:
        return NAMES[key]
    if len(key) == 1 and key in "123456789":
        return "1-9"
    if "+" in key:
        mod, k = key.split("+")
        return f"{mod.capitalize()}+{k.upper()}"
    return key.upper()


def test_counter_help_covers_every_counter_key_and_no_monitor_key() -> None:
    from boxoffice_tui.app import BoxOfficeApp
    from boxoffice_tui.screens.checkout import CashScreen
    from boxoffice_tui.screens.events import EventsScreen
    from boxoffice_tui.screens.orders import OrdersScreen
    from boxoffice_tui.screens.sale import SaleScreen

    tokens = _help_keys(CASHIER)
    missing = []
    for cls in (BoxOfficeApp, CashierApp, EventsScreen, SaleScreen, OrdersScreen, CashScreen):
        for b in cls.BINDINGS:
            if b.action.startswith("key("):  # the cash keypad's digits and backspace
                continue
            missing += [(cls.__name__, key) for key in b.key.split(",")
                        if _shown_as(key) not in tokens]
    assert missing == []
    # None of the monitor's letter keys, and none of the counter's F-keys on the monitor.
    assert not tokens & {"r", "a", "c", "p", "o", "s", "g", "b", "u", "l"}
    assert not {"F3", "F5", "F6", "F7", "F8", "F9", "F10"} & _help_keys(MONITOR)


@pytest.fixture(scope="module")
def hctx(ctx: CoreContext, db_url: str, module_tmp: Path) -> CoreContext:
    settings = make_settings(db_url, module_tmp, terminal__name="help-counter",
                             terminal__language="en")
    return CoreContext(settings=settings, engine=ctx.engine)


def _body(app: Any) -> str:
    return str(app.screen.query_one("#help-body").render())


@pytest.mark.db
@pytest.mark.anyio
async def test_f1_on_the_monitor_and_its_console_lists_the_monitor_s_keys(
        hctx: CoreContext) -> None:
    from boxoffice_tui.screens.console import ConsoleScreen

    svc = MonitorSession(hctx, "help-monitor")
    svc.operator = OperatorInfo(3, "carla", "Carla Mendes", "supervisor")
    app = MonitorApp(svc, language_code="en", heartbeat=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MonitorScreen")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        body = _body(app)
        assert "Approve the highlighted pending approval" in body
        assert "Hold picked seats" not in body and "F5" not in body
        await pilot.press("escape")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert _body(app) == body  # the same face, the same keys
        await pilot.press("f1")  # F1 again closes it
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen))


@pytest.mark.db
@pytest.mark.anyio
async def test_f1_at_the_counter_lists_the_counter_s_keys(hctx: CoreContext) -> None:
    from boxoffice_tui.screens.events import EventsScreen

    svc = CounterSession(hctx, "help-counter")
    app = CashierApp(svc, language_code="en", heartbeat=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        svc.operator = OperatorInfo(1, "ana", "Ana Souza", "cashier")
        await app.switch_screen(EventsScreen())
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        body = _body(app)
        assert "Hold picked seats" in body and "F10 / Ctrl+F" in body
        assert "Approve the highlighted pending approval" not in body


def test_the_header_is_one_line_at_80_columns_and_shortens_in_order() -> None:
    set_language("pt-BR")
    try:
        sync = {"queue_depth": 3, "oldest_unsent_s": 12, "flagged": 1,
                "leases": [{"status": "active", "remaining": 40}]}

        def parts() -> list[Part]:
            return [Part("title", "Bilheteria", ""), Part("terminal", "counter-1"),
                    Part("operator", "Ana Souza (caixa)", "Ana Souza", "ana"),
                    Part("shift", "Turno 5eed0000", "Turno 5eed"), Part("online", "● online"),
                    Part("problem", "cartão fora"), Part("sync", *sync_forms(sync)),
                    Part("printer", "Impressora pronta", "")]

        wide = fit(parts(), "18:00", 158).plain
        assert len(wide) == 158 and "\n" not in wide
        assert wide.startswith("Bilheteria │ counter-1 │ Ana Souza (caixa)")
        assert "fila 3 (mais antiga 12 s) · cessão 40 · 1 sinalizada(s)" in wide
        assert wide.endswith("18:00")
        narrow = fit(parts(), "18:00", 78).plain
        assert len(narrow) == 78 and narrow.endswith(" 18:00")
        # A ready printer and the title go first; a problem, online and the lease stay.
        assert "Impressora" not in narrow and "Bilheteria" not in narrow
        for kept in ("counter-1", "● online", "fila 3", "cessão 40", "cartão fora"):
            assert kept in narrow, kept
        tiny = fit(parts(), "18:00", 40).plain
        assert len(tiny) == 40 and tiny.endswith("18:00") and "…" in tiny
    finally:
        set_language("en")
