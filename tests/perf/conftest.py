"""The payments fixtures (a real sandbox gateway, a context aimed at it, actors)."""

from tests.payments.conftest import _no_faults, cashier, kiosk, pctx, sandbox

__all__ = ["_no_faults", "cashier", "kiosk", "pctx", "sandbox"]
