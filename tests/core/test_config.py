"""Settings: TOML file, env overrides, masked display, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update({"HOME": str(tmp), "BOXOFFICE_CONFIG": str(tmp / "c.toml")}, **extra)
    return env


def test_file_then_env_override(tmp_path, monkeypatch):
    (tmp_path / "c.toml").write_text('[holds]\ncounter_ttl_s = 120\n[terminal]\nname = "k1"\n')
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "c.toml"))
    monkeypatch.setenv("BOXOFFICE_HOLDS__KIOSK_TTL_S", "90")
    s = load_settings()
    assert s.holds.counter_ttl_s == 120 and s.holds.kiosk_ttl_s == 90
    assert s.terminal.name == "k1"
    monkeypatch.setenv("BOXOFFICE_HOLDS__COUNTER_TTL_S", "300")
    assert load_settings().holds.counter_ttl_s == 300


def test_bad_values_name_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "c.toml"))
    (tmp_path / "c.toml").write_text('[holds]\ncounter_ttl_s = "soon"\n[nope]\nx = 1\n')
    with pytest.raises(ConfigError) as exc:
        load_settings()
    msg = str(exc.value)
    assert "holds.counter_ttl_s" in msg and "nope" in msg
    (tmp_path / "c.toml").write_text("[holds\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_config_show_masks_secrets_and_bad_file_is_not_a_traceback(tmp_path):
    (tmp_path / "c.toml").write_text(
        '[database]\nurl = "postgresql://u:hunter2@db/x"\n[gateway]\nsecret_key = "sk_live_x"\n')
    out = subprocess.run([sys.executable, "-m", "boxoffice_cli.main", "config", "show"],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "hunter2" not in out.stdout and "sk_live_x" not in out.stdout
    data = json.loads(out.stdout)
    assert data["database"]["url"] == "**********"
    (tmp_path / "c.toml").write_text("[sales]\nmax_seats_per_order = 0\n")
    out = subprocess.run([sys.executable, "-m", "boxoffice_cli.main", "config", "show"],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "sales.max_seats_per_order" in out.stderr and "Traceback" not in out.stderr
