"""``python -m boxoffice_tui.coldstart T0``: start the cashier app headless the way
``boxoffice`` does and print the seconds since T0 (the parent's spawn time) at the moment
the first screen has been drawn; then exit. Used by ``boxoffice bench seatmap``."""

from __future__ import annotations

import sys
import time
from typing import Any


def main() -> None:
    t0 = float(sys.argv[1])
    from boxoffice_tui.app import CashierApp
    from terminal.bootstrap import counter_session, load_settings

    app = CashierApp(counter_session(load_settings()), heartbeat=False)
    result: list[float] = []

    async def first_frame(pilot: Any) -> None:
        from boxoffice_tui.screens.signin import SignInScreen

        while not isinstance(app.screen, SignInScreen):
            await pilot.pause(0)
        await pilot.pause()  # its first frame drawn
        result.append(time.time() - t0)
        app.exit()

    app.run(headless=True, size=(80, 24), auto_pilot=first_frame)
    print(f"{result[0]:.3f}" if result else "nan")


if __name__ == "__main__":
    main()
