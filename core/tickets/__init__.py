"""Ticket tokens and gate check-in: signed when a sale confirms, voided on refunds,
verified (online or from an offline snapshot) and checked in once at the gate."""

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
from core.tickets.token import TicketClaims, TokenError, parse

__all__ = [
    "IssuedTicket",
    "TicketClaims",
    "TicketSigner",
    "TokenError",
    "format_serial",
    "issue_tickets_in",
    "load_or_create_key",
    "load_public_keys",
    "parse",
    "register_signer",
    "terminal_signer",
    "void_tickets_in",
]
