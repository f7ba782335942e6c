"""No way out for a customer; idle reset; the staff exit; SIGTERM; out of service."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

import pytest

from kiosk.app import BLOCKED_KEYS
from kiosk.screens.attract import AttractScreen
from kiosk.screens.checkout import PaymentScreen, SummaryScreen
from kiosk.screens.dialogs import StaffExitDialog, StillThereDialog
from kiosk.screens.service import OutOfServiceScreen
from tests.kiosk.conftest import scalar, wait_for
from tests.kiosk.helpers import SIZE, shown, started, tap, to_summary

pytestmark = [pytest.mark.db, pytest.mark.anyio]


def hold_status(kctx: Any, hold_id: Any) -> str:
    return scalar(kctx, "select status from holds where id = :h", h=hold_id)


async def test_escape_keys_leave_the_app_on_its_screen(make_app: Any, kctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        for key in (*BLOCKED_KEYS, "escape", "ctrl+c", "ctrl+q"):
            await pilot.press(key)
            await pilot.pause()
            assert app.is_running, key
            assert isinstance(app.screen, AttractScreen), key
        assert len(app.screen_stack) == 2  # no palette, no help, nothing pushed
        await to_summary(pilot)
        for key in BLOCKED_KEYS:
            await pilot.press(key)
            await pilot.pause()
            assert app.is_running, key
            assert isinstance(app.screen, SummaryScreen), key
        assert hold_status(kctx, app.purchase.hold.hold_id) == "active"
        await tap(pilot, "#cancel")
        await shown(pilot, AttractScreen)
        await app.workers.wait_for_complete()
    assert app.return_code is None or app.return_code == 0


async def test_idle_prompt_then_release_and_attract(make_app: Any, kctx: Any,
                                                    clock: Any) -> None:
    app = make_app(idle_s=30, prompt_s=10)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        hold = app.purchase.hold
        clock.advance(29)
        app.tick()
        assert isinstance(app.screen, SummaryScreen)
        clock.advance(2)
        app.tick()
        await shown(pilot, StillThereDialog)
        # "Yes, continue" keeps everything.
        await tap(pilot, "#here")
        await shown(pilot, SummaryScreen)
        assert hold_status(kctx, hold.hold_id) == "active"
        # Any touch counts as activity.
        clock.advance(25)
        await pilot.click("#order-lines")
        clock.advance(25)
        app.tick()
        await pilot.pause()
        assert isinstance(app.screen, SummaryScreen)
        clock.advance(6)
        app.tick()
        await shown(pilot, StillThereDialog)
        clock.advance(9)
        app.tick()
        assert isinstance(app.screen, StillThereDialog)
        clock.advance(2)
        app.tick()
        await shown(pilot, AttractScreen)
        await app.workers.wait_for_complete()
        assert hold_status(kctx, hold.hold_id) == "released"
        assert app.purchase is None
        # Attract never prompts.
        clock.advance(1000)
        app.tick()
        await pilot.pause()
        assert isinstance(app.screen, AttractScreen)


async def test_hold_countdown_running_out_releases(make_app: Any, kctx: Any,
                                                   clock: Any) -> None:
    app = make_app(idle_s=3600)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        hold = app.purchase.hold
        ttl = kctx.settings.holds.kiosk_ttl_s
        clock.advance(ttl - 60)
        app.tick()
        text = str(app.screen.query_one("#hold-left").render())
        assert "0:50" in text  # ten seconds of margin before the database's expiry
        clock.advance(51)
        app.touch()
        app.tick()
        await shown(pilot, AttractScreen)
        await app.workers.wait_for_complete()
        assert hold_status(kctx, hold.hold_id) == "released"
        assert "released" in str(app.screen.query_one("#message").render())


async def test_staff_exit_needs_a_supervisor_pin(make_app: Any, kctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        hold = app.purchase.hold
        # Five taps on the hidden corner open the staff dialog.
        for _ in range(5):
            await pilot.click("#staff-corner")
        await shown(pilot, StaffExitDialog)
        await pilot.press(*"carla", "enter", *"0000", "enter")
        msg = app.screen.query_one("#staff-msg")
        await wait_for(pilot, lambda: "Wrong" in str(msg.render()))
        assert app.is_running
        # A cashier's right PIN is not enough either.
        app.screen.query_one("#staff-login").value = "ana"
        await pilot.click("#staff-pin")
        await pilot.press(*"1234", "enter")
        await wait_for(pilot, lambda: "Wrong" in str(msg.render()) and
                       not app.screen.query_one("#staff-pin").value)
        await app.workers.wait_for_complete()
        assert app.is_running
        app.screen.query_one("#staff-login").value = "carla"
        await pilot.click("#staff-pin")
        await pilot.press(*"9999", "enter")
        await wait_for(pilot, lambda: not app.is_running)
    assert hold_status(kctx, hold.hold_id) == "released"
    state = scalar(kctx, "select state from terminals where name = :n",
                   n=app.services.terminal_name)
    assert state["screen"] == "stopped"


async def test_sigterm_ends_cleanly_releasing_holds(make_app: Any, kctx: Any) -> None:
    app = make_app(handle_signals=True)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        hold = app.purchase.hold
        os.kill(os.getpid(), signal.SIGTERM)
        await wait_for(pilot, lambda: not app.is_running)
    assert hold_status(kctx, hold.hold_id) == "released"
    # The handler is gone with the app: the test process keeps its default.
    assert asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM) is False


async def test_out_of_service_when_the_breaker_is_open(make_app: Any, kctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        kctx.gateway.breaker.force("open")
        app.poll_health()
        await shown(pilot, OutOfServiceScreen)
        assert "card payments" in str(app.screen.query_one("#reasons").render())
        state = app.terminal_state()
        assert state["out_of_service"] == ["card"] and state["breaker"] == "open"
        kctx.gateway.breaker.force("closed")
        app.poll_health()
        await shown(pilot, AttractScreen)
        # The circuit opens while a customer is on the summary: no money is taken.
        await to_summary(pilot)
        hold = app.purchase.hold
        sales_before = scalar(kctx, "select count(*) from sales")
        kctx.gateway.breaker.force("open")
        await tap(pilot, "#pay")
        await shown(pilot, OutOfServiceScreen)
        await app.workers.wait_for_complete()
        assert hold_status(kctx, hold.hold_id) == "released"
        assert scalar(kctx, "select count(*) from sales") == sales_before


async def test_out_of_service_when_the_printer_is_failing(make_app: Any, kctx: Any,
                                                          printer: Any, spooler: Any) -> None:
    from printing.layout import printer_test_document

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        hold = app.purchase.hold
        # The printer fails on the customer's way to the card: a job for another order
        # (a reprint) finds it off.
        printer.off()
        spooler.submit_documents([printer_test_document(terminal="kiosk-test")])
        await wait_for(pilot, lambda: spooler.state().online is False)
        sales_before = scalar(kctx, "select count(*) from sales")
        await tap(pilot, "#card-0")
        await shown(pilot, OutOfServiceScreen)
        await app.workers.wait_for_complete()
        assert "printer" in str(app.screen.query_one("#reasons").render())
        assert scalar(kctx, "select count(*) from sales") == sales_before
        assert hold_status(kctx, hold.hold_id) == "released"
        state = app.terminal_state()
        assert state["printer"] == "offline" and state["out_of_service"] == ["printer"]
        # Printer back: the queued job prints and the kiosk sells again.
        printer.on()
        spooler.retry_now()
        await wait_for(pilot, lambda: spooler.state().online is True)
        app.poll_health()
        await shown(pilot, AttractScreen)


async def test_self_exclusion_refuses_a_listed_customer(make_app: Any, kctx: Any,
                                                       ctx: Any, terminal_logins: Any) -> None:
    from core.actors import authenticate
    from core.selfexclusion import add_exclusion
    from kiosk.screens.checkout import IdentifyScreen

    # The exclusion desk (a monitor login of its own, carla's PIN typed there) lists the
    # customer; the kiosk refuses them.
    desk_ctx = terminal_logins.context("exclusion-desk", "monitor", ctx.settings)
    carla = authenticate(desk_ctx.engine, "carla", "9999")
    add_exclusion(desk_ctx.engine,
                  terminal_logins.actor("exclusion-desk", "monitor", carla.id, carla.role),
                  uuid.uuid4(), "123.456.789-09", approver=carla)
    app = make_app(self_exclusion=True, age_gate=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary_via_id(pilot, "98765432100")
        assert isinstance(app.screen, SummaryScreen)
        await tap(pilot, "#back")
        await shown(pilot, IdentifyScreen)
        hold = app.purchase.hold
        for key in "12345678909":
            await pilot.click(f"#key-{key}")
        assert app.screen.query_one("#identifier").value == "12345678909"
        await tap(pilot, "#id-continue")
        await shown(pilot, AttractScreen)
        await app.workers.wait_for_complete()
        assert "staff" in str(app.screen.query_one("#message").render())
        assert hold_status(kctx, hold.hold_id) == "released"


async def to_summary_via_id(pilot: Any, identifier: str) -> None:
    from kiosk.screens.checkout import IdentifyScreen
    from tests.kiosk.helpers import to_seats

    await to_seats(pilot)
    await tap(pilot, "#keep")
    await shown(pilot, IdentifyScreen)
    await pilot.press(*identifier, "enter")
    await shown(pilot, SummaryScreen)


async def test_attract_cycles_through_the_shows(make_app: Any, clock: Any) -> None:
    app = make_app(attract_cycle_s=6)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        featured = app.screen.query_one("#featured")
        first = str(featured.label)
        app.tick()
        clock.advance(5)
        app.tick()
        assert str(featured.label) == first
        clock.advance(1)
        app.tick()
        assert str(featured.label) != first
        # A touch on the featured show starts buying it.
        name = str(featured.label).splitlines()[0]
        await tap(pilot, "#featured")
        await wait_for(pilot, lambda: app.purchase is not None)
        assert app.purchase.event.name == name


async def test_sigterm_during_a_card_payment_finishes_the_sale_first(
        make_app: Any, kctx: Any, sandbox: Any, printer: Any) -> None:
    app = make_app(handle_signals=True, age_gate=False)
    before = printer.count
    try:
        async with app.run_test(size=SIZE) as pilot:
            await to_summary(pilot, "COMEDIA-HOJE", 2)
            hold = app.purchase.hold
            await tap(pilot, "#pay")
            await shown(pilot, PaymentScreen)
            sandbox.set_faults(latency_ms=600)
            await tap(pilot, "#card-0")
            await wait_for(pilot, lambda: app.screen.busy)
            os.kill(os.getpid(), signal.SIGTERM)
            await wait_for(pilot, lambda: not app.is_running, timeout=40)
    finally:
        sandbox.set_faults(latency_ms=0)
    assert hold_status(kctx, hold.hold_id) == "confirmed"
    assert scalar(kctx, "select state from sales where hold_id = :h", h=hold.hold_id) \
        == "completed"
    assert printer.count - before == 3  # two tickets and the receipt went out first
