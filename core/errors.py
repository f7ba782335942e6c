"""One error family with stable codes; UIs map codes to messages, journals store codes.

Every code and its messages live in ``core.error_catalogue``; nothing registers codes at
import, so any module can raise any code whatever was imported before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.error_catalogue import CATALOGUE, Messages
from core.language import normalize

__all__ = ["CATALOGUE", "BoxOfficeError", "message_for"]


def message_for(code: str, lang: str = "en", **details: Any) -> str:
    """The message of ``code`` in ``lang`` ("pt-BR"/"pt", "en", "es"), placeholders filled.

    A code the catalogue does not know (one read back from an older journal) still gets a
    sentence naming it, never a KeyError on a screen.
    """
    entry: Messages | None = CATALOGUE.get(code)
    if entry is None:
        entry, details = CATALOGUE["unrecognized_code"], {"code": code}
    template = entry[normalize(lang)]  # type: ignore[literal-required]
    try:
        return template.format(**details)
    except (KeyError, IndexError, ValueError):
        # A placeholder the raiser did not fill: the bare sentence beats a crash in the UI.
        return template


class BoxOfficeError(Exception):
    """A domain failure with a stable ``code``; ``details`` fill the message placeholders."""

    def __init__(self, code: str, **details: Any) -> None:
        if code not in CATALOGUE:
            raise ValueError(f"unknown error code {code!r}: declare it in core/error_catalogue.py")
        self.code = code
        self.details = details
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        """The message in ``lang``: "pt-BR" (or "pt"), "en" or "es"."""
        return message_for(self.code, lang, **self.details)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "details": {k: _plain(v) for k, v in self.details.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BoxOfficeError:
        """Rebuilds an error stored by ``to_dict`` (a sync journal, a conflict record).

        The code is kept as stored even when this version no longer declares it, so a
        replayed or reported error keeps its identity; its message then names the code.
        """
        code = str(data.get("code") or "invalid_input")
        details = dict(data.get("details") or {})
        if code in CATALOGUE:
            return cls(code, **details)
        exc = cls.__new__(cls)
        exc.code, exc.details = code, details
        Exception.__init__(exc, exc.message("en"))
        return exc


def _plain(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return str(v)
