"""Issue 13 item 20: ``boxoffice pricing`` answers bad input clearly and says what it did.

Malformed --params fails before the PIN is asked; an unknown --section is an error, not
"rule added" for every section; a rule clamped by the floor or ceiling says so in the
output and in the price history; an invalid rule names the broken bound; ``pricing show``
prints floor, ceiling and rules and fails for an unknown event; the repricing interval
is a setting. The command runs on the pricing desk's own login (the back office's admin
kind) and the repricing job on a worker login."""

from __future__ import annotations

import getpass
import io

import pytest
from sqlalchemy import text

from boxoffice_cli.main import main
from config import Settings
from core.pricing import PricingJob
from tests.core.helpers import event_id
from tests.logins import psycopg_url


@pytest.fixture
def cli(ctx, tmp_path, monkeypatch, capsys, terminal_logins):
    desk = terminal_logins.login("pricing-desk", "admin")
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("BOXOFFICE_DATABASE__URL", psycopg_url(desk.url))
    monkeypatch.setenv("BOXOFFICE_TERMINAL__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOXOFFICE_TERMINAL__NAME", "pricing-desk")
    monkeypatch.setenv("BOXOFFICE_TERMINAL__KIND", "monitor")
    asked: list[str] = []

    def pin(prompt: str = "") -> str:  # the terminal's PIN prompt, answered by carla
        asked.append(prompt)
        return "9999"

    monkeypatch.setattr(getpass, "getpass", pin)

    def run(*argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and "AssertionError" not in out + err
        return code, out, err

    run.asked = asked  # type: ignore[attr-defined]
    return run


def _rules(ctx, event: int) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select count(*) from pricing_rules where event_id = :e"),
                         {"e": event}).scalar_one()


def test_malformed_params_fail_before_the_pin(cli, ctx):
    before = _rules(ctx, event_id(ctx.engine, "MAGICA"))
    for params in ('{"steps": [[50, 10]', "[1, 2]", '"steps"'):
        code, _, err = cli("pricing", "add-rule", "--event", "MAGICA", "--kind", "occupancy",
                             "--params", params, "--login", "carla")
        assert code != 0 and "--params" in err, (params, err)
    assert cli.asked == []
    assert _rules(ctx, event_id(ctx.engine, "MAGICA")) == before


def test_unknown_section_is_an_error_not_a_rule_for_every_section(cli, ctx):
    ev = event_id(ctx.engine, "MAGICA")
    before = _rules(ctx, ev)
    code, out, err = cli("pricing", "add-rule", "--event", "MAGICA", "--section", "NOPE",
                         "--kind", "occupancy", "--params", '{"steps": [[50, 10]]}',
                         "--login", "carla")
    assert code != 0 and "NOPE" in err and "rule" not in out
    assert cli.asked == []
    assert _rules(ctx, ev) == before


@pytest.mark.parametrize("params, bound", [
    ('{"steps": [[150, 10]]}', "threshold"),
    ('{"steps": [[50, -100]]}', "percent"),
    ('{"steps": [[50, 900]]}', "percent"),
    ('{"steps": []}', "steps"),
    ('{"steps": [[50, NaN]]}', "percent"),
    ('{"stepz": [[50, 10]]}', "steps"),
])
def test_invalid_rules_name_the_broken_bound(cli, params, bound):
    code, _, err = cli("pricing", "add-rule", "--event", "MAGICA", "--kind", "occupancy",
                       "--params", params, "--login", "carla")
    assert code != 0 and "invalid_rule" in err and bound in err, err
    assert cli.asked == []


def test_a_clamped_rule_says_so_in_the_output_and_the_history(cli, ctx):
    ev = event_id(ctx.engine, "MAGICA")
    code, out, err = cli("pricing", "add-rule", "--event", "MAGICA", "--section", "ORQ",
                         "--kind", "occupancy", "--params", '{"steps": [[0, 400]]}',
                         "--login", "carla")
    assert code == 0, err
    assert "rule" in out and "clamped" in out and "ceiling" in out
    with ctx.engine.connect() as c:
        reason = c.execute(text(
            "select pc.reason from price_changes pc join price_tiers pt on pt.id = pc.tier_id"
            " join sections s on s.id = pt.section_id where pt.event_id = :e and s.code = 'ORQ'"
            " order by pc.id desc limit 1"), {"e": ev}).scalar_one()
    assert "clamped" in reason and "ceiling" in reason


def test_show_prints_bounds_and_rules_and_fails_for_an_unknown_event(cli):
    code, out, err = cli("pricing", "show", "--event", "SINATRA")
    assert code == 0, err
    assert "floor" in out and "ceiling" in out and "occupancy" in out
    code, out, err = cli("pricing", "show", "--event", "NOPE")
    assert code != 0 and "NOPE" in err


def test_the_repricing_interval_is_a_setting(ctx, terminal_logins):
    assert Settings().pricing.interval_s == 30
    settings = Settings(**{**ctx.settings.model_dump(), "pricing": {"interval_s": 5}})
    job = PricingJob()
    job(terminal_logins.new_context("pricing-worker", "worker", settings, pool_size=1))
    assert job.interval_s == 5
