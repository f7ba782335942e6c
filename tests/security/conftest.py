"""Terminal logins for the security tests: each test module provisions real logins in
its own database (``core.provisioning``, as ``boxoffice terminal add`` does) and connects
as them. The roles are cluster-wide, so every login made here is dropped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from config import Settings
from core.actors import Actor
from core.app_context import CoreContext, build_context
from core.provisioning import ProvisionedTerminal, drop_login, provision_terminal
from tests.conftest import make_settings
from tests.logins import login_actor, psycopg_url

# ``counter`` here is the printing tests' (counter-1's cashier login, ana signed in with her
# drawer open, its context ``seller_ctx``), the one their ``sell`` sells on: a module that
# sells with it gets a real cash sale on a terminal login. Modules with a counter of their
# own define their own fixture.
from tests.printing.conftest import counter, seller_ctx  # noqa: F401

Provision = Callable[[str, str], ProvisionedTerminal]


@pytest.fixture(scope="module")
def provision(ctx: CoreContext) -> Iterator[Provision]:
    """``provision(kind, name)``: a new terminal login in this module's database."""
    made: list[ProvisionedTerminal] = []

    def make(kind: str, name: str) -> ProvisionedTerminal:
        t = provision_terminal(ctx.engine, name, kind)
        made.append(t)
        return t

    yield make
    for t in made:
        drop_login(ctx.engine, t.login)


@pytest.fixture(scope="module")
def terminals(provision: Provision) -> dict[str, ProvisionedTerminal]:
    """One provisioned terminal of every kind."""
    return {kind: provision(kind, f"sec-{kind}-1")
            for kind in ("cashier", "kiosk", "monitor", "gate", "worker")}


def raw_engine(t: ProvisionedTerminal) -> Engine:
    """A bare connection as the terminal's login: what an attacker holding the terminal's
    config file gets."""
    return create_engine(psycopg_url(t.url), poolclass=NullPool)


def terminal_settings(t: ProvisionedTerminal, tmp: Path, **overrides: object) -> Settings:
    kind = t.kind if t.kind in ("cashier", "kiosk", "monitor") else "cashier"
    return make_settings(psycopg_url(t.url), tmp, terminal__name=t.name, terminal__kind=kind,
                         database__pool_size=4, database__max_overflow=4, **overrides)


def terminal_context(t: ProvisionedTerminal, tmp: Path, settings: Settings | None = None
                     ) -> CoreContext:
    s = settings or terminal_settings(t, tmp)
    return build_context(s, url=psycopg_url(t.url))


def actor_for(t: ProvisionedTerminal, operator_id: int | None = None,
              role: str | None = None) -> Actor:
    return login_actor(t, operator_id, role)


def operator_id(engine: Engine, login: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text("select id from operators where login = :l"),
                             {"l": login}).scalar_one())


def new_key() -> uuid.UUID:
    return uuid.uuid4()
