"""The back office from the command line on a fresh database (no demo data), as an
operator runs it: ``boxoffice db upgrade`` and the first admin with the owner's URL, the
back-office machine's login made with ``boxoffice terminal add --kind admin --config``,
and everything else with that config file: a supervisor, a room from a spec, an event
published, seats blocked, a price set, the show canceled; bad input gives one clear
line and exit 1, never a traceback."""

from __future__ import annotations

import io
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from boxoffice_cli.main import main
from core.provisioning import drop_login
from tests.backoffice.conftest import hall_spec
from tests.conftest import _with_db, drop_database, fresh_database
from tests.logins import psycopg_url


@pytest.fixture(scope="module")
def fresh_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    name = fresh_database(pg_admin_url, template_db)
    yield _with_db(pg_admin_url, name)
    drop_database(pg_admin_url, name)


ADMIN_TERMINAL = "backoffice-1"


@pytest.fixture(scope="module")
def admin_config(fresh_url, tmp_path_factory) -> Iterator[Path]:
    """The back-office machine's config file, written by ``boxoffice terminal add`` run
    with the owner's URL (its login is dropped at the end: roles are cluster-wide)."""
    path = tmp_path_factory.mktemp("backoffice") / "boxoffice.toml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BOXOFFICE_CONFIG", str(path.parent / "absent.toml"))
        mp.setenv("BOXOFFICE_DATABASE__URL", fresh_url)
        assert main(["terminal", "add", ADMIN_TERMINAL, "--kind", "admin",
                     "--config", str(path)]) == 0
    assert path.stat().st_mode & 0o777 == 0o600
    login = make_url(tomllib.loads(path.read_text())["database"]["url"]).username
    assert login is not None
    yield path
    engine = create_engine(psycopg_url(fresh_url), poolclass=NullPool)
    try:
        drop_login(engine, login)
    finally:
        engine.dispose()


@pytest.fixture
def cli(fresh_url, admin_config, tmp_path, monkeypatch, capsys):
    """``cli(*argv, stdin="", owner=False)``: the back-office machine's command line on
    its admin login's config; ``owner=True`` runs it with the owner's URL instead."""
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(admin_config))
    monkeypatch.setenv("BOXOFFICE_TERMINAL__DATA_DIR", str(tmp_path))

    def run(*argv: str, stdin: str = "", owner: bool = False) -> tuple[int, str, str]:
        if owner:
            monkeypatch.setenv("BOXOFFICE_DATABASE__URL", fresh_url)
        else:
            monkeypatch.delenv("BOXOFFICE_DATABASE__URL", raising=False)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def _owner_reads(url: str, sql: str) -> Any:
    engine = create_engine(psycopg_url(url), poolclass=NullPool)
    try:
        with engine.connect() as c:
            return c.execute(text(sql)).all()
    finally:
        engine.dispose()


def test_fresh_install_to_canceled_show(cli, fresh_url, tmp_path: Path):
    code, out, err = cli("db", "upgrade", owner=True)
    assert code == 0 and "database at revision" in out, err
    code, out, err = cli("operator", "add", "root", "--name", "Root", "--role", "admin",
                         "--first-admin", stdin="4321\n4321\n", owner=True)
    assert code == 0, err
    code, _, err = cli("operator", "add", "root2", "--name", "R2", "--first-admin",
                       stdin="4321\n4321\n", owner=True)
    assert code == 1 and "admin_exists" in err
    code, _, err = cli("operator", "add", "sup", "--name", "Sup", "--role", "supervisor",
                       "--login", "root", stdin="4321\n5555\n5556\n")
    assert code == 1 and "pin_mismatch" in err
    code, _, err = cli("operator", "add", "sup", "--name", "Sup", "--role", "supervisor",
                       "--login", "root", stdin="4321\n5555\n5555\n")
    assert code == 0, err
    code, out, _ = cli("operator", "list", "--json")
    ops = {o["login"]: o for o in json.loads(out)}
    assert ops["root"]["last_sign_in_at"] and ops["sup"]["role"] == "supervisor"
    with pytest.raises(SystemExit) as e:  # there is no PIN argument
        cli("operator", "add", "x", "--name", "X", "--pin", "1234")
    assert e.value.code == 2

    spec = tmp_path / "hall.toml"
    spec.write_text(hall_spec("CLIHALL"))
    room_csv = tmp_path / "hall.csv"
    assert cli("venue", "generate", str(spec), "--out", str(room_csv))[0] == 0
    code, out, _ = cli("venue", "validate", str(room_csv))
    assert code == 0 and "2000 seats: OK" in out
    code, out, err = cli("venue", "import", str(room_csv), "--login", "sup", "--json",
                         stdin="5555\n")
    assert code == 0, err
    assert json.loads(out)["rooms"][0]["seats"] == 2000
    code, out, _ = cli("venue", "export", "CLIHALL", "--format", "csv")
    assert out == room_csv.read_text()
    code, out, _ = cli("venue", "show", "CLIHALL", "--width", "120")
    assert code == 0 and "PALCO" in out and "2000 seats" in out
    code, out, _ = cli("venue", "list", "--json")
    assert json.loads(out)[0]["capacity"] == 2300

    code, out, err = cli("event", "create", "--code", "GALA", "--name", "Gala",
                         "--room", "CLIHALL", "--starts", "2030-05-10 21:00",
                         "--price", "ORQ=200:150:400", "--price", "MEZ=150",
                         "--price", "BAL=90", "--price", "PISTA=50", "--min-age", "18",
                         "--publish", "--login", "sup", "--json", stdin="5555\n")
    assert code == 0, err
    ev = json.loads(out)
    assert ev["status"] == "on_sale" and ev["starts_local"] == "2030-05-10 21:00"
    code, out, _ = cli("event", "list", "--json")
    assert [e["code"] for e in json.loads(out)] == ["GALA"]
    code, out, err = cli("event", "clone", "GALA", "--weekly", "3", "--login", "sup",
                         stdin="5555\n")
    assert code == 0 and "GALA-20300517" in out, err

    code, out, err = cli("seats", "block", "GALA", "ORQ:A", "--reason", "house seats",
                         "--login", "sup", stdin="5555\n")
    assert code == 0 and "40 seat(s) blocked" in out, err
    code, out, _ = cli("seats", "blocked", "GALA", "--json")
    assert len(json.loads(out)) == 40
    code, out, _ = cli("venue", "show", "--event", "GALA")
    assert out.count("▪") >= 40
    code, out, err = cli("price", "set", "GALA", "ORQ", "210", "--reason", "demand",
                         "--login", "sup", stdin="5555\n")
    assert code == 0 and "R$ 210.00" in out, err
    code, out, err = cli("price", "set", "GALA", "ORQ", "390", "--reason", "too much",
                         "--login", "sup", stdin="5555\n")
    assert code == 0 and "second supervisor" in out, err
    code, out, _ = cli("price", "history", "GALA", "--json")
    assert [(h["old_minor"], h["new_minor"], h["changed_by"]) for h in json.loads(out)] == \
        [(20000, 21000, "sup")]

    code, out, err = cli("event", "cancel", "GALA", "--reason", "storm", "--login", "sup",
                         "--json", stdin="5555\n")
    assert code == 1 and "--yes" in json.loads(out)["error"]["details"]["detail"]
    summary_csv = tmp_path / "summary.csv"
    code, out, err = cli("event", "cancel", "GALA", "--reason", "storm", "--yes",
                         "--login", "sup", "--summary", str(summary_csv), "--json",
                         stdin="5555\n")
    assert code == 0, err
    assert json.loads(out)["totals"]["complete"] is True
    assert summary_csv.read_text().startswith("order_number,")
    code, out, _ = cli("event", "show", "GALA", "--json")
    assert json.loads(out)["status"] == "canceled"
    # All of it on the back-office machine's own admin login, in its own audit chain.
    kinds = _owner_reads(fresh_url, "select t.name, l.kind from terminal_logins l join"
                                    " terminals t on t.id = l.terminal_id")
    assert [tuple(r) for r in kinds] == [(ADMIN_TERMINAL, "admin")]
    actions = {r[0] for r in _owner_reads(
        fresh_url, f"select action from audit_log where chain = '{ADMIN_TERMINAL}'")}
    assert "event_cancel" in actions
    # The config is a terminal's: the owner's tools refuse it; the owner's URL works.
    code, _, err = cli("terminal", "list")
    assert code != 0 and "owner" in err, err
    assert cli("terminal", "list", owner=True)[0] == 0


def test_errors_are_one_line(cli, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("type,room,section,row,number,x,y\nroom,R,,,,,\nseat,R,S,A,1,0,0\n")
    code, _, err = cli("venue", "import", str(bad), "--login", "root")
    assert code == 1
    assert "venue_file_invalid" in err and "line 2: timezone is missing" in err
    assert "line 3: section 'S' is missing from room R" in err
    code, _, err = cli("venue", "import", str(tmp_path / "nope.csv"))
    assert code == 1 and "cannot read" in err
    code, _, err = cli("event", "show", "NOPE")
    assert code == 1 and "unknown_event" in err
    code, _, err = cli("seats", "capacity", "NOPE", "PISTA", "10", "--login", "root",
                       stdin="0000\n")
    assert code == 1 and "invalid_pin" in err
    code, _, err = cli("event", "pause", "NOPE", "--login", "root")
    assert code == 1 and "PIN" in err
    code, _, err = cli("price", "set", "X", "ORQ", "abc", "--reason", "r", "--login", "root",
                       stdin="4321\n")
    assert code == 1 and "invalid_pin" not in err
