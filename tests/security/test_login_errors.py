"""A terminal whose login was revoked, or whose credentials do not hold, gets a clear
BoxOfficeError from the engine's error translation (never a driver error that reads like
a network fault)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db.engine import translate_error
from core.errors import BoxOfficeError
from core.provisioning import revoke_terminal
from core.uow import unit_of_work
from tests.security.conftest import terminal_context


def test_a_revoked_terminal_is_told_so(ctx, provision, tmp_path):
    t = provision("kiosk", "sec-kiosk-revoked")
    k = terminal_context(t, tmp_path)
    with k.engine.connect() as c:
        assert c.execute(text("select bo_my_terminal()")).scalar_one() == t.terminal_id
    revoke_terminal(ctx.engine, t.name)
    k.engine.dispose()
    with pytest.raises(BoxOfficeError) as e, unit_of_work(k.engine) as c:
        c.execute(text("select 1"))
    assert e.value.code == "terminal_revoked"
    with pytest.raises(BoxOfficeError) as e:
        k.engine.connect().close()
    assert e.value.code == "terminal_revoked"
    assert "revoked" in e.value.message("en") and e.value.message("pt-BR") != \
        e.value.message("en")
    k.engine.dispose()


def test_wrong_credentials_are_a_refused_login(provision, tmp_path):
    t = provision("cashier", "sec-counter-badpw")
    url = make_url(t.url).set(username=t.login + "_nobody").render_as_string(
        hide_password=False)
    bad = t.__class__(t.name, t.kind, t.terminal_id, t.login, t.password, url)
    c = terminal_context(bad, tmp_path)
    with pytest.raises(BoxOfficeError) as e, unit_of_work(c.engine) as conn:
        conn.execute(text("select 1"))
    assert e.value.code == "database_login_refused"
    c.engine.dispose()


def test_a_refused_statement_is_not_mistaken_for_a_login():
    """Permission errors of statements stay with the callers that map them."""
    class Denied(Exception):
        sqlstate = "42501"

    assert translate_error(Denied("permission denied for table orders")) is None
