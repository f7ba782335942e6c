"""Reports read the module's database after real sales, refunds and price changes."""

from tests.payments.conftest import (  # noqa: F401 - fixtures for this package
    _no_faults,
    cashier,
    cashier_pctx,
    kiosk,
    kiosk_pctx,
    pctx,
    sandbox,
)
