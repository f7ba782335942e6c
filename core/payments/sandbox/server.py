"""The sandbox gateway: a real HTTP server speaking the Stripe PaymentIntents subset we use,
with Stripe's test payment methods, Stripe's idempotency rules, a ledger to audit
against, and faults that can be switched on while it runs.

Idempotency follows Stripe's documentation: the first request with a key that starts
executing has its status and body saved; a replay with the same key and the same
parameters gets that saved answer (header ``Idempotent-Replayed: true``), a replay with
other parameters gets a 400 ``idempotency_error``, and a replay while the first is still
running gets a 409 ``idempotency_key_in_use``.

Faults (``POST /_sandbox/faults``):
- ``latency_ms``: added to every API request;
- ``error_rate``: a 500 before the request executes (like a failing load balancer: nothing
  saved under the key, so a replay executes it);
- ``timeout_rate``: the request hangs ``hang_s`` seconds, then 504, without executing;
- ``ambiguous_rate``: the request executes and its result is saved, then the connection
  is dropped before the answer is complete: only a replay of the key tells the outcome.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

# Stripe's test payment methods and card numbers -> (code, decline_code, brand) where
# code None means approved.
TEST_METHODS: dict[str, tuple[str | None, str | None, str]] = {
    "pm_card_visa": (None, None, "visa"),
    "pm_card_mastercard": (None, None, "mastercard"),
    "pm_card_amex": (None, None, "amex"),
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "visa"),
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds", "visa"),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "visa"),
    "pm_card_chargeDeclinedIncorrectCvc": ("incorrect_cvc", "incorrect_cvc", "visa"),
}
TEST_NUMBERS: dict[str, str] = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "378282246310005": "pm_card_amex",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
    "4000000000000127": "pm_card_chargeDeclinedIncorrectCvc",
    "4000000000000341": "pm_card_chargeDeclined",
}


IDEM_TTL_S = 24 * 3600
_LAST4 = {pm: number[-4:] for number, pm in reversed(TEST_NUMBERS.items())}
IDEM_PRUNE_AT = 50_000


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 30.0
    ambiguous_rate: float = 0.0


class _Drop(Exception):
    """Raised after a partial answer so the server closes the connection."""


class DroppedResponse(Response):
    """Headers and half a body, then the connection goes away."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"id": "', "more_body": True})
        raise _Drop()


def _err(status: int, etype: str, code: str, message: str, **extra: Any) -> tuple[int, dict]:
    return status, {"error": {"type": etype, "code": code, "message": message, **extra}}


class SandboxState:
    """Everything the sandbox knows; guarded by one lock (handlers never await inside)."""

    def __init__(self, seed: int | None = None) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.faults = Faults()
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.idem: dict[str, tuple[Any, int, dict] | None] = {}
        self.idem_at: dict[str, float] = {}
        self.stats = {"requests": 0, "errors_injected": 0, "timeouts_injected": 0,
                      "dropped": 0, "replayed": 0, "executed": 0}

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.intents.clear()
            self.refunds.clear()
            self.idem.clear()
            self.idem_at.clear()
            for k in self.stats:
                self.stats[k] = 0

    def ledger(self) -> dict[str, Any]:
        with self.lock:
            return {"intents": [dict(v) for v in self.intents.values()],
                    "refunds": [dict(v) for v in self.refunds.values()],
                    "stats": dict(self.stats), "faults": asdict(self.faults)}

    # -- the API -------------------------------------------------------------------------

    def create_intent(self, f: dict[str, str]) -> tuple[int, dict]:
        try:
            amount = int(f.get("amount", ""))
        except ValueError:
            return _err(400, "invalid_request_error", "parameter_invalid_integer",
                        "Invalid integer: amount", param="amount")
        currency = f.get("currency", "").lower()
        if amount <= 0 or len(currency) != 3:
            return _err(400, "invalid_request_error", "parameter_invalid",
                        "amount and currency are required")
        pm = f.get("payment_method") or TEST_NUMBERS.get(
            f.get("payment_method_data[card][number]", ""), "")
        if pm not in TEST_METHODS:
            return _err(400, "invalid_request_error", "resource_missing",
                        f"No such PaymentMethod: '{pm}'", param="payment_method")
        manual = f.get("capture_method", "automatic") == "manual"
        meta = {k[9:-1]: v for k, v in f.items() if k.startswith("metadata[")}
        pi_id = "pi_" + secrets.token_hex(12)
        code, decline, brand = TEST_METHODS[pm]
        confirm = f.get("confirm") == "true"
        pi = {"id": pi_id, "object": "payment_intent", "amount": amount, "currency": currency,
              "capture_method": "manual" if manual else "automatic", "payment_method": pm,
              "metadata": meta, "amount_received": 0, "amount_capturable": 0,
              "amount_refunded": 0, "created": int(time.time()), "latest_charge": None,
              "status": "requires_confirmation", "last_payment_error": None,
              "card_brand": brand}
        self.intents[pi_id] = pi
        if not confirm:
            return 200, pi
        if code is not None:
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {"code": code, "decline_code": decline}
            return _err(402, "card_error", code, "Your card was declined.",
                        decline_code=decline, payment_intent=dict(pi))
        pi["latest_charge"] = "ch_" + secrets.token_hex(12)
        if manual:
            pi["status"], pi["amount_capturable"] = "requires_capture", amount
        else:
            pi["status"], pi["amount_received"] = "succeeded", amount
        return 200, pi

    def list_intents(self, q: dict[str, str]) -> tuple[int, dict]:
        """Stripe's list: newest first, ``created[gte|lte]``, ``limit``, ``starting_after``."""
        try:
            lo = int(q.get("created[gte]", 0))
            hi = int(q.get("created[lte]", 2**62))
            limit = max(1, min(100, int(q.get("limit", 10))))
        except ValueError:
            return _err(400, "invalid_request_error", "parameter_invalid_integer",
                        "Invalid integer in list parameters")
        # Creation order (dicts keep it), newest first as Stripe lists.
        rows = [pi for pi in reversed(self.intents.values()) if lo <= pi["created"] <= hi]
        after = q.get("starting_after")
        if after:
            ids = [pi["id"] for pi in rows]
            rows = rows[ids.index(after) + 1:] if after in ids else []
        return 200, {"object": "list", "url": "/v1/payment_intents",
                     "has_more": len(rows) > limit, "data": rows[:limit]}

    def capture(self, pi_id: str, f: dict[str, str]) -> tuple[int, dict]:
        pi = self.intents.get(pi_id)
        if pi is None:
            return _missing(pi_id)
        if pi["status"] != "requires_capture":
            return _unexpected(pi, "captured")
        amount = int(f.get("amount_to_capture") or pi["amount"])
        if amount > pi["amount"]:
            return _err(400, "invalid_request_error", "amount_too_large",
                        "amount_to_capture is larger than the authorized amount")
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return 200, pi

    def cancel(self, pi_id: str) -> tuple[int, dict]:
        pi = self.intents.get(pi_id)
        if pi is None:
            return _missing(pi_id)
        if pi["status"] not in ("requires_payment_method", "requires_capture",
                                "requires_confirmation", "requires_action"):
            return _unexpected(pi, "canceled")
        pi.update(status="canceled", amount_capturable=0)
        return 200, pi

    def refund(self, f: dict[str, str]) -> tuple[int, dict]:
        pi = self.intents.get(f.get("payment_intent", ""))
        if pi is None:
            return _missing(f.get("payment_intent", ""))
        if pi["status"] != "succeeded":
            return _err(400, "invalid_request_error", "charge_not_refundable" if
                        pi["status"] != "canceled" else "payment_intent_unexpected_state",
                        "This PaymentIntent has no successful charge to refund.")
        left = pi["amount_received"] - pi["amount_refunded"]
        amount = int(f.get("amount") or left)
        if left <= 0:
            return _err(400, "invalid_request_error", "charge_already_refunded",
                        "This charge has already been refunded.")
        if amount <= 0 or amount > left:
            return _err(400, "invalid_request_error", "amount_too_large",
                        f"Refund amount ({amount}) is greater than unrefunded amount ({left}).")
        pi["amount_refunded"] += amount
        re = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
              "currency": pi["currency"], "payment_intent": pi["id"],
              "charge": pi["latest_charge"], "status": "succeeded", "created": int(time.time())}
        self.refunds[re["id"]] = re
        return 200, re


def _missing(pi_id: str) -> tuple[int, dict]:
    return _err(404, "invalid_request_error", "resource_missing",
                f"No such payment_intent: '{pi_id}'")


def _unexpected(pi: dict, action: str) -> tuple[int, dict]:
    return _err(400, "invalid_request_error", "payment_intent_unexpected_state",
                f"This PaymentIntent could not be {action} because it has a status of "
                f"{pi['status']}.", payment_intent=dict(pi))


def build_app(state: SandboxState) -> Starlette:
    async def api(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer sk_"):
            s, b = _err(401, "invalid_request_error", "api_key_invalid", "Invalid API Key.")
            return JSONResponse(b, s)
        # Parsed by hand: Starlette's form parser needs python-multipart, one dependency
        # more for a body that is always urlencoded.
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        with state.lock:
            state.stats["requests"] += 1
            faults = Faults(**asdict(state.faults))
            roll = state.rng.random()
            drop = state.rng.random() < faults.ambiguous_rate
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if roll < faults.error_rate:
            with state.lock:
                state.stats["errors_injected"] += 1
            s, b = _err(500, "api_error", "injected_fault", "Injected server error.")
            return JSONResponse(b, s)
        if roll < faults.error_rate + faults.timeout_rate:
            with state.lock:
                state.stats["timeouts_injected"] += 1
            await asyncio.sleep(faults.hang_s)
            s, b = _err(504, "api_error", "injected_timeout", "Injected timeout.")
            return JSONResponse(b, s)
        status, body, replayed = _execute(state, request, form)
        if drop and request.method == "POST":
            with state.lock:
                state.stats["dropped"] += 1
            return DroppedResponse()
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(body, status, headers=headers)

    async def get_faults(request: Request) -> Response:
        with state.lock:
            return JSONResponse(asdict(state.faults))

    async def set_faults(request: Request) -> Response:
        data = await request.json()
        with state.lock:
            seed = data.pop("seed", None)
            if seed is not None:
                state.rng.seed(seed)
            state.faults = Faults(**{**asdict(state.faults), **data})
            return JSONResponse(asdict(state.faults))

    async def ledger(request: Request) -> Response:
        return JSONResponse(state.ledger())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/v1/payment_intents", api, methods=["GET", "POST"]),
        Route("/v1/payment_intents/{id}", api, methods=["GET"]),
        Route("/v1/payment_intents/{id}/capture", api, methods=["POST"]),
        Route("/v1/payment_intents/{id}/cancel", api, methods=["POST"]),
        Route("/v1/refunds", api, methods=["POST"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["POST"]),
        Route("/_sandbox/ledger", ledger, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ])


def _execute(state: SandboxState, request: Request,
             form: dict[str, str]) -> tuple[int, dict, bool]:
    path = request.url.path
    key = request.headers.get("idempotency-key") if request.method == "POST" else None
    fingerprint = (path, tuple(sorted(form.items())))
    with state.lock:
        if key is not None and key in state.idem:
            saved = state.idem[key]
            if saved is None:
                s, b = _err(409, "idempotency_error", "idempotency_key_in_use",
                            "There is currently another in-progress request using this "
                            "Idempotent Key.")
                return s, b, False
            if saved[0] != fingerprint:
                s, b = _err(400, "idempotency_error", "idempotency_key_reused",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.")
                return s, b, False
            state.stats["replayed"] += 1
            return saved[1], saved[2], True
        state.stats["executed"] += 1
        status, body = _route(state, request, path, form)
        expand = [v for k, v in [*form.items(), *request.query_params.multi_items()]
                  if k.startswith("expand[")]
        body = _as_stripe_sends(body, expand)
        if key is not None:
            state.idem[key] = (fingerprint, status, _copy(body))
            state.idem_at[key] = time.monotonic()
            if len(state.idem_at) > IDEM_PRUNE_AT:
                _prune(state)
        return status, _copy(body), False


def _prune(state: SandboxState) -> None:
    """Stripe forgets keys after 24 hours; so does the sandbox (a demo runs for days)."""
    cutoff = time.monotonic() - IDEM_TTL_S
    for k in [k for k, at in state.idem_at.items() if at < cutoff]:
        del state.idem_at[k]
        state.idem.pop(k, None)


def _route(state: SandboxState, request: Request, path: str,
           form: dict[str, str]) -> tuple[int, dict]:
    parts = path.strip("/").split("/")
    if parts[1] == "refunds":
        return state.refund(form)
    if len(parts) == 2 and request.method == "POST":
        return state.create_intent(form)
    if len(parts) == 2 and request.method == "GET":
        return state.list_intents(dict(request.query_params))
    pi_id = parts[2]
    if request.method == "GET":
        pi = state.intents.get(pi_id)
        return (200, pi) if pi is not None else _missing(pi_id)
    if parts[3] == "capture":
        return state.capture(pi_id, form)
    return state.cancel(pi_id)


# Kept on the ledger's intents for audits, but not part of Stripe's PaymentIntent object.
_PRIVATE = ("amount_refunded", "card_brand")


def _as_stripe_sends(body: dict, expand: list[str]) -> dict:
    """An intent as Stripe shows it: no refunded amount of its own; ``latest_charge`` an id,
    or the Charge (which carries ``amount_refunded``) when the request expands it."""
    if body.get("object") == "list":
        inner = [e[len("data."):] for e in expand if e.startswith("data.")]
        return {**body, "data": [_as_stripe_sends(d, inner) for d in body["data"]]}
    if body.get("object") != "payment_intent":
        if isinstance((body.get("error") or {}).get("payment_intent"), dict):
            err = dict(body["error"])
            err["payment_intent"] = _as_stripe_sends(err["payment_intent"], [])
            return {**body, "error": err}
        return body
    shown = {k: v for k, v in body.items() if k not in _PRIVATE}
    if "latest_charge" in expand and body.get("latest_charge"):
        refunded = int(body.get("amount_refunded") or 0)
        shown["latest_charge"] = {
            "id": body["latest_charge"], "object": "charge", "amount": body["amount"],
            "amount_captured": body["amount_received"], "amount_refunded": refunded,
            "captured": body["amount_received"] > 0, "currency": body["currency"],
            "paid": True, "payment_intent": body["id"],
            "payment_method": body["payment_method"],
            "refunded": 0 < body["amount_received"] == refunded, "status": "succeeded",
            "metadata": {},
            # Stripe's Charge: the card's brand and last 4 digits, never its number.
            "payment_method_details": {"type": "card", "card": {
                "brand": body.get("card_brand"),
                "last4": _LAST4.get(body["payment_method"])}}}
    return shown


def _copy(d: dict) -> dict:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in d.items()}
