"""Issue 13 item 11: each kind of terminal has its own default name (a kiosk started as
the README says is not ``counter-1``, the cashier's), and a second live process with a
terminal's name is refused with a clear message while the first one runs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from core.errors import BoxOfficeError
from tests.conftest import make_settings
from tests.logins import psycopg_url

ROOT = Path(__file__).resolve().parents[2]


def test_each_kind_has_its_own_default_name():
    assert Settings().terminal.name == "counter-1"
    assert Settings(terminal={"kind": "kiosk"}).terminal.name == "kiosk-1"  # type: ignore[arg-type]
    assert Settings(terminal={"kind": "monitor"}).terminal.name == "monitor-1"  # type: ignore[arg-type]
    # The kiosk command and bootstrap turn cashier settings into a kiosk's.
    from terminal.bootstrap import kiosk_settings

    assert kiosk_settings(Settings()).terminal.name == "kiosk-1"
    named = Settings(terminal={"name": "lobby-2"})  # type: ignore[arg-type]
    assert kiosk_settings(named).terminal.name == "lobby-2"


def test_the_kiosk_command_does_not_take_the_cashiers_name(monkeypatch, tmp_path):
    import argparse

    from boxoffice_cli.kiosk_cmds import _kiosk_settings

    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "none.toml"))
    for k in [k for k in os.environ if k.startswith("BOXOFFICE_TERMINAL__")]:
        monkeypatch.delenv(k)
    s = _kiosk_settings(argparse.Namespace(name=None))
    assert (s.terminal.kind, s.terminal.name) == ("kiosk", "kiosk-1")
    assert _kiosk_settings(argparse.Namespace(name="k9")).terminal.name == "k9"


@pytest.fixture
def settings(tmp_path: Path, terminal_logins) -> Iterator[Settings]:
    """twin-7's settings, on its own cashier login (both copies of it use that login)."""
    root = logging.getLogger()
    before = list(root.handlers)
    url = psycopg_url(terminal_logins.login("twin-7", "cashier").url)
    yield make_settings(url, tmp_path, terminal__name="twin-7")
    for h in root.handlers[:]:
        if h not in before:
            root.removeHandler(h)
            h.close()


def test_a_second_session_with_the_name_is_refused_until_the_first_goes(settings,
                                                                        terminal_logins):
    from terminal.bootstrap import counter_session

    own = terminal_logins.context("twin-7", "cashier", settings)
    first = counter_session(settings, own)
    first.start()
    second = counter_session(settings, own)
    with pytest.raises(BoxOfficeError) as err:
        second.start()
    assert err.value.code == "terminal_name_in_use" and "twin-7" in err.value.message("en")
    assert second.terminal_id is None  # refused before touching the terminal's row
    first.release_name()
    second.start()
    assert second.terminal_id == first.terminal_id
    second.release_name()


def test_a_second_process_with_the_name_is_refused(settings, tmp_path, terminal_logins):
    from terminal.bootstrap import counter_session

    first = counter_session(settings, terminal_logins.context("twin-7", "cashier", settings))
    first.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_CONFIG=str(tmp_path / "none.toml"),
               BOXOFFICE_DATABASE__URL=settings.database.url.get_secret_value()
               if hasattr(settings.database.url, "get_secret_value")
               else str(settings.database.url),
               BOXOFFICE_TERMINAL__DATA_DIR=str(tmp_path / "p2"),
               BOXOFFICE_TERMINAL__NAME="twin-7")
    code = ("from terminal.bootstrap import counter_session, load_settings\n"
            "from core.errors import BoxOfficeError\n"
            "s = counter_session(load_settings())\n"
            "try:\n    s.start()\nexcept BoxOfficeError as e:\n"
            "    print(e.code); raise SystemExit(3)\nprint('started')\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout.strip()) == (3, "terminal_name_in_use"), done
    finally:
        first.release_name()
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "started", done
