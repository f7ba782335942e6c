"""The token format: round trip, signature, tampering, malformed input."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.tickets.keys import TicketSigner, public_key_from_raw
from core.tickets.token import (
    KIND_GA,
    TOKEN_CHARS,
    VERSION,
    TicketClaims,
    TokenError,
    encode,
    parse,
)


def _token(signer: TicketSigner, **kw: int) -> str:
    claims = TicketClaims(VERSION, signer.key_id, kw.get("serial", 123456789), 7,
                          1_790_000_000, KIND_GA, 3, kw.get("unit", 2))
    payload = claims.pack()
    return encode(payload, signer.sign(payload))


def test_round_trip_is_short_alphanumeric_and_verifies():
    s = TicketSigner(Ed25519PrivateKey.generate())
    tok = _token(s)
    assert len(tok) == TOKEN_CHARS == 144
    assert tok.isalnum() and tok.isupper()
    p = parse(tok)
    assert p.claims.serial == 123456789 and p.claims.unit == 2 and p.claims.key_id == s.key_id
    assert p.verify(public_key_from_raw(s.public_key))
    assert not p.verify(public_key_from_raw(TicketSigner(Ed25519PrivateKey.generate())
                                            .public_key))


@pytest.mark.parametrize("bit", [0, 7, 8 * 10 + 3, 8 * 30, 8 * 89 + 7])
def test_one_flipped_bit_never_verifies(bit):
    s = TicketSigner(Ed25519PrivateKey.generate())
    tok = _token(s)
    raw = bytearray(base64.b32decode(tok + "=" * (-len(tok) % 8)))
    raw[bit // 8] ^= 1 << (bit % 8)
    bad = base64.b32encode(bytes(raw)).decode().rstrip("=")
    try:
        p = parse(bad)
    except TokenError as exc:
        assert exc.reason == "malformed"  # version or kind byte hit
        return
    assert not p.verify(public_key_from_raw(s.public_key))


@pytest.mark.parametrize("text", ["", "   ", "abc", "A" * 143, "A" * 145, "1" * 144,
                                  "A" * 143 + "!", "Ä" * 144])
def test_malformed_inputs_raise_token_error(text):
    with pytest.raises(TokenError) as exc:
        parse(text)
    assert exc.value.reason == "malformed"


def test_values_that_do_not_fit_are_refused():
    with pytest.raises(ValueError):
        TicketClaims(VERSION, "00112233", 1 << 48, 1, 1, KIND_GA, 1, 1).pack()
