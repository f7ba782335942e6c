"""Gate check-in against PostgreSQL: once only under concurrency, every rejection reason."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from core.tickets import GateChecker, TicketSigner, void_tickets_in
from core.tickets.token import VERSION, TicketClaims, encode, parse
from core.uow import unit_of_work
from tests.printing.conftest import event_id, sell


def test_sixteen_gates_scanning_one_ticket_accept_exactly_once(ctx, counter, gate_ctx, gate_actor):
    _, [ticket] = sell(ctx, counter, seats=1)
    checkers = [GateChecker(gate_ctx, gate_actor, f"G{i}") for i in range(16)]
    barrier = threading.Barrier(16)
    results: list = [None] * 16

    def scan(i: int) -> None:
        barrier.wait()
        results[i] = checkers[i].scan(ticket.token, uuid.uuid4())

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    accepted = [r for r in results if r.accepted]
    assert len(accepted) == 1
    rejected = [r for r in results if not r.accepted]
    assert len(rejected) == 15 and {r.reason for r in rejected} == {"already_used"}
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from checkins where serial = :s"),
                      {"s": ticket.serial}).scalar_one()
        gate = c.execute(text("select used_gate from tickets where serial = :s"),
                         {"s": ticket.serial}).scalar_one()
    assert n == 1
    # The rejection names the gate that let the ticket in.
    assert all(f"gate {gate}" in r.message("en") for r in rejected)


def test_refunded_ticket_is_rejected_as_revoked(ctx, counter, gate_ctx, gate_actor):
    order, tickets = sell(ctx, counter, seats=2)
    with unit_of_work(ctx.engine) as conn:
        void_tickets_in(conn, counter, order.order_id, [tickets[0].line_id], "refund")
    gate = GateChecker(gate_ctx, gate_actor, "A")
    r = gate.scan(tickets[0].token, uuid.uuid4())
    assert not r.accepted and r.reason == "revoked"
    assert r.line().startswith("REJECT revoked")
    assert gate.scan(tickets[1].token, uuid.uuid4()).accepted


def test_second_scan_says_when_and_where(ctx, counter, gate_ctx, gate_actor):
    _, [t] = sell(ctx, counter, seats=1)
    gate = GateChecker(gate_ctx, gate_actor, "EAST")
    first = gate.scan(t.token, uuid.uuid4())
    assert first.accepted and first.line().startswith("ACCEPT")
    second = gate.scan(t.token, uuid.uuid4())
    assert second.reason == "already_used" and "gate EAST" in second.line()
    assert second.details["at"].count(":") == 1  # HH:MM in the venue's time zone


def test_retried_scan_with_same_key_returns_first_answer(ctx, counter, gate_ctx, gate_actor):
    _, [t] = sell(ctx, counter, seats=1)
    gate = GateChecker(gate_ctx, gate_actor, "B")
    key = uuid.uuid4()
    assert gate.scan(t.token, key).accepted
    assert gate.scan(t.token, key).accepted  # lost reply, same key: still ACCEPT
    assert gate.scan(t.token, uuid.uuid4()).reason == "already_used"


def test_wrong_event_and_wrong_day(ctx, counter, gate_ctx, gate_actor):
    _, [today] = sell(ctx, counter, "COMEDIA-HOJE", seats=1)
    _, [later] = sell(ctx, counter, "SINATRA", seats=1)
    sinatra = event_id(ctx, "SINATRA")
    assert GateChecker(gate_ctx, gate_actor, "C", event_id=sinatra).scan(
        today.token, uuid.uuid4()).reason == "wrong_event"
    r = GateChecker(gate_ctx, gate_actor, "C").scan(later.token, uuid.uuid4())
    assert r.reason == "wrong_day" and "SINATRA" in r.message()
    # A gate configured with a wide window lets the same ticket in.
    wide = GateChecker(gate_ctx, gate_actor, "C", opens_before=timedelta(days=10))
    assert wide.scan(later.token, uuid.uuid4()).accepted


def test_forged_and_unknown_key_tokens(ctx, counter, gate_ctx, gate_actor):
    _, [t] = sell(ctx, counter, seats=1)
    gate = GateChecker(gate_ctx, gate_actor, "D")
    # Same claims signed by a key nobody registered.
    rogue = TicketSigner(Ed25519PrivateKey.generate())
    c = parse(t.token).claims
    forged_claims = TicketClaims(VERSION, rogue.key_id, c.serial, c.event_id, c.issued_at,
                                 c.kind, c.place_id, c.unit)
    p = forged_claims.pack()
    assert gate.scan(encode(p, rogue.sign(p)), uuid.uuid4()).reason == "unknown_key"
    # Claims rewritten (another seat) under the real key id: the signature breaks.
    moved = TicketClaims(VERSION, c.key_id, c.serial, c.event_id, c.issued_at, c.kind,
                         c.place_id + 1, c.unit).pack()
    assert gate.scan(encode(moved, parse(t.token).signature), uuid.uuid4()).reason \
        == "bad_signature"
    assert gate.scan("HELLO", uuid.uuid4()).reason == "malformed"
    assert gate.scan(t.token, uuid.uuid4()).accepted  # the real one still works


def _card_check_due(ctx, order) -> None:
    """The owner seeds what a card sale leaves (migration 0013's trigger writes it for a
    terminal's card order): a pending payment check, due now."""
    with ctx.engine.begin() as c:
        c.execute(text(
            "insert into payment_checks (order_id, intent_id, hold_id, terminal_id,"
            " amount_minor, currency) select id, 'pi_seeded', hold_id, terminal_id,"
            " total_minor, currency from orders where id = :o"), {"o": order.order_id})


def test_the_gate_says_wait_while_a_card_payment_is_verified(ctx, counter, gate_ctx,
                                                             gate_actor):
    """The scan command's line for a ticket whose card payment the worker has not checked
    yet: WAIT, not ACCEPT nor REJECT, in the gate's language; nothing is used; once the
    worker says the payment is good, the same ticket is accepted."""
    import io

    from boxoffice_cli.printing_cmds import _scan_lines

    order, [ticket] = sell(ctx, counter, seats=1)
    _card_check_due(ctx, order)
    gate = GateChecker(gate_ctx, gate_actor, "NORTE")
    out = io.StringIO()
    counts = _scan_lines(gate.scan, io.StringIO(ticket.token + "\n"), out, "pt-BR")
    assert counts == {"accept": 0, "reject": 0, "wait": 1}
    assert out.getvalue().startswith("WAIT verifying: Pagamento em verificação")
    with ctx.engine.connect() as c:
        status = c.execute(text("select status from tickets where serial = :s"),
                           {"s": ticket.serial}).scalar_one()
    assert status == "valid"
    with ctx.engine.begin() as c:  # the worker's verdict (the owner may record one too)
        c.execute(text("select * from bo_record_payment_check(:o, 'ok', 'captured',"
                       " 'succeeded')"), {"o": order.order_id})
    out = io.StringIO()
    counts = _scan_lines(gate.scan, io.StringIO(ticket.token + "\n"), out, "es")
    assert counts == {"accept": 1, "reject": 0, "wait": 0}
    assert out.getvalue().startswith("ACCEPT")


def test_a_voided_card_order_is_rejected_after_the_wait(ctx, counter, gate_ctx, gate_actor):
    order, [ticket] = sell(ctx, counter, seats=1)
    _card_check_due(ctx, order)
    gate = GateChecker(gate_ctx, gate_actor, "SUL")
    first = gate.scan(ticket.token, uuid.uuid4())
    assert first.waiting and first.line("en").startswith("WAIT verifying: Payment being")
    with ctx.engine.begin() as c:
        c.execute(text("select * from bo_record_payment_check(:o, 'unverified',"
                       " 'intent_missing', null)"), {"o": order.order_id})
    second = gate.scan(ticket.token, uuid.uuid4())
    assert (second.accepted, second.reason, second.waiting) == (False, "revoked", False)
