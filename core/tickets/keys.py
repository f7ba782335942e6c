"""Per-terminal Ed25519 signing keys: made on first start, private key kept in the data
dir (0600), public key registered centrally so gates can verify tickets offline."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from config import Settings
from core.actors import raise_refusal, refusal, register_terminal
from core.errors import BoxOfficeError
from core.tickets.token import DOMAIN
from core.uow import unit_of_work

log = logging.getLogger(__name__)


def key_id_for(public_raw: bytes) -> str:
    """Four bytes of the key's hash: short enough for the QR, unique per terminal
    (the ticket_keys primary key rejects the rare collision)."""
    return hashlib.sha256(public_raw).digest()[:4].hex()


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes(raw))


@dataclass
class TicketSigner:
    """Signs ticket payloads with one terminal's private key."""

    private_key: Ed25519PrivateKey
    terminal_id: int | None = None

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_key)

    def sign(self, payload: bytes) -> bytes:
        return self.private_key.sign(DOMAIN + payload)


def key_path(data_dir: Path, terminal_name: str) -> Path:
    # One file per terminal name, so several terminals sharing a data dir (tests, a
    # kiosk and a counter on one box) never share a key.
    return Path(data_dir) / "keys" / f"ticket-signing-{terminal_name}.pem"


def load_or_create_key(path: Path) -> TicketSigner:
    """Read the private key, creating it (0600, exclusively) on first start."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkdir's mode is masked by the umask and ignored for an existing directory.
    if stat.S_IMODE(path.parent.stat().st_mode) & 0o077:
        path.parent.chmod(0o700)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Written whole to a private temp file, then linked into place: a concurrent
        # starter either wins the link or reads the winner's complete file, never a
        # half-written one (seen in the chaos test with O_EXCL + write).
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
                log.info("created ticket signing key", extra={"path": str(path)})
            except FileExistsError:
                pass  # another process of this terminal won the race: use its key
        finally:
            os.unlink(tmp)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("ticket signing key was readable by others; fixing to 0600",
                    extra={"path": str(path), "mode": oct(mode)})
        path.chmod(0o600)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return TicketSigner(loaded)


_REGISTER_KEY = text("select bo_register_ticket_key(:tid, :kid, :pub)")


def ensure_key_row(conn: Connection, signer: TicketSigner, terminal_id: int) -> None:
    """Make sure the signer's public key is registered to this terminal (idempotent,
    inside a transaction). The database decides: the owner registers any key; a
    terminal's login enrolls its first key only, never another terminal's, never a
    revoked one."""
    try:
        conn.execute(_REGISTER_KEY, {"kid": signer.key_id, "tid": terminal_id,
                                     "pub": signer.public_key})
    except DBAPIError as exc:
        err = refusal(exc)
        if err is not None and err.code == "ticket_key_conflict":
            raise BoxOfficeError("ticket_key_conflict", key_id=signer.key_id) from None
        raise_refusal(exc)


_TERMINAL_ID = text("select id from terminals where name = :name")


def register_signer(engine: Engine, terminal_name: str, kind: str,
                    signer: TicketSigner) -> int:
    """Register the terminal (if new) and its current public key; return its id.

    The database function also retires the terminal's older keys and records the key on
    the terminal's row. That row update skips a locked row: the sale saga may call
    ctx.signer() for the first time inside its own transaction, which holds a key-share
    lock on this terminal's row (orders reference it); the columns are then filled at
    the next start, and verification only needs the ticket_keys row."""
    with engine.connect() as conn:
        tid = conn.execute(_TERMINAL_ID, {"name": terminal_name}).scalar()
    if tid is None:
        tid = register_terminal(engine, terminal_name, kind)
    with unit_of_work(engine) as conn:
        ensure_key_row(conn, signer, tid)
    signer.terminal_id = int(tid)
    return int(tid)


def terminal_signer(settings: Settings, engine: Engine) -> TicketSigner:
    """The configured terminal's signer, created and registered on first use."""
    term = settings.terminal
    signer = load_or_create_key(key_path(term.data_dir, term.name))
    register_signer(engine, term.name, term.kind, signer)
    return signer


@dataclass(frozen=True, slots=True)
class KnownKey:
    """A registered public key, whose terminal it is and when it was revoked (tokens it
    signed after that moment are refused; retired keys' tickets stay valid)."""

    public_key: Ed25519PublicKey
    terminal_id: int
    revoked_at: datetime | None


def load_keys(conn: Connection) -> dict[str, KnownKey]:
    return {r.key_id: KnownKey(public_key_from_raw(r.public_key), r.terminal_id, r.revoked_at)
            for r in conn.execute(text(
                "select key_id, public_key, terminal_id, revoked_at from ticket_keys"))}


def load_public_keys(conn: Connection) -> dict[str, Ed25519PublicKey]:
    """Every key that ever signed a ticket (retired ones too: their tickets stay valid)."""
    return {k: v.public_key for k, v in load_keys(conn).items()}
