"""Ticket tokens and gate check-in: signed when a sale confirms, voided on refunds,
verified (online or from an offline snapshot) and checked in once at the gate."""

from core.tickets.checkin import GateChecker, ScanResult, check_in, resolve_event
from core.tickets.issue import (
    IssuedTicket,
    format_serial,
    issue_tickets_in,
    void_tickets_in,
)
from core.tickets.keys import (
    TicketSigner,
    load_or_create_key,
    load_public_keys,
    register_signer,
    terminal_signer,
)
from core.tickets.offline import (
    OfflineGate,
    export_snapshot,
    record_offline_checkin,
    upload_offline_checkins,
    write_snapshot,
)
from core.tickets.token import TicketClaims, TokenError, parse
from core.tickets.views import (
    PaymentSummary,
    TicketView,
    authorize_reprint,
    find_order_id,
    payment_summary,
    record_printed,
    ticket_views,
    ticket_views_in,
)

__all__ = [
    "GateChecker",
    "IssuedTicket",
    "OfflineGate",
    "PaymentSummary",
    "ScanResult",
    "TicketClaims",
    "TicketSigner",
    "TicketView",
    "TokenError",
    "authorize_reprint",
    "check_in",
    "export_snapshot",
    "find_order_id",
    "format_serial",
    "issue_tickets_in",
    "load_or_create_key",
    "load_public_keys",
    "parse",
    "payment_summary",
    "record_offline_checkin",
    "record_printed",
    "register_signer",
    "resolve_event",
    "terminal_signer",
    "ticket_views",
    "ticket_views_in",
    "upload_offline_checkins",
    "void_tickets_in",
    "write_snapshot",
]
