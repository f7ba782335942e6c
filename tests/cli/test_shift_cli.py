"""`boxoffice shift` on a counter's own login: PINs come from a hidden prompt or standard
input, never the command line (it shows in ``ps``), and a pay-out leaves the drawer only
with a supervisor's PIN, which lowers the shift's expected cash by exactly that much."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.logins import TerminalLogins, psycopg_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def logins(ctx):
    made = TerminalLogins(ctx.engine)
    yield made
    made.close()


def _cli(logins: TerminalLogins, home: Path, stdin: str, *args: str
         ) -> subprocess.CompletedProcess[str]:
    t = logins.login("shift-cli-counter", "cashier")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "BOXOFFICE_CONFIG": str(home / "absent.toml"),
           "BOXOFFICE_DATABASE__URL": psycopg_url(t.url),
           "BOXOFFICE_TERMINAL__NAME": t.name, "BOXOFFICE_TERMINAL__KIND": "cashier",
           "BOXOFFICE_TERMINAL__DATA_DIR": str(home / "data")}
    return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", *args], cwd=ROOT,
                          env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_pay_out_needs_a_supervisor_and_no_pin_is_an_argument(ctx, logins, tmp_path):
    out = _cli(logins, tmp_path, "", "shift", "open", "--login", "ana", "--pin", "1234",
               "--float", "100,00")
    assert out.returncode == 2 and "--pin" in out.stderr
    out = _cli(logins, tmp_path, "1234\n", "shift", "open", "--login", "ana",
               "--float", "100,00", "--json")
    assert out.returncode == 0, out.stderr
    pay_out = ("shift", "pay-out", "--login", "ana", "--amount", "40,00",
               "--reason", "bank_drop", "--json")
    # ana cannot approve her own pay-out; a wrong supervisor PIN moves nothing.
    out = _cli(logins, tmp_path, "1234\n1234\n", *pay_out, "--supervisor", "ana")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    out = _cli(logins, tmp_path, "1234\n0000\n", *pay_out, "--supervisor", "carla")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    out = _cli(logins, tmp_path, "1234\n9999\n", *pay_out, "--supervisor", "carla")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["amount_minor"] == -4000
    with ctx.engine.connect() as c:
        moves = c.execute(text(
            "select m.kind, m.amount_minor from cash_movements m join shifts s"
            " on s.id = m.shift_id join terminals t on t.id = s.terminal_id"
            " where t.name = 'shift-cli-counter' order by m.id")).all()
    assert [(m.kind, m.amount_minor) for m in moves] == [("float", 10000), ("paid_out", -4000)]
