"""What exists only in the demo (issue 11 item 6): ``boxoffice tickets demo-sale`` (a cash
sale outside the saga and any shift) runs only on the database ``boxoffice demo`` made, and
the sandbox gateway raises no alert there. The demo's mark is a comment on the database,
which only its owner may set: no terminal login, setting or environment turns it on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.errors import BoxOfficeError
from core.heartbeat import beat
from core.monitor import snapshot
from core.provisioning import is_demo_database, mark_demo_database
from tests.security.conftest import raw_engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def not_demo(ctx) -> Iterator[None]:
    """This module's database without the demo's mark, whatever ran before."""
    with ctx.engine.begin() as c:
        c.exec_driver_sql(c.execute(text(
            "select format('comment on database %I is null', current_database())")).scalar_one())
    yield
    with ctx.engine.begin() as c:
        c.exec_driver_sql(c.execute(text(
            "select format('comment on database %I is null', current_database())")).scalar_one())


def _demo_sale(db_url: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    clean.update(BOXOFFICE_CONFIG=str(home / "none.toml"), BOXOFFICE_DATABASE__URL=db_url,
                 BOXOFFICE_TERMINAL__DATA_DIR=str(home), BOXOFFICE_TERMINAL__LANGUAGE="en",
                 HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", "tickets", "demo-sale",
                           "--seats", "1", "--wait", "10"], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


def _orders(ctx) -> int:
    with ctx.engine.connect() as c:
        return int(c.execute(text("select count(*) from orders")).scalar_one())


def test_demo_sale_is_refused_outside_the_demo(ctx, db_url, tmp_path, not_demo):
    before = _orders(ctx)
    out = _demo_sale(db_url, tmp_path)
    assert out.returncode == 1
    assert "demo_only" in out.stderr and "boxoffice demo" in out.stderr
    assert "Traceback" not in out.stderr and not out.stdout
    assert _orders(ctx) == before


def test_no_terminal_login_can_make_its_database_a_demo(ctx, terminals, not_demo):
    for kind in ("cashier", "kiosk", "monitor", "worker"):
        engine = raw_engine(terminals[kind])
        with pytest.raises(BoxOfficeError) as e:
            mark_demo_database(engine)
        assert e.value.code == "owner_required"
        with pytest.raises(DBAPIError, match="must be owner"), engine.begin() as c:
            c.exec_driver_sql(c.execute(text(
                "select format('comment on database %I is %L', current_database(),"
                " 'boxoffice demo database')")).scalar_one())
        engine.dispose()
    assert not is_demo_database(ctx.engine)


def test_on_the_demos_database_demo_sale_sells_and_the_sandbox_is_no_alert(
        ctx, db_url, tmp_path, terminals, not_demo):
    kiosk = terminals["kiosk"]
    beat(ctx.engine, kiosk.terminal_id, {"screen": "attract"}, gateway="sandbox")
    assert ("sandbox_gateway", kiosk.name) in {(a.code, a.terminal)
                                               for a in snapshot(ctx.engine).alerts}
    mark_demo_database(ctx.engine)
    assert is_demo_database(raw_engine(kiosk))  # every login may read the mark
    assert "sandbox_gateway" not in {a.code for a in snapshot(ctx.engine).alerts}
    before = _orders(ctx)
    out = _demo_sale(db_url, tmp_path)
    assert out.returncode == 0, out.stderr
    tokens = out.stdout.split()
    assert len(tokens) == 1 and _orders(ctx) == before + 1
