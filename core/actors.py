"""Who does a thing and where: terminals, operators, PIN sign-in with lock-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, text

from core.errors import BoxOfficeError
from core.uow import unit_of_work

Channel = Literal["counter", "kiosk", "system"]
_hasher = PasswordHasher()
MAX_PIN_FAILURES = 5
LOCKOUT_MINUTES = 5


@dataclass(frozen=True, slots=True)
class Actor:
    """The acting terminal and operator, passed explicitly to every service."""

    terminal_id: int
    terminal_name: str
    operator_id: int | None = None
    role: str | None = None
    channel: Channel = "counter"

    @property
    def chain(self) -> str:
        return self.terminal_name


@dataclass(frozen=True, slots=True)
class OperatorInfo:
    id: int
    login: str
    display_name: str
    role: str


_UPSERT_TERMINAL = text(
    """
    insert into terminals (name, kind, state) values (:name, :kind, '{}'::jsonb)
    on conflict (name) do update set kind = excluded.kind
    returning id
    """
)
_ENSURE_HEAD = text(
    "insert into audit_heads (chain, seq, hash) values (:chain, 0, :genesis) "
    "on conflict (chain) do nothing"
)
GENESIS = b"\x00" * 32


def register_terminal(engine: Engine, name: str, kind: str) -> int:
    """Create or update the terminal row and its audit chain; return its id."""
    with unit_of_work(engine) as conn:
        tid = conn.execute(_UPSERT_TERMINAL, {"name": name, "kind": kind}).scalar_one()
        conn.execute(_ENSURE_HEAD, {"chain": name, "genesis": GENESIS})
        return int(tid)


def system_actor(engine: Engine, name: str = "system") -> Actor:
    tid = register_terminal(engine, name, "system")
    return Actor(terminal_id=tid, terminal_name=name, channel="system")


def hash_pin(pin: str) -> str:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise BoxOfficeError("invalid_input", detail="A PIN is 4 to 12 digits.")
    return _hasher.hash(pin)


def create_operator(conn: Connection, login: str, display_name: str, role: str, pin: str) -> int:
    return int(conn.execute(
        text("insert into operators (login, display_name, role, pin_hash, failed_attempts, active)"
             " values (:l, :d, :r, :h, 0, true)"
             " on conflict (login) do update set display_name = excluded.display_name,"
             " role = excluded.role returning id"),
        {"l": login, "d": display_name, "r": role, "h": hash_pin(pin)},
    ).scalar_one())


def authenticate(engine: Engine, login: str, pin: str) -> OperatorInfo:
    """Check a PIN; five failures lock the operator for five minutes (database clock)."""
    with unit_of_work(engine) as conn:
        row = conn.execute(
            text("select id, login, display_name, role, pin_hash, failed_attempts, locked_until,"
                 " locked_until > now() as locked, active from operators where login = :l"
                 " for update"),
            {"l": login},
        ).mappings().first()
        if row is None or not row["active"]:
            # Same error as a wrong PIN, so logins cannot be probed.
            raise BoxOfficeError("invalid_pin")
        if row["locked"]:
            raise BoxOfficeError("operator_locked", until=_hhmm(row["locked_until"]))
        try:
            _hasher.verify(row["pin_hash"], pin)
        except (VerificationError, InvalidHashError):
            failures = row["failed_attempts"] + 1
            if failures >= MAX_PIN_FAILURES:
                conn.execute(
                    text("update operators set failed_attempts = 0, locked_until = now() +"
                         " make_interval(mins => :m) where id = :i"),
                    {"m": LOCKOUT_MINUTES, "i": row["id"]},
                )
            else:
                conn.execute(text("update operators set failed_attempts = :f where id = :i"),
                             {"f": failures, "i": row["id"]})
            conn.commit()
            raise BoxOfficeError("invalid_pin") from None
        if row["failed_attempts"]:
            conn.execute(text("update operators set failed_attempts = 0 where id = :i"),
                         {"i": row["id"]})
        return OperatorInfo(row["id"], row["login"], row["display_name"], row["role"])


def require_role(op: OperatorInfo, *roles: str) -> None:
    if op.role not in roles:
        raise BoxOfficeError("not_authorized", role="/".join(roles))


def _hhmm(ts: datetime | None) -> str:
    return ts.strftime("%H:%M") if ts else "?"
