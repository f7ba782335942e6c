"""The bootstrap assembles a process: a migrated context, logging to the file, sessions
whose context is built on first use; and the terminal layer loads no Textual."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from config import Settings
from core.db import migrate
from core.language import language, set_language
from terminal import bootstrap
from tests.conftest import make_settings
from tests.logins import TerminalLogins, psycopg_url

pytestmark = pytest.mark.db


def test_context_for_builds_a_migrated_context(db_url: str, tmp_path: Path) -> None:
    ctx = bootstrap.context_for(make_settings(db_url, tmp_path))
    try:
        assert migrate.is_current(ctx.engine)
        with ctx.engine.connect() as conn:
            assert conn.exec_driver_sql("select 1").scalar() == 1
    finally:
        ctx.engine.dispose()


def test_sessions_build_their_context_on_first_use(tmp_path: Path,
                                                   terminal_logins: TerminalLogins) -> None:
    # What `boxoffice cashier` does with the URL `boxoffice terminal add` gave it.
    t = terminal_logins.login("boot-counter", "cashier")
    settings = make_settings(psycopg_url(t.url), tmp_path, terminal__name="boot-counter",
                             database__pool_size=4, database__max_overflow=4,
                             terminal__language="pt-BR",
                             logging__file=str(tmp_path / "boot.jsonl"))
    root = logging.getLogger()
    before = list(root.handlers)
    lang = language()
    try:
        svc = bootstrap.counter_session(settings)
        assert not svc.ready  # nothing reached the database yet: the face can draw first
        assert language() == "pt-BR"
        logging.getLogger("terminal.test").warning("booted")
        for h in root.handlers:
            h.flush()
        line = json.loads((tmp_path / "boot.jsonl").read_text().splitlines()[-1])
        assert line["event"] == "booted" and line["logger"] == "terminal.test"
        svc.start()
        assert svc.ready and svc.terminal_id is not None
        monitor = bootstrap.monitor_session(settings, svc.ctx)
        assert monitor.terminal_name == "boot-counter-monitor" and monitor.ready
        svc.ctx.engine.dispose()
    finally:
        set_language(lang)
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()


def test_kiosk_session_starts_its_devices_before_registering(
        tmp_path: Path, terminal_logins: TerminalLogins) -> None:
    t = terminal_logins.login("boot-kiosk", "kiosk")
    settings = make_settings(psycopg_url(t.url), tmp_path, terminal__name="boot-kiosk",
                             database__pool_size=4, database__max_overflow=4,
                             printer__url=f"preview://{tmp_path / 'preview'}",
                             gateway__kind="sandbox",
                             logging__file=str(tmp_path / "kiosk.jsonl"))
    root = logging.getLogger()
    before = list(root.handlers)
    svc, stops = bootstrap.kiosk_session(settings)
    try:
        assert svc.settings.terminal.kind == "kiosk"  # the spooler counts prints as one
        assert svc.spooler is None and not stops
        svc.start()
        assert svc.spooler is not None and stops  # spooler and gateway started first
        assert svc.readiness().printer == "ok"
    finally:
        bootstrap.stop_all(stops)
        if svc.ready:
            svc.ctx.engine.dispose()
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()


@pytest.mark.parametrize("code", [
    "import terminal, terminal.bootstrap, terminal.counter, terminal.kiosk, terminal.monitor",
    "import sys; sys.argv = ['boxoffice', 'worker', '--help']\n"
    "from boxoffice_cli.main import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass",
])
def test_terminal_and_the_worker_load_no_textual(code: str) -> None:
    check = "\nimport sys\nloaded = sorted(m for m in sys.modules if m.startswith('textual'))" \
            "\nassert not loaded, loaded\nprint('clean')"
    out = subprocess.run([sys.executable, "-c", code + check], capture_output=True,
                         text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("clean")


def test_a_kiosk_registers_as_a_kiosk_whatever_the_file_says() -> None:
    counter = Settings()
    assert counter.terminal.kind != "kiosk"
    assert bootstrap.kiosk_settings(counter).terminal.kind == "kiosk"
    assert counter.terminal.kind != "kiosk"  # a copy: the loaded settings are unchanged


def test_a_terminal_refuses_a_schema_it_was_not_written_for(pg_admin_url: str,
                                                            tmp_path: Path) -> None:
    """Terminals never migrate: an empty (behind) database refuses the start with a clear
    code, and so does one stamped with a revision this program does not know (ahead)."""
    import psycopg
    from sqlalchemy import text

    from core.errors import BoxOfficeError
    from tests.conftest import _libpq, _with_db, drop_database

    name = f"bo_t_schema_{tmp_path.name[-8:].lower()}".replace("-", "_")
    with psycopg.connect(_libpq(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        url = _with_db(pg_admin_url, name)
        settings = make_settings(url, tmp_path)
        with pytest.raises(BoxOfficeError) as behind:
            bootstrap.terminal_context(settings, url=url)
        assert behind.value.code == "schema_behind"
        ctx = bootstrap.context_for(settings, url=url)  # what `boxoffice db upgrade` does
        with ctx.engine.begin() as c:
            c.execute(text("update alembic_version set version_num = '9999'"))
        ctx.engine.dispose()
        with pytest.raises(BoxOfficeError) as ahead:
            bootstrap.terminal_context(settings, url=url)
        assert ahead.value.code == "schema_ahead"
    finally:
        drop_database(pg_admin_url, name)
