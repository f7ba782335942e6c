"""F4 at the counter: the configured offline leases, the first of each granted by the
database only with a supervisor's PIN typed on this counter's login (0014).

The counter runs on its own cashier login with offline selling started (journal,
connectivity watch), as ``boxoffice cashier`` does; the owner's ``ctx`` seeds a second
supervisor and reads the leases and approvals the database recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from boxoffice_tui.app import CashierApp
from core.actors import create_operator
from core.app_context import CoreContext
from printing.spooler import Spooler
from terminal.counter import CounterSession
from tests.terminal_fixtures import build_session
from tests.tui.conftest import rows, scalar, sign_in, wait_for
from tests.tui.test_snapshots import FROZEN, FixedServices, SnapshotCashier

NAME = "tui-lease"
SPEC = [{"event": "MAGICA", "section": "BAL", "quantity": 3},
        {"event": "POKER-OPEN", "section": "ENTRADA", "quantity": 7}]
SHOWN = "MAGICA BAL ×3, POKER-OPEN ENTRADA ×7"


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Path) -> dict[str, Any]:
    return {"terminal__name": NAME, "printer__url": f"preview://{module_tmp / 'preview'}",
            "sync__auto_leases": SPEC, "sync__probe_timeout_s": 1.0,
            "logging__file": str(module_tmp / "tui.jsonl")}


@pytest.fixture
def counter(tctx: CoreContext, spooler: Spooler) -> Iterator[Callable[[str], CashierApp]]:
    """A counter app of the given name on its own login, offline selling started (its
    start asks the configured leases with no PIN at hand: they wait for F4)."""
    stops: list[Callable[[], None]] = []

    def make(name: str) -> CashierApp:
        svc = build_session(CounterSession, tctx, name, spooler=spooler)
        stops.append(svc.start_sync())
        return CashierApp(svc, language_code="en", heartbeat=False)

    yield make
    for stop in stops:
        stop()


def _terminal_id(ctx: CoreContext, name: str) -> int:
    return int(scalar(ctx, "select id from terminals where name = :n", n=name))


def _dialog_error(app: CashierApp) -> str:
    return str(app.screen.query_one("#approval-error").render())


def _notes(app: CashierApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.anyio
async def test_f4_asks_the_supervisor_once_and_takes_every_lease(
        ctx: CoreContext, counter: Callable[[str], CashierApp]) -> None:
    from boxoffice_tui.screens.dialogs import SupervisorDialog
    from boxoffice_tui.screens.events import EventsScreen

    app = counter(NAME)
    tid = _terminal_id(ctx, NAME)
    assert app.services.sync is not None and app.services.sync.leases.all() == []
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        title = str(app.screen.query_one("#approval-title").render())
        assert title == f"Supervisor approval: lease {SHOWN}"
        assert not app.screen.query("#reason")  # a lease has no reason to pick
        pin = app.screen.query_one("#sup-pin")
        assert pin.password  # masked
        await pilot.press(*"carla", "enter", *"1111", "enter")
        await wait_for(pilot, lambda: _dialog_error(app))
        assert _dialog_error(app) == "Wrong operator or PIN."
        assert pin.value == "" and isinstance(app.screen, SupervisorDialog)
        assert rows(ctx, "select 1 from leases where terminal_id = :t", t=tid) == []
        await pilot.press("f4")  # inside the dialog: no second one on top
        await pilot.press(*"9999", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await wait_for(pilot, lambda: any("2 lease(s) taken; 10 place(s)" in n
                                          for n in _notes(app)))
        assert sum(isinstance(s, SupervisorDialog) for s in app.screen_stack) == 0
        assert app.sync_state is not None and sum(
            x["remaining"] for x in app.sync_state["leases"]) == 10
        # Pressed again: it has them all, nobody is asked.
        await pilot.press("f4")
        await wait_for(pilot, lambda: any("0 lease(s) taken; 10 place(s)" in n
                                          for n in _notes(app)))
        assert isinstance(app.screen, EventsScreen)
    # One approval per lease, each with its own one-use proof, all carla's.
    got = rows(ctx, "select l.kind, l.grant_kind, o.login from leases l"
                    " join operators o on o.id = l.approved_by"
                    " where l.terminal_id = :t order by l.kind", t=tid)
    assert [tuple(r) for r in got] == [("ga", "approved", "carla"),
                                       ("seats", "approved", "carla")]
    assert scalar(ctx, "select count(*) from approvals where kind = 'lease'"
                       " and terminal_id = :t", t=tid) == 2
    assert scalar(ctx, "select count(*) from bo_approval_proofs p join operators o"
                       " on o.id = p.operator_id where o.login = 'carla'"
                       " and p.used_at is null") == 0  # none minted and left unused


@pytest.mark.anyio
async def test_a_locked_supervisor_is_told_and_no_lease_is_taken(
        ctx: CoreContext, counter: Callable[[str], CashierApp]) -> None:
    from boxoffice_tui.screens.dialogs import SupervisorDialog
    from boxoffice_tui.screens.events import EventsScreen

    with ctx.engine.begin() as conn:
        create_operator(conn, "dora", "Dora Reis", "supervisor", "4321")
    name = f"{NAME}-2"
    app = counter(name)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "bruno", "2345")
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        await pilot.press(*"dora", "enter")
        for _ in range(5):  # the fifth wrong PIN locks dora's login (0008)
            await pilot.press(*"1111", "enter")
            await wait_for(pilot, lambda: _dialog_error(app))
            if "locked" not in _dialog_error(app):
                assert _dialog_error(app) == "Wrong operator or PIN."
                app.screen.query_one("#approval-error").update("")
        await pilot.press(*"4321", "enter")  # the right PIN, too late
        await wait_for(pilot, lambda: "locked until" in _dialog_error(app))
        assert _dialog_error(app).startswith("Too many wrong PINs; locked until ")
        await pilot.press("escape")  # no other supervisor at hand
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await wait_for(pilot, lambda: any("0 lease(s) taken" in n for n in _notes(app)))
        assert "A lease needs a supervisor's approval" in " ".join(_notes(app))
    assert rows(ctx, "select 1 from leases where terminal_id = :t",
                t=_terminal_id(ctx, name)) == []


class LeaseSnapshotServices(FixedServices):
    """The pinned events of the snapshots, on a cashier login whose leases are real."""


def test_snapshot_lease_approval(snap_compare: Any, tctx: CoreContext,
                                 spooler: Spooler) -> None:
    from core.actors import OperatorInfo

    svc = build_session(LeaseSnapshotServices, tctx, f"{NAME}-snap", spooler=spooler)
    stop = svc.start_sync()
    ana = int(scalar(tctx, "select id from operators where login = 'ana'"))
    svc.operator = OperatorInfo(ana, "ana", "Ana Souza", "cashier")
    app = SnapshotCashier(svc, clock=lambda: FROZEN, language_code="en", heartbeat=False)

    async def run_before(pilot: Any) -> None:
        from textual.widgets import Input

        from boxoffice_tui.screens.dialogs import SupervisorDialog
        from boxoffice_tui.screens.events import EventsScreen

        await pilot.pause()
        await app.switch_screen(EventsScreen())
        await wait_for(pilot, lambda: app.screen.events)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        await pilot.press(*"carla", "enter", *"12")
        for inp in app.screen.query(Input):
            inp.cursor_blink = False
        await pilot.pause()
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    finally:
        stop()
