"""Staff: add operators, change their role, disable and enable them, reset a PIN (typed
by the operator; it is never shown or stored in clear), and list them with their last
sign-in. At least one active admin always remains: every change that could remove one
first locks all active admin rows, so two admins disabling each other at the same
moment cannot both succeed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from core.actors import Actor, raise_refusal
from core.app_context import CoreContext
from core.backoffice.common import ADMIN, finish, require, run
from core.errors import BoxOfficeError

ROLES = ("cashier", "supervisor", "admin")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")

# --- SQL (one place: staff management becomes a definer function) ---------------------

# PINs are hashed inside the database (bo_add_operator, bo_reset_pin: the owner's or an
# admin login's), so no face writes or reads a PIN hash.
_INSERT = text("select bo_add_operator(:l, :d, :r, :pin)")
_LOCK_OPERATOR = text("select id, login, role, active from operators where login = :l"
                      " for update")
# Every active admin, locked in id order: the last-admin rule is checked under this lock.
_LOCK_ADMINS = text("select id from operators where role = 'admin' and active"
                    " order by id for update")
_SET_ACTIVE = text("update operators set active = :a, disabled_at = case when :a then null"
                   " else now() end where id = :id")
_SET_ROLE = text("update operators set role = :r where id = :id")
_SET_PIN = text("select bo_reset_pin(:id, :pin)")
_SIGNED_IN = text("update operators set last_sign_in_at = now() where id = :id")
_LIST = text(
    "select id, login, display_name, role, active, last_sign_in_at, created_at,"
    " locked_until > now() as locked from operators"
    " where :all or active order by role desc, login"
)
_BOOTSTRAP_LOCK = text("select pg_advisory_xact_lock(4243)")
_ANY_ADMIN = text("select 1 from operators where role = 'admin' and active limit 1")


@dataclass(frozen=True, slots=True)
class OperatorRow:
    id: int
    login: str
    display_name: str
    role: str
    active: bool
    last_sign_in_at: datetime | None
    created_at: datetime
    locked: bool | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "login": self.login, "display_name": self.display_name,
                "role": self.role, "active": self.active, "locked": bool(self.locked),
                "last_sign_in_at": self.last_sign_in_at.isoformat()
                if self.last_sign_in_at else None,
                "created_at": self.created_at.isoformat()}


def _check(login: str, role: str | None = None, name: str | None = None) -> None:
    if not _LOGIN.match(login or ""):
        raise BoxOfficeError("invalid_input", detail="a login is 2-40 lower-case letters,"
                             " digits, '.', '_' or '-'")
    if role is not None and role not in ROLES:
        raise BoxOfficeError("invalid_input", detail=f"role is one of {', '.join(ROLES)}")
    if name is not None and not 1 <= len(name.strip()) <= 120:
        raise BoxOfficeError("invalid_input", detail="a display name is 1-120 characters")


def add_operator(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, login: str,
                 display_name: str, role: str, pin: str) -> int:
    """A new operator (admin only). The PIN is hashed here and never logged or audited."""
    require(actor, ADMIN)
    _check(login, role, display_name)
    _check_pin(pin)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        oid = _db(conn, _INSERT, {"l": login, "d": display_name.strip(), "r": role,
                                  "pin": pin}).scalar()
        if oid is None:
            raise BoxOfficeError("operator_exists", login=login)
        return finish(conn, actor, k, "operator_add", "operator", oid,
                      {"login": login, "role": role}, {"operator_id": oid})

    # The PIN is not part of the request fingerprint: a retry with the same key must not
    # need it to match, and it must never reach command_log.
    return int(run(ctx, actor, key, "operator_add",
                   {"login": login, "name": display_name, "role": role}, body)["operator_id"])


def bootstrap_admin(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, login: str,
                    display_name: str, pin: str) -> int:
    """The first admin of a fresh install (run by the system actor: the person holding the
    database's owner URL). Refused once any active admin exists."""
    if actor.operator_id is not None or actor.channel != "system":
        raise BoxOfficeError("admin_exists")
    _check(login, "admin", display_name)
    _check_pin(pin)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        conn.execute(_BOOTSTRAP_LOCK)
        if conn.execute(_ANY_ADMIN).first() is not None:
            raise BoxOfficeError("admin_exists")
        oid = _db(conn, _INSERT, {"l": login, "d": display_name.strip(), "r": "admin",
                                  "pin": pin}).scalar()
        if oid is None:
            raise BoxOfficeError("operator_exists", login=login)
        return finish(conn, actor, k, "operator_bootstrap", "operator", oid,
                      {"login": login, "role": "admin"}, {"operator_id": oid})

    return int(run(ctx, actor, key, "operator_bootstrap",
                   {"login": login, "name": display_name}, body)["operator_id"])


def _check_pin(pin: str) -> None:
    if not (pin or "").isdigit() or not 4 <= len(pin) <= 12:
        raise BoxOfficeError("invalid_input", detail="A PIN is 4 to 12 digits.")


def _db(conn: Connection, stmt: Any, params: dict[str, Any]) -> Any:
    """A statement the database may refuse to this login (staff is the admin login's):
    its refusal as a BoxOfficeError, never a driver error."""
    try:
        return conn.execute(stmt, params)
    except DBAPIError as exc:
        raise_refusal(exc)


def _lock(conn: Connection, login: str) -> Any:
    # Admins first, then the operator: the same order in every service, so two changes
    # never wait on each other in a cycle.
    admins = [r[0] for r in _db(conn, _LOCK_ADMINS, {})]
    op = _db(conn, _LOCK_OPERATOR, {"l": login}).first()
    if op is None:
        raise BoxOfficeError("unknown_operator", operator=login)
    return op, admins


def _keeps_an_admin(op: Any, admins: list[int]) -> None:
    if op.role == "admin" and op.active and [a for a in admins if a != op.id] == []:
        raise BoxOfficeError("last_admin")


def set_active(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, login: str,
               active: bool) -> None:
    """Disable (cannot sign in any more; their past work keeps their name) or enable."""
    require(actor, ADMIN)
    _check(login)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        op, admins = _lock(conn, login)
        if not active:
            _keeps_an_admin(op, admins)
        _db(conn, _SET_ACTIVE, {"a": active, "id": op.id})
        return finish(conn, actor, k, "operator_enable" if active else "operator_disable",
                      "operator", op.id, {"login": login}, {"operator_id": op.id})

    run(ctx, actor, key, "operator_active", {"login": login, "active": active}, body)


def set_role(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, login: str,
             role: str) -> None:
    require(actor, ADMIN)
    _check(login, role)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        op, admins = _lock(conn, login)
        if role != "admin":
            _keeps_an_admin(op, admins)
        _db(conn, _SET_ROLE, {"r": role, "id": op.id})
        return finish(conn, actor, k, "operator_role", "operator", op.id,
                      {"login": login, "from": op.role, "to": role}, {"operator_id": op.id})

    run(ctx, actor, key, "operator_role", {"login": login, "role": role}, body)


def reset_pin(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, login: str,
              new_pin: str) -> None:
    """Set a new PIN (typed by the operator at the terminal, never shown) and clear any
    lock-out. An admin may reset anyone's; an operator may reset their own."""
    _check(login)
    _check_pin(new_pin)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        op = _db(conn, _LOCK_OPERATOR, {"l": login}).first()
        if op is None:
            raise BoxOfficeError("unknown_operator", operator=login)
        if actor.operator_id != op.id:
            require(actor, ADMIN)
        _db(conn, _SET_PIN, {"pin": new_pin, "id": op.id})
        return finish(conn, actor, k, "operator_pin_reset", "operator", op.id,
                      {"login": login}, {"operator_id": op.id})

    run(ctx, actor, key, "operator_pin_reset", {"login": login}, body)


def note_sign_in(engine: Engine, operator_id: int) -> None:
    """Record a successful sign-in. ``bo_authenticate`` records it itself (migration
    0009), so on a terminal's login this does nothing; the owner's tools, which may set
    operators up without a PIN check, still stamp it."""
    with engine.begin() as conn:
        if conn.execute(text("select bo_is_owner()")).scalar():
            conn.execute(_SIGNED_IN, {"id": operator_id})


def list_operators(engine: Engine, *, include_disabled: bool = True) -> list[OperatorRow]:
    with engine.connect() as conn:
        return [OperatorRow(**r) for r in conn.execute(
            _LIST, {"all": include_disabled}).mappings()]
