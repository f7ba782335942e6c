"""F1 on the kiosk (issue 15: F1 on every face lists that face's own keys): the kiosk's
keys in the customer's language, docs/kiosk.md's key table cell for cell, over any step,
and none of the counter's or the monitor's."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.screens.choose import ShowsScreen
from kiosk.screens.keys import KEYS, KeysDialog
from tests.kiosk.conftest import wait_for
from tests.kiosk.helpers import SIZE, to_shows
from tests.tui.test_help import doc_key_tables

pytestmark = [pytest.mark.db, pytest.mark.anyio]


def test_the_kiosk_keys_are_the_guide_s_table() -> None:
    assert doc_key_tables("kiosk.md") == [[k for k, _ in KEYS]]


def _body(app: Any) -> str:
    return str(app.screen.query_one("#keys-body").render())


async def test_f1_lists_the_kiosk_keys_in_the_customer_s_language(make_app: Any) -> None:
    app = make_app(lang="es")
    async with app.run_test(size=SIZE) as pilot:
        await to_shows(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysDialog))
        body = _body(app)
        assert "volver un paso" in body and "Enter o un toque" in body
        assert "back one step" not in body
        for counter_or_monitor in ("F5", "F9", "Ctrl+L", "Ctrl+Q", "Approve"):
            assert counter_or_monitor not in body
        await pilot.press("escape")  # closes the keys, not the step under them
        await wait_for(pilot, lambda: isinstance(app.screen, ShowsScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysDialog))
        await pilot.press("f1")  # F1 again closes it too
        await wait_for(pilot, lambda: isinstance(app.screen, ShowsScreen))


def test_every_key_listed_is_bound() -> None:
    """The keys the list names are the kiosk's bindings (Tab and Enter are Textual's own
    focus and button keys)."""
    from textual.binding import Binding

    from boxoffice_tui.widgets.seatmap import SeatMap
    from kiosk.app import KioskApp
    from kiosk.screens.base import KioskScreen

    def keys(cls: Any) -> set[str]:
        return {k for b in cls.BINDINGS
                for k in (b.key if isinstance(b, Binding) else b[0]).split(",")}

    bound = keys(KioskApp) | keys(KioskScreen) | keys(KeysDialog)
    assert {"f1", "f12", "escape", "up", "down", "left", "right"} <= bound
    assert "space" in keys(SeatMap)


@pytest.mark.parametrize("lang", ["pt-BR", "en", "es"])
async def test_the_keys_fit_80x24_whole_in_every_language(make_app: Any, lang: str) -> None:
    """A kiosk screen may be 80x24: the keys, their title and Back all show, no line of
    the list wrapped or cut."""
    from kiosk.screens.attract import AttractScreen

    app = make_app(lang=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AttractScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysDialog)
                       and app.screen.query_one("#keys-back").region.area > 0)
        await pilot.pause()
        screen = app.screen.region
        dialog = app.screen.query_one("#dialog")
        assert screen.contains_region(dialog.region), (dialog.region, screen)
        assert screen.contains_region(app.screen.query_one("#keys-back").region)
        body = app.screen.query_one("#keys-body")
        lines = _body(app).split("\n")
        assert len(lines) == len(KEYS)
        assert body.content_size.height == len(lines)  # none wrapped
        assert max(len(line) for line in lines) <= body.content_size.width
