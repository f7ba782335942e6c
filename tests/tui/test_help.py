"""F1 lists the keys of the face in use, exactly (issue 15: the monitor once showed the
counter's keys): the monitor's help is docs/monitor.md's key tables cell for cell, the
counter's help covers every key its screens bind and none of the monitor's, and each fits
an 80x24 terminal whole in either language. Every footer names keys as their key caps
(F5, Ctrl+L, Esc, Enter, as the guides do) and fits 80 columns in either language; the
header stays one line at 80 columns, shortening in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.binding import Binding

from boxoffice_tui.app import CashierApp, MonitorApp
from boxoffice_tui.header import Part, fit, sync_forms
from boxoffice_tui.i18n import set_language
from boxoffice_tui.screens.help import (
    CASHIER,
    COLUMN,
    MONITOR,
    HelpScreen,
    column_lines,
    split,
)
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


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_each_help_is_two_columns_that_fit_80x24(lang: str) -> None:
    """Measured on the text: each line within its column, each column within the 21 lines
    an 80x24 help box has (24, less the footer and the box's border). The app tests
    below measure the same on the screen."""
    set_language(lang)
    try:
        for sections in (CASHIER, MONITOR):
            left, right = split(sections)
            assert left and right
            for column in (left, right):
                lines = [re.sub(r"\[/?[a-z ]*\]", "", line) for line in column_lines(column)]
                assert len(lines) <= 21
                assert [line for line in lines if len(line) > COLUMN] == []
    finally:
        set_language("en")


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
            assert isinstance(b, Binding)
            if b.action.startswith("key("):  # the cash keypad's digits and backspace
                continue
            missing += [(cls.__name__, key) for key in b.key.split(",")
                        if _shown_as(key) not in tokens]
    assert missing == []
    # None of the monitor's letter keys, and none of the counter's F-keys on the monitor.
    assert not tokens & {"r", "a", "c", "p", "o", "s", "g", "b", "u", "l"}
    assert not {"F3", "F5", "F6", "F7", "F8", "F9", "F10"} & _help_keys(MONITOR)


@pytest.fixture(scope="module")
def hctx(ctx: CoreContext, db_url: str, module_tmp: Path, terminal_logins: Any) -> CoreContext:
    """help-counter's own context, on its cashier login."""
    settings = make_settings(db_url, module_tmp, terminal__name="help-counter",
                             terminal__language="en")
    return terminal_logins.new_context("help-counter", "cashier", settings, pool_size=2)


@pytest.fixture(scope="module")
def mhctx(hctx: CoreContext, terminal_logins: Any) -> CoreContext:
    """help-monitor's own context, on its monitor login."""
    return terminal_logins.new_context("help-monitor", "monitor", hctx.settings, pool_size=2)


def _body(app: Any) -> str:
    return "\n".join(str(column.render()) for column in app.screen.query(".help-column"))


def _fits_whole(app: Any) -> None:
    """The help at 80x24 shows every line: nothing to scroll, no line wrapped or cut."""
    assert app.size == (80, 24)
    scroll = app.screen.query_one("#help-scroll")
    assert scroll.max_scroll_y == 0 and scroll.max_scroll_x == 0
    for column in app.screen.query(".help-column"):
        lines = str(column.render()).split("\n")
        assert column.size.height == len(lines), column.id  # none wrapped
        assert max(len(line) for line in lines) <= column.size.width, column.id
    box = app.screen.query_one("#help-box")
    assert box.region.bottom <= 23  # above the footer


async def _in_portuguese(pilot: Any, phrase: str) -> None:
    """From the open help: close it, switch to Portuguese, open it again, see ``phrase``
    and that it fits too, then back to English with the help closed."""
    app = pilot.app
    under = type(app.screen_stack[-2])
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, under))
    await pilot.press("ctrl+l", "f1")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    assert phrase in _body(app)
    _fits_whole(app)
    await pilot.press("escape", "ctrl+l")
    await wait_for(pilot, lambda: isinstance(app.screen, under) and app.lang == "en")


@pytest.mark.db
@pytest.mark.anyio
async def test_f1_on_the_monitor_and_its_console_lists_the_monitor_s_keys(
        mhctx: CoreContext) -> None:
    from boxoffice_tui.screens.console import ConsoleScreen

    svc = MonitorSession(mhctx, "help-monitor")
    svc.operator = OperatorInfo(3, "carla", "Carla Mendes", "supervisor")
    app = MonitorApp(svc, language_code="en", heartbeat=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MonitorScreen")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        body = _body(app)
        assert "Approve highlighted approval" in body
        assert "Hold picked seats" not in body and "F5" not in body
        _fits_whole(app)
        await _in_portuguese(pilot, "Aprovar a aprovação marcada")  # longer: fits too
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert _body(app) == body
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
        assert "Approve highlighted approval" not in body
        _fits_whole(app)
        await _in_portuguese(pilot, "Reservar os marcados")


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


def test_keys_are_written_as_their_key_caps() -> None:
    from boxoffice_tui.widgets.keycaps import binding_cap, key_cap

    caps = {"f5": "F5", "f10": "F10", "ctrl+l": "Ctrl+L", "ctrl+shift+p": "Ctrl+Shift+P",
            "escape": "Esc", "enter": "Enter", "tab": "Tab", "delete": "Del",
            "space": "Space", "pageup": "PgUp", "up": "↑", "plus": "+", "minus": "-",
            "equals_sign": "=", "r": "r", "number_sign": "#"}
    assert {key: key_cap(key) for key in caps} == caps
    assert binding_cap(Binding("delete,c", "clear", "clear")) == "Del"
    assert binding_cap(Binding("f10,ctrl+f", "close", "close")) == "F10"
    # A binding's own display groups keys, and wins.
    assert binding_cap(Binding("1", "best(1)", "qty", key_display="1-9 +/-")) == "1-9 +/-"


SCREENS = Path(__file__).resolve().parents[2] / "boxoffice_tui" / "screens"


def _footers() -> list[tuple[str, str, bool, bool]]:
    """Each footer as a screen composes it, read from the screens' source: (face, module:
    class, compact, command palette key). A new screen's footer is measured without
    anyone listing it; the monitor's and console's modules are the monitor's face, the
    help and the shared dialogs are on both, the rest are the counter's."""
    import ast

    out: list[tuple[str, str, bool, bool]] = []
    for path in sorted(SCREENS.glob("*.py")):
        module = path.stem
        faces = (["monitor"] if module.startswith(("monitor", "console"))
                 else ["counter", "monitor"] if module in ("help", "dialogs")
                 else ["counter"])
        for cls in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(cls, ast.ClassDef):
                continue
            for node in ast.walk(cls):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "QuickFooter"):
                    args = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
                    out += [(face, f"{module}:{cls.name}", bool(args.get("compact", False)),
                             bool(args.get("show_command_palette", True))) for face in faces]
    return out


def _screen_class(spec: str) -> type:
    import importlib

    module, name = spec.split(":")
    cls: type = getattr(importlib.import_module(f"boxoffice_tui.screens.{module}"), name)
    return cls


def _bindings(cls: type) -> list[Any]:
    """A class's BINDINGS with its bases' (Textual merges them so), base first."""
    out: list[Any] = []
    for klass in reversed(cls.__mro__):
        out += klass.__dict__.get("BINDINGS", [])
    return out


def _footer_text(footer: Any) -> str:
    return " ".join(f"{key.key_display} {key.description}".strip()
                    for key in footer.query("FooterKey"))


async def _footer_alone(face_app: type[App[Any]], real: type, compact: bool,
                        palette: bool) -> tuple[str, list[str], bool]:
    """``real``'s bindings (all of them, as if every action were possible) in a footer
    like its own, on an app with the face's app keys and key caps, at 80x24: the footer's
    text, its keys as shown, and whether it fits."""
    from textual.screen import ModalScreen, Screen

    from boxoffice_tui.app import BoxOfficeApp
    from boxoffice_tui.base import translate_bindings
    from boxoffice_tui.footer import QuickFooter
    from boxoffice_tui.widgets.keycaps import KeyCaps
    from boxoffice_tui.widgets.textual_compat import FooterKey

    class Harness(ModalScreen if issubclass(real, ModalScreen) else Screen):  # type: ignore[misc]
        BINDINGS = _bindings(real)

        def compose(self) -> Any:
            yield QuickFooter(compact=compact, show_command_palette=palette)

        def on_mount(self) -> None:
            translate_bindings(self)

    class Face(KeyCaps, App[None]):
        ENABLE_COMMAND_PALETTE = face_app.ENABLE_COMMAND_PALETTE
        BINDINGS = [*BoxOfficeApp.BINDINGS, *face_app.__dict__.get("BINDINGS", [])]

        def on_mount(self) -> None:
            translate_bindings(self)
            self.push_screen(Harness())

    app = Face()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, Harness)
                       and bool(app.screen.query("FooterKey")))
        await pilot.pause()
        footer = app.screen.query_one(QuickFooter)
        keys = [key.key_display for key in footer.query(FooterKey)]
        fits = footer.max_scroll_x == 0 and footer.virtual_size.width <= 80
        return _footer_text(footer), keys, fits


@pytest.mark.anyio
@pytest.mark.parametrize("lang", ["en", "pt-BR"])
async def test_every_footer_shows_key_caps_and_fits_80_columns(lang: str) -> None:
    """Every footer whole in 80 columns, and no key written Textual's way (f5, ^l, esc,
    ⏎): what the guides say."""
    faces: dict[str, type[App[Any]]] = {"counter": CashierApp, "monitor": MonitorApp}
    seen: dict[str, str] = {}
    cut: list[str] = []  # footers wider than 80 columns
    textual_way: list[str] = []
    set_language(lang)
    try:
        for face, spec, compact, palette in _footers():
            text, keys, fits = await _footer_alone(faces[face], _screen_class(spec),
                                                   compact, palette)
            seen[spec] = text
            if not fits:
                cut.append(f"{face} {spec}: {text}")
            textual_way += [f"{spec}: {k}" for k in keys
                            if k.startswith(("esc", "⏎", "^", "f1", "f5", "ctrl+"))]
    finally:
        set_language("en")
    assert cut == [], "\n".join(cut)
    assert textual_way == []
    # What the guides say, in the footers: a sample of each kind of key.
    assert seen["sale:SaleScreen"].startswith("F5 ")
    assert "Enter " in seen["events:EventsScreen"]
    assert "Ctrl+L " in seen["monitor:MonitorScreen"]
    assert "Esc " in seen["help:HelpScreen"]
