"""Issue 13 item 15: the adapter reads what Stripe really sends.

A loopback HTTP server answers with the documented shapes of Stripe's API (version
2024-06-20): a PaymentIntent has no ``amount_refunded`` and its ``latest_charge`` is a
charge id unless the request asks for ``expand[]=latest_charge``; the refunded amount is
on the Charge. Nothing of ours is mocked: the real StripeGateway talks HTTP to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from core.payments import CircuitBreaker, StripeGateway


def _charge(state: dict[str, Any]) -> dict[str, Any]:
    # Stripe's Charge object (the fields that matter, as documented; refunds is a list
    # object that is only included when expanded, so it is left out).
    return {"id": "ch_3Shape", "object": "charge", "amount": state["amount"],
            "amount_captured": state["received"], "amount_refunded": state["refunded"],
            "captured": state["received"] > 0, "currency": "brl", "paid": True,
            "payment_intent": "pi_3Shape", "payment_method": "pm_1Visa",
            "refunded": state["refunded"] == state["received"] > 0, "status": "succeeded",
            "livemode": False, "metadata": {}}


def _intent(state: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    # Stripe's PaymentIntent: no amount_refunded; latest_charge is an id unless expanded.
    return {"id": "pi_3Shape", "object": "payment_intent", "amount": state["amount"],
            "amount_capturable": state["amount"] - state["received"]
            if state["status"] == "requires_capture" else 0,
            "amount_received": state["received"], "capture_method": "manual",
            "client_secret": "pi_3Shape_secret_x", "confirmation_method": "automatic",
            "created": 1733040000, "currency": "brl", "customer": None,
            "description": None, "last_payment_error": None,
            "latest_charge": _charge(state) if "latest_charge" in expand else "ch_3Shape",
            "livemode": False, "metadata": {"sale_id": "s-1"}, "next_action": None,
            "payment_method": "pm_1Visa", "payment_method_types": ["card"],
            "status": state["status"]}


class _StripeShaped(BaseHTTPRequestHandler):
    state: dict[str, Any]
    seen: list[tuple[str, str, list[tuple[str, str]]]]

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, body: dict[str, Any], status: int = 200) -> None:
        blob = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        self.wfile.write(blob)

    def _expand(self, pairs: list[tuple[str, str]]) -> list[str]:
        return [v for k, v in pairs if k == "expand[]" or k.startswith("expand[")]

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        pairs = parse_qsl(url.query)
        self.seen.append(("GET", url.path, pairs))
        if url.path == "/v1/payment_intents":
            # Stripe's list object; expand names fields inside "data".
            inner = [e[len("data."):] for e in self._expand(pairs) if e.startswith("data.")]
            q = dict(pairs)
            inside = int(q.get("created[gte]", 0)) <= 1733040000 <= int(
                q.get("created[lte]", 2**40))
            self._answer({"object": "list", "url": "/v1/payment_intents", "has_more": False,
                          "data": [_intent(self.state, inner)] if inside else []})
            return
        self._answer(_intent(self.state, self._expand(pairs)))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        pairs = parse_qsl(self.rfile.read(length).decode()) + parse_qsl(url.query)
        self.seen.append(("POST", url.path, pairs))
        form = dict(pairs)
        s = self.state
        if url.path == "/v1/refunds":
            amount = int(form.get("amount") or s["received"] - s["refunded"])
            s["refunded"] += amount
            self._answer({"id": "re_3Shape", "object": "refund", "amount": amount,
                          "charge": "ch_3Shape", "currency": "brl",
                          "payment_intent": "pi_3Shape", "status": "succeeded"})
            return
        if url.path.endswith("/capture"):
            s["status"], s["received"] = "succeeded", s["amount"]
        elif url.path.endswith("/cancel"):
            s["status"] = "canceled"
        else:
            s["status"] = "requires_capture"
        self._answer(_intent(s, self._expand(pairs)))


@pytest.fixture
def stripe_shaped() -> Iterator[tuple[StripeGateway, type[_StripeShaped]]]:
    handler = type("Handler", (_StripeShaped,), {
        "state": {"amount": 5000, "received": 0, "refunded": 0, "status": "none"},
        "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    g = StripeGateway(f"http://127.0.0.1:{server.server_address[1]}", "sk_test_shape",
                      breaker=CircuitBreaker("shape"), retry_attempts=1)
    yield g, handler
    g.close()
    server.shutdown()
    server.server_close()


def test_refunded_amount_is_read_from_the_charge_stripe_sends(stripe_shaped):
    g, _ = stripe_shaped
    pi = g.authorize(5000, "BRL", "pm_card_visa", idempotency_key="k-auth")
    assert pi.status == "requires_capture"
    assert g.capture(pi.id, idempotency_key="k-cap").amount_received_minor == 5000
    assert g.lookup(pi.id).amount_refunded_minor == 0
    g.refund(pi.id, 1000, idempotency_key="k-ref")
    got = g.lookup(pi.id)
    assert (got.amount_received_minor, got.amount_refunded_minor) == (5000, 1000)
    g.refund(pi.id, None, idempotency_key="k-ref-2")
    # What the saga's reversal compares: fully refunded, nothing left to give back.
    got = g.lookup(pi.id)
    assert got.amount_refunded_minor == got.amount_received_minor == 5000


def test_every_intent_request_asks_for_the_charge_it_reads(stripe_shaped):
    g, handler = stripe_shaped
    pi = g.authorize(5000, "BRL", "pm_card_visa", idempotency_key="k-a")
    g.lookup(pi.id)
    g.capture(pi.id, idempotency_key="k-c")
    for method, path, pairs in handler.seen:
        if path.startswith("/v1/payment_intents"):
            assert ("latest_charge" in [v for k, v in pairs if k.startswith("expand[")]), \
                (method, path, pairs)


def test_intents_of_a_sale_are_found_by_listing_not_by_authorizing(stripe_shaped):
    g, handler = stripe_shaped
    pi = g.authorize(5000, "BRL", "pm_card_visa", idempotency_key="k-f",
                     metadata={"sale_id": "s-1"})
    g.capture(pi.id, idempotency_key="k-fc")
    g.refund(pi.id, 700, idempotency_key="k-fr")
    handler.seen.clear()
    found = g.find_intents({"sale_id": "s-1"}, created_from=1733039000,
                           created_to=1733041000)
    assert [(i.id, i.amount_refunded_minor) for i in found] == [(pi.id, 700)]
    assert g.find_intents({"sale_id": "s-2"}, created_from=1733039000,
                          created_to=1733041000) == []
    assert g.find_intents({"sale_id": "s-1"}, created_from=1, created_to=2) == []
    assert {(m, p) for m, p, _ in handler.seen} == {("GET", "/v1/payment_intents")}
