"""Terminal logins for the suite: every terminal a test builds connects as its own
PostgreSQL login (``core.provisioning``, as ``boxoffice terminal add`` makes one), so the
least-privilege path is the one the suite runs every day. The owner's engine (the
``ctx`` fixture) seeds and reads results; terminals act.

Roles are cluster-wide and the login's name carries a tag of its database, so logins of
two modules never collide; ``TerminalLogins.close`` disposes the engines and drops every
login it made. Pools stay small: the server allows 100 connections and CI shares it.
"""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from config import Settings
from core.actors import Actor
from core.app_context import CoreContext
from core.provisioning import ProvisionedTerminal, drop_login, provision_terminal

# The kinds a terminal process runs as (settings.terminal.kind); a gate or worker login
# runs core with a cashier's settings.
SESSION_KINDS = ("cashier", "kiosk", "monitor")
POOL_SIZE = 4


def psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False)


def login_settings(settings: Settings, t: ProvisionedTerminal, *,
                   pool_size: int = POOL_SIZE) -> Settings:
    """``settings`` as terminal ``t`` runs them: its name, kind and login, a small pool."""
    # The back office's admin login is a monitor with more rights (core.provisioning.KINDS).
    kind = "monitor" if t.kind == "admin" else t.kind if t.kind in SESSION_KINDS else "cashier"
    terminal = settings.terminal.model_copy(update={"name": t.name, "kind": kind})
    database = settings.database.model_copy(update={
        "url": SecretStr(psycopg_url(t.url)), "pool_size": pool_size,
        "max_overflow": pool_size})
    return settings.model_copy(update={"terminal": terminal, "database": database})


def login_actor(t: ProvisionedTerminal, operator_id: int | None = None,
                role: str | None = None) -> Actor:
    """The actor of terminal ``t``: row security lets its login act only as itself."""
    channel = {"kiosk": "kiosk", "worker": "system"}.get(t.kind, "counter")
    return Actor(t.terminal_id, t.name, operator_id, role, channel)  # type: ignore[arg-type]


class TerminalLogins:
    """A module's terminal logins, one per terminal name, provisioned on first use by the
    owner; contexts on them go through the terminal's own start path
    (``terminal.bootstrap.terminal_context``: schema checked, never migrating)."""

    def __init__(self, owner_engine: Engine) -> None:
        self.owner_engine = owner_engine
        self.made: dict[str, ProvisionedTerminal] = {}
        self.contexts: dict[str, CoreContext] = {}
        self._all: list[CoreContext] = []

    def login(self, name: str, kind: str = "cashier") -> ProvisionedTerminal:
        t = self.made.get(name)
        if t is None:
            t = self.made[name] = provision_terminal(self.owner_engine, name, kind)
        elif t.kind != kind:
            raise AssertionError(f"terminal {name} is a {t.kind} login, not a {kind}: give"
                                 f" the {kind} its own name")
        return t

    def actor(self, name: str, kind: str = "cashier", operator_id: int | None = None,
              role: str | None = None) -> Actor:
        return login_actor(self.login(name, kind), operator_id, role)

    def new_context(self, name: str, kind: str, settings: Settings, *,
                    pool_size: int = POOL_SIZE, gateway: object = None) -> CoreContext:
        """A new context on terminal ``name``'s login (disposed at ``close``)."""
        from terminal.bootstrap import terminal_context

        t = self.login(name, kind)
        s = login_settings(settings, t, pool_size=pool_size)
        c = terminal_context(s, url=psycopg_url(t.url))
        if gateway is not None:
            c.gateway = gateway
        self._all.append(c)
        return c

    def context(self, name: str, kind: str, settings: Settings, *,
                pool_size: int = 2, gateway: object = None) -> CoreContext:
        """Terminal ``name``'s context, made once per module: ``settings`` (another
        terminal's) with this one's name, kind and login."""
        c = self.contexts.get(name)
        if c is None:
            c = self.contexts[name] = self.new_context(name, kind, settings,
                                                       pool_size=pool_size, gateway=gateway)
        return c

    def close(self) -> None:
        for c in self._all:
            c.engine.dispose()
        for t in self.made.values():
            drop_login(self.owner_engine, t.login)
        self.made.clear()
        self.contexts.clear()
        self._all.clear()
