"""Issue 13 item 16: a retried gateway call never writes to stderr or stdout by itself.

A TUI owns the terminal and a CLI's stdout carries JSON: stamina's retry instrumentation
must reach logging (a file, when the process configured one) and print nothing when the
process configured no logging at all. Run in a child process, so this test sees exactly
what a fresh ``boxoffice`` process would print."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, sys
    {prelude}
    from core.payments import CircuitBreaker, GatewayFailure, StripeGateway
    from core.payments.sandbox import SandboxServer

    with SandboxServer(seed=1) as sb:
        sb.set_faults(error_rate=1.0)
        g = StripeGateway(sb.base_url, "sk_test_quiet", retry_attempts=3,
                          retry_wait_initial_s=0.001, retry_wait_max_s=0.002,
                          breaker=CircuitBreaker("quiet"))
        try:
            g.lookup("pi_nothing")
            outcome = "answered"
        except GatewayFailure as exc:
            outcome = exc.code
        g.close()
        stats = sb.ledger()["stats"]
    sys.stdout.write("RESULT " + json.dumps([outcome, stats["errors_injected"]]))
    """
)


@pytest.mark.parametrize("prelude", [
    "",  # nothing configured at all
    "import structlog",  # structlog importable and unconfigured: its hook prints
], ids=["plain", "structlog-imported"])
def test_retried_call_prints_nothing_when_logging_is_not_configured(prelude):
    proc = subprocess.run([sys.executable, "-c", CHILD.format(prelude=prelude)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # The call really was retried (three attempts reached the failing server).
    assert proc.stdout.startswith("RESULT "), proc.stdout
    assert proc.stdout == 'RESULT ["gateway_unavailable", 3]'
    assert proc.stderr == ""


def test_retries_still_reach_a_configured_log(tmp_path):
    log = tmp_path / "retries.jsonl"
    prelude = f"import logging; logging.basicConfig(filename={str(log)!r}, level=logging.INFO)"
    proc = subprocess.run([sys.executable, "-c", CHILD.format(prelude=prelude)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = log.read_text()
    # Two retries after the first failure, from our logger (no call arguments).
    assert text.count("core.payments.retry") == 2


@pytest.mark.parametrize("package", ["core", "sync", "printing", "terminal"])
def test_library_loggers_print_nothing_when_logging_is_not_configured(package):
    code = (f"import logging, {package}\n"
            f"logging.getLogger('{package}.anything').warning('would draw over the screen')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""
