"""Contract tests of the Stripe adapter: the same calls against our sandbox and against
localstripe (a third-party Stripe emulator), for what each supports. localstripe does not
honour Idempotency-Key, so idempotency is checked against the sandbox only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.errors import BoxOfficeError
from core.payments import CircuitBreaker, StripeGateway

KEY = "sk_test_contract"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    port = _free_port()
    exe = shutil.which("localstripe") or str(Path(sys.executable).with_name("localstripe"))
    proc = subprocess.Popen([exe, "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["sandbox", "localstripe"])
def gateway(request: pytest.FixtureRequest) -> Iterator[tuple[str, StripeGateway]]:
    url = (request.getfixturevalue("sandbox").base_url if request.param == "sandbox"
           else request.getfixturevalue("localstripe_url"))
    g = StripeGateway(url, KEY, read_timeout_s=5, breaker=CircuitBreaker(request.param),
                      retry_attempts=1)
    yield request.param, g
    g.close()


def _k() -> str:
    return str(uuid.uuid4())


def test_authorize_capture_refund_lookup(gateway):
    _, g = gateway
    pi = g.authorize(2500, "BRL", "pm_card_visa", idempotency_key=_k(),
                     metadata={"sale_id": "s-1"})
    assert pi.status == "requires_capture" and pi.amount_minor == 2500
    assert pi.currency == "BRL" and pi.metadata == {"sale_id": "s-1"}
    got = g.lookup(pi.id)
    assert (got.id, got.status) == (pi.id, "requires_capture")
    cap = g.capture(pi.id, idempotency_key=_k())
    assert cap.status == "succeeded"
    r = g.refund(pi.id, 1000, idempotency_key=_k())
    assert r.amount_minor == 1000 and r.intent_id == pi.id
    assert g.lookup(pi.id).status == "succeeded"
    # Read from the expanded charge (issue 13 item 15), as real Stripe reports it.
    assert g.lookup(pi.id).amount_refunded_minor == 1000


def test_authorize_then_void(gateway):
    name, g = gateway
    pi = g.authorize(900, "BRL", "pm_card_visa", idempotency_key=_k())
    v = g.void(pi.id, idempotency_key=_k())
    assert v.status == "canceled"
    assert g.lookup(pi.id).status == "canceled"
    if name == "localstripe":
        return  # localstripe lets a cancelled intent be captured; Stripe (and we) refuse
    with pytest.raises(BoxOfficeError) as e:
        g.capture(pi.id, idempotency_key=_k())
    assert e.value.code in ("payment_state_conflict", "gateway_error")


def test_decline_maps_to_card_declined(gateway):
    name, g = gateway
    if name == "localstripe":
        # localstripe declines at confirm only for this card, attached as a payment method.
        r = httpx.post(f"{g._http.base_url}/v1/payment_methods", headers={
            "Authorization": f"Bearer {KEY}"}, data={
            "type": "card", "card[number]": "4000000000000341", "card[exp_month]": "12",
            "card[exp_year]": "2034", "card[cvc]": "123"})
        pm = r.json()["id"]
    else:
        pm = "pm_card_chargeDeclined"
    with pytest.raises(BoxOfficeError) as e:
        g.authorize(500, "BRL", pm, idempotency_key=_k())
    assert e.value.code == "card_declined"


@pytest.mark.parametrize("pm, code", [
    ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
])
def test_sandbox_decline_reasons(sandbox, pm, code):
    g = StripeGateway(sandbox.base_url, KEY, retry_attempts=1)
    with pytest.raises(BoxOfficeError) as e:
        g.authorize(500, "BRL", pm, idempotency_key=_k())
    assert e.value.code == code
    g.close()


def test_sandbox_card_numbers_match_payment_methods(sandbox):
    base = {"amount": "700", "currency": "brl", "capture_method": "manual", "confirm": "true"}
    h = {"Authorization": f"Bearer {KEY}"}
    ok = httpx.post(f"{sandbox.base_url}/v1/payment_intents", headers=h,
                    data={**base, "payment_method_data[card][number]": "4242424242424242"})
    assert ok.status_code == 200 and ok.json()["status"] == "requires_capture"
    bad = httpx.post(f"{sandbox.base_url}/v1/payment_intents", headers=h,
                     data={**base, "payment_method_data[card][number]": "4000000000009995"})
    assert bad.status_code == 402
    assert bad.json()["error"]["decline_code"] == "insufficient_funds"


def test_sandbox_idempotency_as_stripe_documents(sandbox):
    g = StripeGateway(sandbox.base_url, KEY, retry_attempts=1)
    key = _k()
    a = g.authorize(1200, "BRL", "pm_card_visa", idempotency_key=key)
    b = g.authorize(1200, "BRL", "pm_card_visa", idempotency_key=key)
    assert a == b  # same key, same body: the saved answer
    with pytest.raises(BoxOfficeError) as e:
        g.authorize(1300, "BRL", "pm_card_visa", idempotency_key=key)
    assert e.value.code == "gateway_error" and "idempotency" in e.value.details["detail"]
    raw = httpx.post(f"{sandbox.base_url}/v1/payment_intents",
                     headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": key},
                     content=b"amount=1200&currency=brl&payment_method=pm_card_visa"
                             b"&payment_method_types%5B0%5D=card&capture_method=manual"
                             b"&confirm=true&expand%5B0%5D=latest_charge",
                     )
    assert raw.headers.get("Idempotent-Replayed") == "true" and raw.json()["id"] == a.id
    g.close()


def test_ambiguous_drop_is_resolved_by_replaying_the_key(sandbox):
    g = StripeGateway(sandbox.base_url, KEY, retry_attempts=1)
    sandbox.set_faults(ambiguous_rate=1.0)
    key = _k()
    before = len(sandbox.ledger()["intents"])
    with pytest.raises(BoxOfficeError) as e:
        g.authorize(800, "BRL", "pm_card_visa", idempotency_key=key)
    assert e.value.code == "gateway_unavailable"
    assert len(sandbox.ledger()["intents"]) == before + 1  # charged, answer lost
    sandbox.set_faults(ambiguous_rate=0.0)
    pi = g.authorize(800, "BRL", "pm_card_visa", idempotency_key=key)
    assert len(sandbox.ledger()["intents"]) == before + 1
    assert pi.status == "requires_capture"
    g.close()


def test_retries_replay_the_same_key_through_5xx(sandbox):
    g = StripeGateway(sandbox.base_url, KEY, retry_attempts=10, retry_wait_initial_s=0.001,
                      retry_wait_max_s=0.005, breaker=CircuitBreaker("retry-test",
                                                                     failure_rate_threshold=100))
    sandbox.set_faults(error_rate=0.5, seed=99)
    before = len(sandbox.ledger()["intents"])
    for _ in range(10):
        g.authorize(100, "BRL", "pm_card_visa", idempotency_key=_k())
    assert len(sandbox.ledger()["intents"]) == before + 10
    assert sandbox.ledger()["stats"]["errors_injected"] > 0
    g.close()


def test_secret_key_not_in_settings_dump():
    from config import Settings

    s = Settings(gateway={"kind": "stripe", "secret_key": "sk_live_verysecret"})
    assert "sk_live_verysecret" not in repr(s.masked())
    assert "sk_live_verysecret" not in repr(s)
