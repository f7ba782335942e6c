"""What a process below the faces really loads: no Textual (and, for core, no printer
library), lazy imports included. import-linter checks the import statements
(`lint-imports`, where core is also kept free of Rich); this checks sys.modules in a fresh
child process, where a deferred import inside a function, or a library that pulls Textual
in, would show up too. Rich is not checked here: httpx loads it for its own command line
whenever it is installed, which the faces make sure of."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Imports every module of a package (not the Alembic migrations: env.py runs migrations
# when imported), then reports the loaded modules of the forbidden top-level packages.
_WALK = """
import importlib, pkgutil

def walk(name):
    mod = importlib.import_module(name)
    for info in pkgutil.iter_modules(getattr(mod, "__path__", [])):
        child = f"{name}.{info.name}"
        if child.endswith(".migrations"):
            continue
        walk(child) if info.ispkg else importlib.import_module(child)

walk(PACKAGE)
"""

_WORKER_HELP = """
from boxoffice_cli.main import main

sys.argv = ["boxoffice", "worker", "--help"]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""

_REPORT = """
print("LOADED=" + json.dumps(sorted(m for m in sys.modules
                                    if m.split(".")[0] in FORBIDDEN)))
"""


def _run(body: str, package: str, forbidden: tuple[str, ...]) -> tuple[list[str], str]:
    code = (f"import json, sys\nPACKAGE = {package!r}\nFORBIDDEN = {set(forbidden)!r}\n"
            + body + _REPORT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED=")]
    assert lines, proc.stdout[-2000:]
    return json.loads(lines[-1].removeprefix("LOADED=")), proc.stdout


@pytest.mark.parametrize(("package", "forbidden"), [
    ("config", ("textual",)),
    ("core", ("textual", "escpos")),
    ("printing", ("textual",)),
    ("sync", ("textual",)),
    ("terminal", ("textual",)),
])
def test_importing_every_module_of_a_lower_layer_loads_no_textual(package, forbidden):
    loaded, _ = _run(_WALK, package, forbidden)
    assert loaded == []


def test_boxoffice_worker_help_loads_no_textual():
    loaded, out = _run(_WORKER_HELP, "boxoffice_cli", ("textual",))
    assert "--once" in out  # the worker's own help was printed, not the top-level one
    assert loaded == []


def test_the_probe_sees_textual_when_a_face_loads_it():
    """The check above can fail: the shared widgets are Textual, and the probe says so."""
    loaded, _ = _run(_WALK, "boxoffice_tui.widgets", ("textual",))
    assert "textual" in loaded
