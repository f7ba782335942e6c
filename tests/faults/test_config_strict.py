"""Issue 13 item 9: a mistyped setting is an error that says what was meant, NaN and
infinities are no durations, and a bad database URL is never echoed with its password."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import pytest

from config import ConfigError, load_settings


@pytest.fixture
def conf(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(path))
    for k in [k for k in __import__("os").environ if k.startswith("BOXOFFICE_")
              and k != "BOXOFFICE_CONFIG"]:
        monkeypatch.delenv(k)
    return path


@pytest.mark.parametrize("toml, key, hint", [
    ("[kiosk]\nidle_sec = 30\n", "kiosk.idle_sec", "idle_s"),
    ("[kiosk]\nself_exlusion = true\n", "kiosk.self_exlusion", "self_exclusion"),
    ("[gateway.breaker]\nwindow = 5\n", "gateway.breaker.window", "window_size"),
    ("[holds]\ncounter_ttl = 60\n", "holds.counter_ttl", "counter_ttl_s"),
    ("[kioks]\nidle_s = 30\n", "kioks", "kiosk"),
    ('[[sync.auto_leases]]\nevent = "A"\nsection = "B"\nqty = 2\nquantity = 2\n',
     "sync.auto_leases.0.qty", None),
])
def test_unknown_keys_in_a_section_are_refused_with_a_hint(conf, toml, key, hint):
    conf.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    msg = str(exc.value)
    assert key in msg and "unknown setting" in msg
    if hint:
        assert f"did you mean {hint!r}" in msg


def test_unknown_keys_from_the_environment_too(conf, monkeypatch):
    monkeypatch.setenv("BOXOFFICE_KIOSK__IDLE_SEC", "30")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "kiosk.idle_sec" in str(exc.value) and "idle_s" in str(exc.value)


@pytest.mark.parametrize("toml", [
    "[kiosk]\nidle_s = nan\n", "[kiosk]\nprompt_s = inf\n", "[sync]\nkeep_applied_days = inf\n",
    "[gateway.breaker]\nslow_call_duration_s = inf\n",
    "[terminal]\nheartbeat_s = -nan\n",
])
def test_nan_and_infinities_are_refused(conf, toml):
    conf.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "finite" in str(exc.value)


def test_nan_from_the_environment_is_refused(conf, monkeypatch):
    monkeypatch.setenv("BOXOFFICE_KIOSK__IDLE_S", "NaN")
    with pytest.raises(ConfigError):
        load_settings()


@pytest.mark.parametrize("toml", [
    '[database]\nurl = "postgresql://bo:hunter2@db:notaport/x"\npool_size = 0\n',
    '[database]\nurl = 5\n',
    '[redis]\nurl = ["redis://:hunter2@cache:6379/0"]\n',
    '[database]\nurl = "postgresql://bo:hunter2@db/x"\nurll = "postgresql://bo:hunter2@db/x"\n',
])
def test_a_bad_database_url_is_never_echoed_with_its_password(conf, toml):
    conf.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "hunter2" not in str(exc.value)


ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def _toml_blocks() -> list[tuple[str, str]]:
    """The config examples of the docs: toml blocks with a settings section in them (a
    room spec in docs/backoffice.md is toml too, but no config file)."""
    from config import Settings

    found = []
    for doc in DOCS:
        for n, m in enumerate(re.finditer(r"```toml\n(.*?)```", doc.read_text(), re.S)):
            block = textwrap.dedent(m.group(1))
            if set(tomllib.loads(block)) & set(Settings.model_fields):
                found.append((f"{doc.name}#{n}", block))
    return found


@pytest.mark.parametrize("name, toml", _toml_blocks(), ids=[n for n, _ in _toml_blocks()])
def test_the_documented_configs_still_load(conf, name, toml):
    conf.write_text(toml)
    load_settings()


def test_the_defaults_round_trip_with_unknown_keys_forbidden(conf):
    from config import Settings

    dumped = Settings().model_dump(mode="json")
    dumped["database"].pop("url")
    assert Settings(**dumped) == Settings()
