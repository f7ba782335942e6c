"""Fixtures for the offline tests: a terminal whose database link goes through a proxy
the test can cut, with its own journal in the module's temp dir."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.actors import Actor
from core.app_context import CoreContext, build_context
from sync.journal import Journal
from sync.terminal import OfflineTerminal
from tests.conftest import make_actor, make_settings
from tests.sync.tcpproxy import TcpProxy


@pytest.fixture
def proxy(db_url: str) -> Iterator[TcpProxy]:
    u = make_url(db_url)
    p = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    yield p
    p.close()


def proxied_url(db_url: str, proxy: TcpProxy) -> str:
    return make_url(db_url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


def make_terminal(ctx: CoreContext, db_url: str, proxy: TcpProxy | None, tmp: Path,
                  name: str | None = None, cards: object = None,
                  **overrides: object) -> OfflineTerminal:
    """A terminal with its own engine (through ``proxy`` when given) and journal."""
    name = name or f"t-{uuid.uuid4().hex[:6]}"
    url = proxied_url(db_url, proxy) if proxy else db_url
    base = {"sync__offline_after_failures": 1, "sync__online_after_successes": 1,
            "sync__probe_timeout_s": 1.0, "database__connect_timeout_s": 1,
            "database__lock_timeout_ms": 1000, "terminal__name": name}
    base.update(overrides)
    settings = make_settings(url, tmp / name, **base)
    tctx = build_context(settings, url=url)
    actor: Actor = make_actor(ctx, name)
    journal = Journal(tmp / name / "journal.sqlite3")
    return OfflineTerminal(tctx, actor, journal, cards=cards)  # type: ignore[arg-type]
