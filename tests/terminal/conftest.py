"""The terminal layer's tests build their terminal with the shared fixtures
(tests/terminal_fixtures.py): a preview printer in the module's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Path) -> dict[str, Any]:
    return {"terminal__name": "term-counter",
            "printer__url": f"preview://{module_tmp / 'preview'}",
            "logging__file": str(module_tmp / "terminal.jsonl")}
