"""Safe defaults (issue 11 items 6-9): order search takes '%' literally, self-exclusion
identifiers are keyed digests no terminal can compute, a card is a payment-method token
and never a typed number, and the shipped systemd units confine the kiosk and worker."""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import selfexclusion
from core.errors import BoxOfficeError
from core.monitor import find_orders
from core.reservation import confirm_in, hold_best_available
from core.sales import CardTender
from core.uow import unit_of_work
from tests.printing.conftest import event_id
from tests.security.conftest import raw_engine, terminal_context

ROOT = Path(__file__).resolve().parents[2]


def _named_order(ctx, counter, name: str) -> int:
    h = hold_best_available(ctx, counter, uuid.uuid4(), event_id(ctx, "SINATRA"), 1)
    with unit_of_work(ctx.engine) as conn:
        return confirm_in(conn, counter, h.hold_id, "cash:search", customer_name=name).number


def test_order_search_takes_wildcards_literally(ctx, counter):
    plain = _named_order(ctx, counter, "Maria Silva")
    odd = _named_order(ctx, counter, "100% Diversão_VIP")
    assert [o.number for o in find_orders(ctx.engine, "%")] == [odd]
    assert [o.number for o in find_orders(ctx.engine, "_")] == [odd]
    assert plain in [o.number for o in find_orders(ctx.engine, "maria")]


def test_self_exclusion_is_a_keyed_digest(ctx, counter, provision, tmp_path):
    cpf = "123.456.789-09"
    selfexclusion.add_exclusion(ctx.engine, counter, uuid.uuid4(), cpf)
    bare = hashlib.sha256(b"12345678909").digest()
    with ctx.engine.connect() as conn:
        stored = conn.execute(text("select identifier_hash from self_exclusions")).scalars().all()
    assert stored and bare not in [bytes(h) for h in stored]
    k = provision("kiosk", "sec-kiosk-exclusion")
    kctx = terminal_context(k, tmp_path)
    assert selfexclusion.is_excluded(kctx.engine, "12345678909")
    assert not selfexclusion.is_excluded(kctx.engine, "98765432100")
    # The kiosk cannot compute digests offline: neither the key nor the digest function.
    for sql in ("select value from bo_secrets", "select bo_exclusion_digest('12345678909')"):
        with pytest.raises(DBAPIError, match="permission denied"), \
                raw_engine(k).connect() as conn:
            conn.execute(text(sql))
    kctx.engine.dispose()


def test_an_entry_from_before_the_key_still_excludes(ctx):
    """A bare SHA-256 row written before migration 0008 keeps working until re-entered."""
    with ctx.engine.begin() as conn:
        conn.execute(text("insert into self_exclusions (identifier_hash, source)"
                          " values (:h, 'legacy')"), {"h": hashlib.sha256(b"AB1234").digest()})
    assert selfexclusion.is_excluded(ctx.engine, "ab-1234")


@pytest.mark.parametrize("typed", ["4242424242424242", "4242 4242 4242 4242", "pm_", "",
                                   "pm_card visa"])
def test_a_card_is_never_a_typed_number(typed):
    with pytest.raises(BoxOfficeError) as e:
        CardTender(typed)
    assert e.value.code == "invalid_input"
    with pytest.raises(BoxOfficeError):
        CardTender("pm_card_visa", "visa", "42a2")
    assert CardTender("pm_card_visa", "visa", "4242").payment_method == "pm_card_visa"


def _unit(name: str) -> dict[str, str]:
    got: dict[str, str] = {}
    for line in (ROOT / "deploy" / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            got[k.strip()] = v.strip()
    return got


@pytest.mark.parametrize("name", ["boxoffice-kiosk@.service", "boxoffice-worker.service"])
def test_units_restart_for_ever_and_confine_the_app(name):
    u = _unit(name)
    assert u["StartLimitIntervalSec"] == "0" and u["Restart"] == "always"
    assert u["NoNewPrivileges"] == "true" and u["ProtectSystem"] == "strict"
    assert u["PrivateTmp"] == "true" and u["UMask"] == "0077"


@pytest.mark.parametrize("url, warned", [
    ("postgresql://t:pw@db.casino.example:5432/bo", True),
    ("postgresql://t:pw@db.casino.example:5432/bo?sslmode=prefer", True),
    ("postgresql://t:pw@db.casino.example:5432/bo?sslmode=verify-full", False),
    ("postgresql://t:pw@127.0.0.1:5432/bo", False),
    ("postgresql://t:pw@localhost/bo", False),
])
def test_a_remote_database_without_tls_is_warned_about_at_start(ctx, caplog, url, warned):
    from core.db.engine import build_engine

    caplog.set_level(logging.WARNING, logger="core.db.engine")
    build_engine(ctx.settings, url).dispose()  # no connection is made
    said = [r.getMessage() for r in caplog.records if "TLS" in r.getMessage()]
    assert bool(said) == warned, said
    assert all("pw" not in m for m in said)


def test_the_escpos_cache_is_a_private_folder(tmp_path, monkeypatch):
    """python-escpos loads a pickle from its capabilities cache: never from a folder
    another user could write (it used to be a fixed /tmp path)."""
    import os

    from printing.escpos_render import escpos_env, private_dir

    made = private_dir(tmp_path / "cache" / "escpos")
    assert made.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(BoxOfficeError) as e:
        private_dir(shared)
    assert e.value.code == "unsafe_directory"
    monkeypatch.delenv("ESCPOS_CAPABILITIES_PICKLE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    escpos_env()
    folder = os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]
    assert folder.startswith(str(tmp_path / "xdg")) and "/tmp/boxoffice" not in folder


def test_a_terminal_process_creates_its_files_private(tmp_path):
    """Logs (and every file after them: journal, spool, previews) are 0600 in 0700
    folders: prepare_process sets umask 077 (run in a child: umask is process-wide)."""
    import os
    import subprocess
    import sys

    data = tmp_path / "term"
    code = ("import logging; from terminal.bootstrap import load_settings, prepare_process;"
            " s = load_settings(); prepare_process(s); logging.getLogger('t').warning('x');"
            " open(s.terminal.data_dir / 'spool.bin', 'w').close(); print(s.log_file)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=ROOT,
                         env={**{k: v for k, v in os.environ.items()
                                 if not k.startswith("BOXOFFICE_LOGGING")},
                              "BOXOFFICE_TERMINAL__DATA_DIR": str(data)}).stdout.strip()
    log = Path(out)
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.parent.stat().st_mode & 0o777 == 0o700
    assert (data / "spool.bin").stat().st_mode & 0o777 == 0o600
