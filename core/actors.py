"""Who does a thing and where: terminals, operators, PIN sign-in with lock-out."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

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
    # A supervisor's one-use token from the database that the PIN was really typed; an
    # approval recorded by a terminal login needs it (an OperatorInfo built by a caller
    # has none, so it approves nothing).
    proof: uuid.UUID | None = None


# Refusals raised by the database's own checks (migration 0008): the message is the code.
DB_REFUSALS = ("not_authorized", "foreign_terminal", "self_approval", "ticket_key_conflict",
               "ticket_key_revoked", "status_change_refused", "invalid_input")


# Refusals of the sale functions (bo_confirm_sale, bo_issue_tickets): the message is a
# catalogue code, the detail its placeholders as JSON.
SALE_REFUSALS = ("unknown_hold", "foreign_hold", "hold_not_active", "hold_expired",
                 "amount_mismatch", "payment_unverified", "cash_not_accepted", "unknown_order",
                 "hold_limit_reached")


def refusal(exc: DBAPIError) -> BoxOfficeError | None:
    """The BoxOfficeError for a database refusal (permission denied, a definer function's
    check), or None for any other database error."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or ""
    detail = getattr(diag, "message_detail", None) or ""
    if primary in SALE_REFUSALS:
        try:
            details = json.loads(detail) if detail.startswith("{") else {}
        except ValueError:
            details = {}
        return BoxOfficeError(primary, **details)
    if primary in DB_REFUSALS:
        if primary == "invalid_input":
            return BoxOfficeError("invalid_input", detail=detail)
        if primary in ("not_authorized",):
            return BoxOfficeError("database_refused", detail=detail or primary)
        return BoxOfficeError(primary, detail=detail) if primary != "ticket_key_conflict" \
            else BoxOfficeError(primary, key_id=detail or "?")
    if state == "42501":
        return BoxOfficeError("database_refused", detail=primary)
    return None


def raise_refusal(exc: DBAPIError) -> NoReturn:
    err = refusal(exc)
    if err is None:
        raise exc
    raise err from None


# The owner creates or updates any terminal; a terminal's login only finds its own row
# (terminals are provisioned by ``boxoffice terminal add``, never by themselves).
_REGISTER_TERMINAL = text("select bo_register_terminal(:name, :kind)")
GENESIS = b"\x00" * 32


def register_terminal(engine: Engine, name: str, kind: str) -> int:
    """Create or update the terminal row and its audit chain; return its id."""
    try:
        with unit_of_work(engine) as conn:
            return int(conn.execute(_REGISTER_TERMINAL, {"name": name, "kind": kind})
                       .scalar_one())
    except DBAPIError as exc:
        raise_refusal(exc)


_OWN_TERMINAL = text("select id, name from terminals where id = bo_my_terminal()")


def system_actor(engine: Engine, name: str = "system") -> Actor:
    """The actor of background work. On a terminal's own login (a worker) that is the
    login's terminal, whatever ``name`` says: the database lets a login act only as
    itself. With the owner's rights, the named system terminal (created if new)."""
    with engine.connect() as conn:
        own = conn.execute(_OWN_TERMINAL).first()
    if own is not None:
        return Actor(terminal_id=int(own.id), terminal_name=own.name, channel="system")
    tid = register_terminal(engine, name, "system")
    return Actor(terminal_id=tid, terminal_name=name, channel="system")


def hash_pin(pin: str) -> str:
    """An argon2 hash (the format before 0008; new PINs are hashed by the database)."""
    _check_pin(pin)
    return _hasher.hash(pin)


def _check_pin(pin: str) -> None:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise BoxOfficeError("invalid_input", detail="A PIN is 4 to 12 digits.")


def create_operator(conn: Connection, login: str, display_name: str, role: str, pin: str) -> int:
    """Create (or rename/re-role) an operator: owner's rights only. The PIN is hashed
    inside the database with a key no terminal can read."""
    _check_pin(pin)
    return int(conn.execute(text("select bo_set_operator(:l, :d, :r, :p)"),
                            {"l": login, "d": display_name, "r": role, "p": pin}).scalar_one())


_AUTHENTICATE = text("select * from bo_authenticate(:l, :p)")


def authenticate(engine: Engine, login: str, pin: str) -> OperatorInfo:
    """Check a PIN inside the database, which also counts failures and locks the login
    (5 failures: 5 minutes, each further lock-out twice as long). The PIN hash never
    leaves the database; an unknown login is answered like a wrong PIN."""
    try:
        with unit_of_work(engine) as conn:
            row = conn.execute(_AUTHENTICATE, {"l": login, "p": pin}).mappings().one()
    except DBAPIError as exc:
        raise_refusal(exc)
    status = row["status"]
    if status == "ok":
        return OperatorInfo(row["operator_id"], row["login"], row["display_name"], row["role"],
                            row["proof"])
    if status == "operator_locked":
        raise BoxOfficeError("operator_locked", until=_hhmm(row["locked_until"]))
    if status == "legacy_hash":
        return _authenticate_legacy(engine, login, pin)
    raise BoxOfficeError("invalid_pin")


def _authenticate_legacy(engine: Engine, login: str, pin: str) -> OperatorInfo:
    """An argon2 hash from before 0008: only the owner can read it, verify it here and
    rewrite it in the database's format. A terminal gets pin_reset_required."""
    try:
        return _authenticate_argon2(engine, login, pin)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "42501":
            raise BoxOfficeError("pin_reset_required", login=login) from None
        raise


def _authenticate_argon2(engine: Engine, login: str, pin: str) -> OperatorInfo:
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
        conn.execute(text("select bo_reset_pin(:i, :p)"), {"i": row["id"], "p": pin})
        return OperatorInfo(row["id"], row["login"], row["display_name"], row["role"])


# Recorded by the database, which checks what a client could skip: the approver is an
# active supervisor whose PIN was typed on this login (the proof), it is not the
# requester nor the owner of the shift, and the terminal is the caller's own.
_RECORD_APPROVAL = text(
    "select bo_record_approval(:id, :kind, :t, :req, :appr, :reason, :entity, :eid, :amount,"
    " :proof)"
)


def record_approval_row(conn: Connection, actor: Actor, supervisor: OperatorInfo, kind: str,
                        reason_code: str, entity: str, entity_id: object,
                        amount_minor: int | None, *,
                        requested_by: int | None = None) -> uuid.UUID:
    """The approvals row, inside the caller's transaction (``core.sales.approvals``
    also audits it); raises self_approval or database_refused."""
    aid = uuid.uuid4()
    try:
        conn.execute(_RECORD_APPROVAL, {
            "id": aid, "kind": kind, "t": actor.terminal_id, "req": requested_by,
            "appr": supervisor.id, "reason": reason_code[:30], "entity": entity,
            "eid": str(entity_id), "amount": amount_minor, "proof": supervisor.proof})
    except DBAPIError as exc:
        raise_refusal(exc)
    return aid


def require_role(op: OperatorInfo, *roles: str) -> None:
    if op.role not in roles:
        raise BoxOfficeError("not_authorized", role="/".join(roles))


def _hhmm(ts: datetime | None) -> str:
    return ts.strftime("%H:%M") if ts else "?"
