"""A kiosk that crashes shows "out of service", never a traceback with local variables
(one showed ``staff_pin = '9999'`` to a customer), logs the error to its file, and exits
non-zero so systemd restarts it. The kiosk's own exception handler runs on a bare app
whose first screen raises (no database needed)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from textual.app import App

from kiosk.app import OUT_OF_SERVICE, KioskApp


class _Crashing(App[None]):
    _handle_exception = KioskApp._handle_exception
    shown: list[object]

    def panic(self, *renderables: object) -> None:  # type: ignore[override]
        self.shown = list(renderables)
        super().panic(*renderables)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        staff_pin = "9999"  # a local the old traceback printed
        raise RuntimeError(f"boom {len(staff_pin)}")


def test_a_crash_says_out_of_service_logs_and_exits_non_zero(caplog):
    caplog.set_level(logging.ERROR, logger="kiosk.app")
    app = _Crashing()

    async def run() -> None:
        async with app.run_test() as pilot:
            await pilot.pause()

    with pytest.raises(RuntimeError, match="boom"):  # the test pilot re-raises it
        asyncio.run(run())
    assert app.return_code == 1
    shown = " ".join(str(r) for r in app.shown)
    assert OUT_OF_SERVICE in shown
    assert "9999" not in shown and "staff_pin" not in shown and "Traceback" not in shown
    crashed = [r for r in caplog.records if r.getMessage().startswith("kiosk crashed")]
    assert crashed and crashed[0].exc_info is not None
