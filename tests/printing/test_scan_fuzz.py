"""Garbage at the gate: thousands of random, truncated and mutated codes, in process and
through ``boxoffice scan`` as a subprocess. Every line gets a REJECT with a reason.

The gates scan on gate logins (the subprocess on its own, as a gate's config gives it);
the offline snapshot is the owner's export (signed with the box office's key)."""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

from core.tickets import GateChecker, OfflineGate, export_snapshot
from core.tickets.checkin import REASONS
from core.tickets.token import TOKEN_CHARS
from tests.logins import psycopg_url
from tests.printing.conftest import sell

REPO = Path(__file__).resolve().parents[2]
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def garbage(valid: list[str], n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        k = i % 6
        tok = rnd.choice(valid)
        if k == 0:  # random base32 of the right length: parses, never verifies
            out.append("".join(rnd.choice(B32) for _ in range(TOKEN_CHARS)))
        elif k == 1:  # truncated real token
            out.append(tok[:rnd.randrange(0, TOKEN_CHARS)])
        elif k == 2:  # one character of a real token changed
            j = rnd.randrange(TOKEN_CHARS)
            out.append(tok[:j] + rnd.choice(B32.replace(tok[j], "")) + tok[j + 1:])
        elif k == 3:  # one bit of the decoded token flipped
            raw = bytearray(base64.b32decode(tok))
            raw[rnd.randrange(len(raw))] ^= 1 << rnd.randrange(8)
            out.append(base64.b32encode(bytes(raw)).decode().rstrip("="))
        elif k == 4:  # random printable junk, any length
            out.append("".join(chr(rnd.randrange(33, 127)) for _ in range(rnd.randrange(1, 300))))
        else:  # a real token with extra characters
            out.append(tok + rnd.choice(B32) * rnd.randrange(1, 9))
    return out


def test_thousands_of_bad_codes_all_rejected_with_reason(ctx, counter, tmp_path, gate_ctx,
                                                         gate_actor):
    _, tickets = sell(ctx, counter, seats=3)
    tokens = [t.token for t in tickets]
    lines = garbage(tokens, 3000, seed=4)
    gate = GateChecker(gate_ctx, gate_actor, "FUZZ")
    offline = OfflineGate(export_snapshot(ctx.engine), tmp_path / "fz.sqlite3", "FUZZ")
    try:
        for line in lines:
            for r in (gate.scan(line, uuid.uuid4()), offline.scan(line)):
                assert not r.accepted, line
                assert r.reason in REASONS and r.reason != "ok"
                assert r.line().startswith(f"REJECT {r.reason}: ")
    finally:
        offline.close()
    # None of that garbage used up a real ticket.
    assert all(gate.scan(t, uuid.uuid4()).accepted for t in tokens)


def test_boxoffice_scan_subprocess_accepts_once_and_rejects_garbage(ctx, counter,
                                                                    tmp_path,
                                                                    terminal_logins):
    _, [ticket] = sell(ctx, counter, seats=1)
    gate = terminal_logins.login("gate-SUBPROC", "gate")
    lines = [ticket.token, *garbage([ticket.token], 2000, seed=11), "", ticket.token]
    env = {**os.environ, "PYTHONPATH": str(REPO), "BOXOFFICE_CONFIG": str(tmp_path / "none"),
           "BOXOFFICE_DATABASE__URL": psycopg_url(gate.url),
           "BOXOFFICE_TERMINAL__NAME": gate.name, "BOXOFFICE_TERMINAL__DATA_DIR": str(tmp_path),
           "BOXOFFICE_TERMINAL__LANGUAGE": "en"}
    proc = subprocess.run(
        [sys.executable, "-m", "boxoffice_cli.main", "scan", "--gate", "SUBPROC"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == len(lines)
    assert out[0].startswith("ACCEPT")
    assert out[-1].startswith("REJECT already_used: Already used at ")
    assert "gate SUBPROC" in out[-1]
    for line in out[1:]:
        tag, _, rest = line.partition(": ")
        assert tag.startswith("REJECT ") and tag.split(" ", 1)[1] in REASONS and rest
