"""Selling: the card/cash sale saga and its recovery, shifts and cash drawers, refunds,
exchanges and supervisor approvals."""

from core.sales.approvals import REFUND_REASONS, VARIANCE_REASONS, SupervisorPin
from core.sales.recovery import RecoveryReport, recover_stuck_sales
from core.sales.refunds import (
    ExchangeResult,
    OrderLineView,
    RefundResult,
    exchange,
    order_lines,
    refund,
    refund_needs_approval,
    retry_pending_refunds,
)
from core.sales.saga import (
    CardTender,
    CashTender,
    CheckoutResult,
    Tender,
    checkout,
)
from core.sales.shifts import (
    ShiftClose,
    ShiftInfo,
    ShiftReport,
    TenderTotals,
    approve_variance,
    close_shift,
    current_shift,
    open_shift,
    x_report,
    z_report,
)

__all__ = [
    "REFUND_REASONS",
    "VARIANCE_REASONS",
    "CardTender",
    "CashTender",
    "CheckoutResult",
    "ExchangeResult",
    "OrderLineView",
    "RecoveryReport",
    "RefundResult",
    "ShiftClose",
    "ShiftInfo",
    "ShiftReport",
    "SupervisorPin",
    "Tender",
    "TenderTotals",
    "approve_variance",
    "checkout",
    "close_shift",
    "current_shift",
    "exchange",
    "open_shift",
    "order_lines",
    "recover_stuck_sales",
    "refund",
    "refund_needs_approval",
    "retry_pending_refunds",
    "x_report",
    "z_report",
]
