"""The back office from the command line on a fresh database (no demo data): first
admin, a supervisor, a room from a spec, an event published, seats blocked, a price set,
the show canceled; bad input gives one clear line and exit 1, never a traceback."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxoffice_cli.main import main
from tests.backoffice.conftest import hall_spec
from tests.conftest import _with_db, drop_database, fresh_database


@pytest.fixture(scope="module")
def fresh_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    name = fresh_database(pg_admin_url, template_db)
    yield _with_db(pg_admin_url, name)
    drop_database(pg_admin_url, name)


@pytest.fixture
def cli(fresh_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("BOXOFFICE_DATABASE__URL", fresh_url)
    monkeypatch.setenv("BOXOFFICE_TERMINAL__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOXOFFICE_TERMINAL__NAME", "backoffice-1")
    monkeypatch.setenv("BOXOFFICE_TERMINAL__KIND", "monitor")

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def test_fresh_install_to_canceled_show(cli, tmp_path: Path):
    code, out, err = cli("operator", "add", "root", "--name", "Root", "--role", "admin",
                         "--first-admin", stdin="4321\n4321\n")
    assert code == 0, err
    code, _, err = cli("operator", "add", "root2", "--name", "R2", "--first-admin",
                       stdin="4321\n4321\n")
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
