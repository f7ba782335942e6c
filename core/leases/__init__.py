"""Offline allocations (leases) and the exactly-once application of offline sales."""

from core.leases.confirm import (
    PERMANENT,
    confirm_leased_sale,
    confirm_leased_sales,
    record_conflict,
    set_card_outcome,
)
from core.leases.results import LeasedSale, LeasedSeat, LeaseInfo, LeaseReturn
from core.leases.service import (
    active_leases,
    lease_info,
    resolve_codes,
    return_lease,
    take_lease,
)

__all__ = [
    "PERMANENT",
    "LeaseInfo",
    "LeaseReturn",
    "LeasedSale",
    "LeasedSeat",
    "active_leases",
    "confirm_leased_sale",
    "confirm_leased_sales",
    "lease_info",
    "record_conflict",
    "resolve_codes",
    "return_lease",
    "set_card_outcome",
    "take_lease",
]
