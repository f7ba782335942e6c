"""Lease statements, built once at import.

Locking (ARCHITECTURE.md), inside the database functions: a lease row is locked before
its seats; seat rows are locked in (event_id, seat_id) order with the transaction's short
lock timeout, or picked with SKIP LOCKED so a lease never queues behind buyers.
"""

from __future__ import annotations

from sqlalchemy import text

# Taking and returning a lease, and applying a sale made from it, run in the database
# (migration 0014: bo_take_lease, bo_return_lease, bo_confirm_leased_sale), which checks
# what a terminal's login could otherwise skip: whose lease it is, a supervisor's
# approval, the quoted prices, the reserved serials and order numbers.
TAKE_LEASE = text(
    "select bo_take_lease(:lease_id, :terminal_id, :event_id, cast(:seat_ids as bigint[]),"
    " :section_id, :quantity, :operator_id, :approver_id, :proof)"
)

RETURN_LEASE = text("select bo_return_lease(:lease_id, :revoke, :approver_id, :proof)")

# Everything a leased sale writes, in one call: the lease's seats (or GA units) sold, a
# confirmed hold with its items (orders reference a hold), the order, its lines, the
# lease_sales row, the tickets the terminal signed offline, the payment (and the cash in
# the shift's drawer) and the audit entry.
CONFIRM_LEASED = text(
    "select * from bo_confirm_leased_sale(:key, :order_id, :hold_id, :lease_id, :terminal_id,"
    " :event_id, :operator_id, :shift_id, :number, cast(:seat_ids as bigint[]), :ga_qty,"
    " :method, :card_ref, :total_minor, :currency, :customer_name, :sold_at, :sold_ts,"
    " cast(:tokens as text[]), cast(:printed as integer[]))"
)

LEASE_SEATS = text(
    """
    select ls.seat_id, ls.section_id, es.row_label, es.seat_number, ls.unit_price_minor,
           ls.tier_id, es.status, es.lease_id = ls.lease_id as ours
    from lease_seats ls
    join event_seats es on es.event_id = ls.event_id and es.seat_id = ls.seat_id
    where ls.lease_id = :lease_id order by ls.seat_id
    """
)

ACTIVE_LEASES = text(
    "select id from leases where terminal_id = :terminal_id and status = 'active'"
    " order by created_at, id"
)

LOCK_LEASE_SALE = text(
    """
    select ls.order_id, ls.lease_id, ls.terminal_id, ls.payment_method, ls.card_status,
           ls.flag, o.event_id
    from lease_sales ls join orders o on o.id = ls.order_id
    where ls.order_id = :order_id for update of ls
    """
)

SET_CARD_STATUS = text(
    "update lease_sales set card_status = :status, card_ref = coalesce(:ref, card_ref),"
    " flag = coalesce(:flag, flag) where order_id = :order_id"
)

INSERT_CONFLICT = text(
    """
    insert into sync_conflicts (terminal_id, command_key, command, payload, error_code, error)
    values (:terminal_id, :key, :command, cast(:payload as jsonb), :code, cast(:error as jsonb))
    on conflict (command_key) do nothing
    """
)
