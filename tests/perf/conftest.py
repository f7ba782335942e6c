"""The payments fixtures (a real sandbox gateway, a context aimed at it, actors) and the
security tests' terminal logins (``provision``)."""

from tests.payments.conftest import (
    _no_faults,
    cashier,
    cashier_pctx,
    kiosk,
    kiosk_pctx,
    pctx,
    sandbox,
)
from tests.security.conftest import provision

__all__ = ["_no_faults", "cashier", "cashier_pctx", "kiosk", "kiosk_pctx", "pctx",
           "provision", "sandbox"]
