"""python-escpos's capabilities pickle: many terminals starting at once on an empty cache
all render, and a pickle torn by a writer killed mid-dump is rebuilt, not fatal."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

RENDER = (
    "from printing.escpos_render import render_escpos\n"
    "from printing.document import Document, Text\n"
    "data = render_escpos(Document('test', 48, (Text('BOX OFFICE'),)))\n"
    "assert b'BOX OFFICE' in data, data\n"
    "print('rendered')\n"
)


def _cache(tmp_path: Path) -> Path:
    folder = tmp_path / "escpos"
    folder.mkdir(mode=0o700)
    return folder


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "ESCPOS_CAPABILITIES_PICKLE_DIR": str(folder)}


def test_terminals_starting_together_all_render(tmp_path: Path) -> None:
    folder = _cache(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", RENDER], env=_env(folder),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(12)]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    failed = [err for out, err, rc in results if rc != 0 or "rendered" not in out]
    assert not failed, failed[0]
    assert list(folder.glob("*.capabilities.pickle"))


def test_a_torn_pickle_is_rebuilt(tmp_path: Path) -> None:
    folder = _cache(tmp_path)
    torn = folder / f"{platform.python_version()}.capabilities.pickle"
    torn.write_bytes(b"\x80\x04\x95")  # a dump cut after three bytes
    # Newer than escpos's YAML, so escpos trusts it and loads it.
    os.utime(torn, (4102444800, 4102444800))
    run = subprocess.run([sys.executable, "-c", RENDER], env=_env(folder),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "rendered" in run.stdout, run.stderr
    assert torn.stat().st_size > 1000
