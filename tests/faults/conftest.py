"""The faults tests reuse the payments fixtures: a real sandbox gateway on loopback and a
context whose gateway points at it."""

from tests.payments.conftest import (
    _no_faults,
    cashier,
    cashier_pctx,
    kiosk,
    kiosk_pctx,
    pctx,
    sandbox,
)

__all__ = ["_no_faults", "cashier", "cashier_pctx", "kiosk", "kiosk_pctx", "pctx", "sandbox"]
