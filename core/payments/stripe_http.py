"""The Stripe PaymentIntents API over httpx: the adapter for a real merchant account, and
for the project's sandbox, which speaks the same subset.

Every POST carries an ``Idempotency-Key``; retries (stamina) replay the *same* key, so a
retried authorization can never charge twice. Each attempt passes through the circuit
breaker, so an open circuit fails fast and is never retried.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any, TypedDict
from urllib.parse import urlencode

import httpx
import stamina
from prometheus_client import Histogram

from core.errors import BoxOfficeError
from core.payments.breaker import CircuitBreaker
from core.payments.gateway import (
    GatewayFailure,
    Intent,
    RefundInfo,
    intent_from_stripe,
    is_transient,
)

log = logging.getLogger(__name__)

GATEWAY_LATENCY = Histogram("boxoffice_gateway_request_seconds",
                            "Payment gateway request latency", ["op", "outcome"],
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

# Stripe's decline codes that have their own message for the customer.
_DECLINE_MAP = {
    "insufficient_funds": "insufficient_funds",
    "expired_card": "expired_card",
}


def map_stripe_error(status: int, body: Any) -> BoxOfficeError:
    """Turn a Stripe error response into one of our codes."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    code = err.get("code") or ""
    decline = err.get("decline_code") or ""
    etype = err.get("type") or ""
    if status >= 500 or status == 429 or (status == 409 and code == "idempotency_key_in_use"):
        # Stripe: the request did not finish (or a twin with the same key is running);
        # replaying the same key is the documented way to learn the outcome.
        return GatewayFailure("gateway_unavailable", status=status)
    if status == 402 or etype == "card_error":
        mapped = _DECLINE_MAP.get(decline) or _DECLINE_MAP.get(code) or "card_declined"
        return BoxOfficeError(mapped, decline_code=decline or code,
                              intent=(err.get("payment_intent") or {}).get("id"))
    if status == 401:
        return BoxOfficeError("gateway_auth_failed")
    if code == "payment_intent_unexpected_state":
        pi = err.get("payment_intent") or {}
        return BoxOfficeError("payment_state_conflict", status=pi.get("status", "?"),
                              action="change", intent=pi.get("id"))
    return BoxOfficeError("gateway_error", detail=f"{status} {code or etype}".strip(),
                          status=status, gateway_code=code)


# A PaymentIntent carries no refunded amount: Stripe reports it on the intent's charge,
# which comes back as an id unless the request asks for the object. Every call whose
# answer becomes an Intent asks for it (the saga's reversal compares refunded to received).
_EXPAND: dict[str, Any] = {"expand": ["latest_charge"]}
# Pages of 100 intents read when looking for a sale's intents in a time window.
_MAX_LIST_PAGES = 50


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested dicts as a[b]=c, lists as a[0]=x."""
    out: list[tuple[str, str]] = []
    for k, v in data.items():
        name = f"{prefix}[{k}]" if prefix else str(k)
        if v is None:
            continue
        if isinstance(v, dict):
            out.extend(_flatten(v, name))
        elif isinstance(v, (list, tuple)):
            for i, item in enumerate(v):
                out.extend(_flatten({str(i): item}, name))
        elif isinstance(v, bool):
            out.append((name, "true" if v else "false"))
        else:
            out.append((name, str(v)))
    return out


RETRY_LOG = logging.getLogger("core.payments.retry")
# Library practice: a process that configured no logging prints nothing from here (the
# root logger's last-resort handler would write WARNINGs to stderr, over a TUI or a CLI's
# JSON). A process that configured logging still gets every record by propagation.
RETRY_LOG.addHandler(logging.NullHandler())
logging.getLogger("stamina").addHandler(logging.NullHandler())


def _log_retry(details: Any) -> None:
    # Name, attempt and cause only: stamina's own hooks also log the retried call's
    # arguments, and ours must never carry a secret into a log.
    RETRY_LOG.warning("gateway call retried", extra={
        "event_name": "stamina.retry_scheduled", "retry_num": details.retry_num,
        "wait_for_s": round(details.wait_for, 3), "caused_by": type(details.caused_by).__name__,
        "code": getattr(details.caused_by, "code", None)})


def _quiet_retry_hooks() -> None:
    """Replace stamina's default hooks (structlog's prints to stdout when structlog is
    unconfigured; its logging hook reaches stderr when nothing is configured) by one that
    logs through ``core.payments.retry``, plus the Prometheus counter."""
    from stamina.instrumentation import PrometheusOnRetryHook, set_on_retry_hooks

    set_on_retry_hooks([_log_retry, PrometheusOnRetryHook])


class _RetryPolicy(TypedDict):
    """stamina.retry_context's bounds for one gateway."""

    attempts: int
    timeout: float
    wait_initial: float
    wait_max: float
    wait_jitter: float


class StripeGateway:
    """``PaymentGateway`` over the Stripe REST API (or anything speaking it)."""

    def __init__(self, base_url: str, secret_key: str, *, connect_timeout_s: float = 3.0,
                 read_timeout_s: float = 10.0, breaker: CircuitBreaker | None = None,
                 retry_attempts: int = 3, retry_timeout_s: float = 20.0,
                 retry_wait_initial_s: float = 0.1, retry_wait_max_s: float = 2.0,
                 max_connections: int = 32, name: str = "stripe") -> None:
        self.name = name
        _quiet_retry_hooks()
        self.breaker = breaker or CircuitBreaker(name)
        self._retry: _RetryPolicy = {
            "attempts": retry_attempts, "timeout": retry_timeout_s,
            "wait_initial": retry_wait_initial_s, "wait_max": retry_wait_max_s,
            "wait_jitter": retry_wait_initial_s}
        timeout = httpx.Timeout(connect=connect_timeout_s, read=read_timeout_s,
                                write=read_timeout_s, pool=connect_timeout_s)
        # One client shared by every thread (httpx.Client is thread-safe); the key goes in
        # a header httpx never logs, and is not kept anywhere else on this object.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout,
            headers={"Authorization": f"Bearer {secret_key}",
                     "Stripe-Version": "2024-06-20"},
            # Small request/answer pairs: never let Nagle hold a body back behind a delayed
            # ACK (measured: ~40 ms per call on loopback).
            transport=httpx.HTTPTransport(
                limits=httpx.Limits(max_connections=max_connections,
                                    max_keepalive_connections=max_connections),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]),
        )

    def close(self) -> None:
        self._http.close()

    def breaker_state(self) -> str:
        return self.breaker.state

    # -- PaymentGateway ----------------------------------------------------------------

    def authorize(self, amount_minor: int, currency: str, payment_method: str, *,
                  idempotency_key: str, metadata: dict[str, str] | None = None) -> Intent:
        body = {"amount": amount_minor, "currency": currency.lower(),
                "payment_method": payment_method, "payment_method_types": ["card"],
                "capture_method": "manual", "confirm": True, "metadata": metadata or {},
                **_EXPAND}
        return intent_from_stripe(self._post("authorize", "/v1/payment_intents", body,
                                             idempotency_key))

    def capture(self, intent_id: str, *, idempotency_key: str) -> Intent:
        return intent_from_stripe(self._post("capture", f"/v1/payment_intents/{intent_id}/capture",
                                             dict(_EXPAND), idempotency_key))

    def void(self, intent_id: str, *, idempotency_key: str) -> Intent:
        return intent_from_stripe(self._post("void", f"/v1/payment_intents/{intent_id}/cancel",
                                             dict(_EXPAND), idempotency_key))

    def refund(self, intent_id: str, amount_minor: int | None, *,
               idempotency_key: str) -> RefundInfo:
        d = self._post("refund", "/v1/refunds",
                       {"payment_intent": intent_id, "amount": amount_minor}, idempotency_key)
        return RefundInfo(id=d["id"], intent_id=d.get("payment_intent") or intent_id,
                          status=d.get("status", "succeeded"), amount_minor=int(d["amount"]))

    def lookup(self, intent_id: str) -> Intent:
        query = urlencode(_flatten(_EXPAND))
        return intent_from_stripe(self._request(
            "lookup", "GET", f"/v1/payment_intents/{intent_id}?{query}", None, None))

    def find_intents(self, metadata: dict[str, str], *, created_from: int,
                     created_to: int) -> list[Intent]:
        # The list endpoint, not /search: search is eventually consistent (an intent can
        # take a minute to show) and not offered everywhere; the list is exact, and a short
        # time window keeps it to a page or two. Metadata is matched here.
        found: list[Intent] = []
        after: str | None = None
        for _ in range(_MAX_LIST_PAGES):
            query = [("created[gte]", str(created_from)), ("created[lte]", str(created_to)),
                     ("limit", "100"), ("expand[]", "data.latest_charge")]
            if after:
                query.append(("starting_after", after))
            page = self._request("find", "GET", f"/v1/payment_intents?{urlencode(query)}",
                                 None, None)
            data = page.get("data") or []
            for d in data:
                meta = d.get("metadata") or {}
                if all(meta.get(k) == v for k, v in metadata.items()):
                    found.append(intent_from_stripe(d))
            if not page.get("has_more") or not data:
                return found
            after = data[-1]["id"]
        raise GatewayFailure("gateway_unavailable", op="find", detail="too many intents")

    # -- transport -----------------------------------------------------------------------

    def _post(self, op: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        return self._request(op, "POST", path, _flatten(body), key)

    def _request(self, op: str, method: str, path: str, form: list[tuple[str, str]] | None,
                 key: str | None) -> dict[str, Any]:
        # Retried only because every attempt replays the same idempotency key (GETs are
        # naturally idempotent); stamina bounds the attempts and the total time.
        for attempt in stamina.retry_context(on=is_transient, **self._retry):
            with attempt:
                return self.breaker.call(lambda: self._once(op, method, path, form, key),
                                         is_transient)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, op: str, method: str, path: str, form: list[tuple[str, str]] | None,
              key: str | None) -> dict[str, Any]:
        headers = {"Idempotency-Key": key} if key else {}
        content = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            content = urlencode(form).encode()
        started = time.perf_counter()
        outcome = "error"
        try:
            resp = self._http.request(method, path, content=content, headers=headers)
            outcome = str(resp.status_code)
        except httpx.TimeoutException as exc:
            outcome = "timeout"
            raise GatewayFailure("gateway_timeout", op=op) from exc
        except httpx.TransportError as exc:
            outcome = "transport"
            raise GatewayFailure("gateway_unavailable", op=op, transport=type(exc).__name__) \
                from exc
        finally:
            GATEWAY_LATENCY.labels(op, outcome).observe(time.perf_counter() - started)
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code >= 400:
            raise map_stripe_error(resp.status_code, data)
        if not isinstance(data, dict) or ("id" not in data and data.get("object") != "list"):
            raise GatewayFailure("gateway_unavailable", op=op, detail="malformed answer")
        return data
