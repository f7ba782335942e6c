"""The payments fixtures (a real sandbox gateway, a context aimed at it, actors) and the
security tests' terminal logins (``provision``)."""

from tests.payments.conftest import _no_faults, cashier, kiosk, pctx, sandbox
from tests.security.conftest import provision

__all__ = ["_no_faults", "cashier", "kiosk", "pctx", "provision", "sandbox"]
