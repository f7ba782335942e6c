"""``boxoffice terminal add|list|revoke`` and what revocation does at once: the login
cannot connect, its open sessions end, its signing key is revoked. And the start-up check
that refuses a schema behind or ahead."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from core.db.migrate import check_schema_current, head_revision
from core.errors import BoxOfficeError
from core.provisioning import drop_login, login_for, provision_terminal, revoke_terminal
from tests.security.conftest import psycopg_url, raw_engine, terminal_context

ROOT = Path(__file__).resolve().parents[2]


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"BOXOFFICE_DATABASE__URL": db_url, "PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_add_writes_a_private_config_list_shows_it_revoke_cuts_it_off(ctx, db_url,
                                                                           tmp_path):
    cfg = tmp_path / "etc" / "kiosk-7.toml"
    out = _cli(db_url, tmp_path, "terminal", "add", "kiosk-7", "--kind", "kiosk",
               "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    conf = tomllib.loads(cfg.read_text())
    assert conf["terminal"] == {"name": "kiosk-7", "kind": "kiosk"}
    url = conf["database"]["url"]
    login = None
    try:
        engine = create_engine(psycopg_url(url), poolclass=NullPool)
        with engine.connect() as c:
            login = c.execute(text("select session_user")).scalar_one()
        again = _cli(db_url, tmp_path, "terminal", "add", "kiosk-7", "--kind", "kiosk")
        assert again.returncode == 2 and "already has a login" in again.stderr

        listed = _cli(db_url, tmp_path, "terminal", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        row = next(r for r in json.loads(listed.stdout) if r["name"] == "kiosk-7")
        assert row["login"] == login and row["kind"] == "kiosk" and row["revoked_at"] is None

        held = engine.connect()  # a session open when the terminal is revoked
        revoked = _cli(db_url, tmp_path, "terminal", "revoke", "kiosk-7")
        assert revoked.returncode == 0, revoked.stderr
        assert "1 session(s) ended" in revoked.stdout
        with pytest.raises(DBAPIError):
            held.execute(text("select 1"))
        held.invalidate()
        with pytest.raises(OperationalError):
            engine.connect()
    finally:
        if login:
            drop_login(ctx.engine, login)


def test_revoke_stops_the_signing_key_and_the_login_from_now_on(ctx, provision, tmp_path):
    t = provision("kiosk", "sec-kiosk-stolen")
    k = terminal_context(t, tmp_path)
    signer = k.signer()  # enrolled on its own login (first key only)
    with ctx.engine.connect() as c:
        owner_of = c.execute(text("select terminal_id from ticket_keys where key_id = :k"),
                             {"k": signer.key_id}).scalar_one()
    assert owner_of == t.terminal_id
    k.engine.dispose()
    done = revoke_terminal(ctx.engine, t.name)
    assert done["keys_revoked"] == 1
    with ctx.engine.connect() as c:
        r = c.execute(text("select k.revoked_at, l.revoked_at as login_revoked, r.rolcanlogin"
                           " from ticket_keys k join terminal_logins l on l.terminal_id ="
                           " k.terminal_id join pg_roles r on r.rolname = l.login"
                           " where k.key_id = :k"), {"k": signer.key_id}).one()
    assert r.revoked_at is not None and r.login_revoked is not None and not r.rolcanlogin
    with pytest.raises(OperationalError):
        raw_engine(t).connect()
    # Revoking twice is harmless.
    assert revoke_terminal(ctx.engine, t.name)["keys_revoked"] == 0


def test_a_terminal_login_enrolls_one_key_only(ctx, provision, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from core.tickets.keys import TicketSigner, ensure_key_row

    t = provision("cashier", "sec-counter-keys")
    k = terminal_context(t, tmp_path)
    first = k.signer()
    second = TicketSigner(Ed25519PrivateKey.generate())
    with pytest.raises(BoxOfficeError) as e, k.engine.begin() as conn:
        ensure_key_row(conn, second, t.terminal_id)
    assert e.value.code == "database_refused"
    with k.engine.begin() as conn:
        ensure_key_row(conn, first, t.terminal_id)  # its own key again: fine
    k.engine.dispose()


def test_terminal_kinds_and_login_names(ctx):
    with pytest.raises(BoxOfficeError) as e:
        provision_terminal(ctx.engine, "x", "janitor")
    assert e.value.code == "unknown_terminal_kind"
    long = login_for("bo_t_0123456789ab", "Kiosk Lobby/Entrance " * 4)
    assert len(long) <= 63 and long.startswith("bo_")
    assert login_for("db1", "k1") != login_for("db2", "k1")
    assert login_for("db1", "K1") != login_for("db1", "k1")


def test_terminals_cannot_provision(terminals):
    from core.provisioning import list_terminals

    engine = raw_engine(terminals["monitor"])
    with pytest.raises(BoxOfficeError) as e:
        provision_terminal(engine, "evil", "cashier")
    assert e.value.code == "owner_required"
    with pytest.raises(BoxOfficeError):
        revoke_terminal(engine, terminals["kiosk"].name)
    with pytest.raises(BoxOfficeError):
        list_terminals(engine)


def test_schema_check_refuses_behind_and_ahead(ctx, terminals):
    engine = raw_engine(terminals["kiosk"])
    assert check_schema_current(engine) == head_revision()
    for fake, code in (("0007", "schema_behind"), ("ffff", "schema_ahead")):
        with ctx.engine.begin() as c:
            c.execute(text("update alembic_version set version_num = :v"), {"v": fake})
        try:
            with pytest.raises(BoxOfficeError) as e:
                check_schema_current(engine)
            assert e.value.code == code
            assert "boxoffice db upgrade" in e.value.message() or code == "schema_ahead"
        finally:
            with ctx.engine.begin() as c:
                c.execute(text("update alembic_version set version_num = :v"),
                          {"v": head_revision()})


def test_terminal_cannot_migrate(terminals):
    from core.db import migrate

    engine = create_engine(psycopg_url(terminals["cashier"].url), poolclass=NullPool)
    with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as c:
        c.execute(text("update alembic_version set version_num = '0007'"))
    assert migrate.is_current(engine)


def test_terminal_url_keeps_the_owners_tls_options():
    from sqlalchemy.engine import make_url

    from core.provisioning import terminal_url

    owner = ("postgresql+psycopg://owner:secret@db.casino.lan:5433/boxoffice"
             "?sslmode=verify-full&sslrootcert=/etc/boxoffice/db-ca.pem")
    u = make_url(terminal_url(owner, "bo_abc123_kiosk_1", "pw-1_x"))
    assert u.drivername == "postgresql" and u.username == "bo_abc123_kiosk_1"
    assert u.password == "pw-1_x" and u.host == "db.casino.lan" and u.port == 5433
    assert u.database == "boxoffice"
    assert dict(u.query) == {"sslmode": "verify-full",
                             "sslrootcert": "/etc/boxoffice/db-ca.pem"}


def test_only_the_worker_login_reads_replication(ctx, terminals):
    """pg_monitor (replication lag for the worker's metrics) is granted at provisioning
    to the worker's login only: no seller reads the cluster's activity."""
    for kind, t in terminals.items():
        with ctx.engine.connect() as c:
            member = c.execute(text("select pg_has_role(:l, 'pg_monitor', 'MEMBER')"),
                               {"l": t.login}).scalar_one()
        assert member == (kind == "worker"), kind
    seen = "select query from pg_stat_activity where usename = :o and pid <> pg_backend_pid()"
    with ctx.engine.connect() as owner:
        who = owner.execute(text("select current_user")).scalar_one()
        owner.execute(text("select 1"))  # an owner session whose query text is held
        with raw_engine(terminals["worker"]).connect() as c:
            c.execute(text("select client_addr, replay_lag from pg_stat_replication")).all()
            texts = c.execute(text(seen), {"o": who}).scalars().all()
            assert any(q != "<insufficient privilege>" for q in texts), texts
        with raw_engine(terminals["kiosk"]).connect() as c:
            texts = c.execute(text(seen), {"o": who}).scalars().all()
            assert texts and all(q == "<insufficient privilege>" for q in texts), texts
