"""Role sessions compose the shared terminal session: the kiosk gets no cashier method,
the monitor no selling, and all three share the seat maps, holds, breaker and printer."""

from __future__ import annotations

import pytest

from terminal.counter import CounterSession
from terminal.kiosk import KioskSession
from terminal.monitor import MonitorSession
from terminal.session import TerminalSession

CASHIER_ONLY = ("pay_cash", "pay_card", "open_shift", "close_shift", "x_report",
                "approve_variance", "current_shift", "refund", "refund_needs_approval",
                "find_orders", "reprint", "sell_offline", "offline_cart", "start_sync",
                "take_leases", "sign_in", "sign_out")
SHARED = ("events", "seat_map", "availability", "subscribe", "hold_seats", "hold_best",
          "hold_ga", "release", "extend", "breaker", "heartbeat", "printer_state",
          "printer_online", "queue_depth", "verify_supervisor", "start", "actor")


@pytest.mark.parametrize("name", CASHIER_ONLY)
def test_the_kiosk_and_the_monitor_have_no_cashier_method(name: str) -> None:
    assert hasattr(CounterSession, name)
    assert not hasattr(KioskSession, name)
    assert not hasattr(MonitorSession, name)


@pytest.mark.parametrize("name", SHARED)
def test_every_role_shares_the_terminal_session(name: str) -> None:
    for role in (CounterSession, KioskSession, MonitorSession):
        assert issubclass(role, TerminalSession)
        assert hasattr(role, name), (role.__name__, name)


def test_kiosk_selling_and_monitor_approval_stay_with_their_role() -> None:
    for name in ("pay", "readiness", "release_all", "swap_hold", "check_exclusion",
                 "print_tickets", "wait_printed", "withdraw_print"):
        assert hasattr(KioskSession, name)
        assert not hasattr(CounterSession, name)
    for name in ("monitor_snapshot", "approve"):
        assert hasattr(MonitorSession, name)
        assert not hasattr(CounterSession, name) and not hasattr(KioskSession, name)


def test_roles_register_and_act_as_their_kind() -> None:
    assert (CounterSession.kind, CounterSession.channel) == ("cashier", "counter")
    assert (KioskSession.kind, KioskSession.channel) == ("kiosk", "kiosk")
    assert MonitorSession.kind == "monitor"
