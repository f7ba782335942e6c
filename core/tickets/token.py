"""The signed ticket token a QR code carries.

Layout (big-endian, 26 bytes) followed by a 64-byte Ed25519 signature:

    version u8 | key id 4 bytes | serial u48 | event u32 | issued-at u32 (unix s)
    | place kind u8 (1 seat, 2 general admission) | seat id or section id u32 | GA unit u16

The 90 bytes are written in RFC 4648 base32 without padding: 144 characters from
A-Z and 2-7 only, all inside the QR alphanumeric set (a version 6 code at level M)
and safe to type through a barcode scanner in keyboard mode. Base45 would be a few
characters shorter but contains a space, which line-oriented scanners strip.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VERSION = 1
KIND_SEAT = 1
KIND_GA = 2
# Signed together with the payload so a signature made for anything else never verifies.
DOMAIN = b"boxoffice-ticket\x00"
_HEAD = struct.Struct(">B4s6sIIBIH")
PAYLOAD_LEN = _HEAD.size
SIG_LEN = 64
TOKEN_BYTES = PAYLOAD_LEN + SIG_LEN
TOKEN_CHARS = -(-TOKEN_BYTES * 8 // 5)
_ALPHABET = re.compile(r"^[A-Z2-7]+$")
MAX_U48 = (1 << 48) - 1


class TokenError(Exception):
    """A token that cannot be read; ``reason`` is a scan rejection code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """What a token says, before anyone checked the signature."""

    version: int
    key_id: str
    serial: int
    event_id: int
    issued_at: int
    kind: int
    place_id: int  # seat id (kind seat) or section id (kind GA)
    unit: int

    @property
    def seat_id(self) -> int | None:
        return self.place_id if self.kind == KIND_SEAT else None

    def pack(self) -> bytes:
        for name, value, top in (("serial", self.serial, MAX_U48),
                                 ("event_id", self.event_id, 0xFFFFFFFF),
                                 ("issued_at", self.issued_at, 0xFFFFFFFF),
                                 ("place_id", self.place_id, 0xFFFFFFFF),
                                 ("unit", self.unit, 0xFFFF)):
            if not 0 <= value <= top:
                raise ValueError(f"{name}={value} does not fit the token")
        return _HEAD.pack(self.version, bytes.fromhex(self.key_id),
                          self.serial.to_bytes(6, "big"), self.event_id, self.issued_at,
                          self.kind, self.place_id, self.unit)


@dataclass(frozen=True, slots=True)
class ParsedToken:
    claims: TicketClaims
    payload: bytes
    signature: bytes

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(self.signature, DOMAIN + self.payload)
        except InvalidSignature:
            return False
        return True


def encode(payload: bytes, signature: bytes) -> str:
    return base64.b32encode(payload + signature).decode("ascii").rstrip("=")


def parse(text: str) -> ParsedToken:
    """Decode a scanned token; raises TokenError('malformed', ...) for anything unreadable.
    The signature is NOT checked here (see ``ParsedToken.verify``)."""
    t = text.strip().upper()
    if not t:
        raise TokenError("malformed", "empty token")
    if len(t) != TOKEN_CHARS:
        raise TokenError("malformed", f"length {len(t)}, expected {TOKEN_CHARS}")
    if not _ALPHABET.match(t):
        raise TokenError("malformed", "characters outside base32")
    try:
        raw = base64.b32decode(t + "=" * (-len(t) % 8))
    except (ValueError, TypeError):
        raise TokenError("malformed", "not base32") from None
    if len(raw) != TOKEN_BYTES:
        raise TokenError("malformed", "wrong size")
    payload, signature = raw[:PAYLOAD_LEN], raw[PAYLOAD_LEN:]
    version, kid, serial, event, issued, kind, place, unit = _HEAD.unpack(payload)
    if version != VERSION:
        raise TokenError("malformed", f"unsupported token version {version}")
    if kind not in (KIND_SEAT, KIND_GA):
        raise TokenError("malformed", f"unknown place kind {kind}")
    claims = TicketClaims(version, kid.hex(), int.from_bytes(serial, "big"), event, issued,
                          kind, place, unit)
    return ParsedToken(claims, payload, signature)
