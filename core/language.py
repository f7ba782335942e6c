"""The one language the whole process speaks: UI labels, error messages, printed tickets.

A module-level value, not a thread-local or a context variable, on purpose: one process
is one terminal (one counter, one kiosk, one monitor) serving one customer at a time, so
every thread of it (the Textual loop, its workers, the spooler) must answer in the same
language. ``set_language`` is a single reference assignment, atomic under the GIL; a
reader racing a switch sees either the old or the new language, never a mix.
"""

from __future__ import annotations

from typing import Final

from config.settings import TerminalSettings

# Brazilian Portuguese first: the casino's staff and most customers speak it.
LANGUAGES: Final[tuple[str, ...]] = ("pt-BR", "en", "es")
LANGUAGE_NAMES: Final[dict[str, str]] = {"pt-BR": "Português", "en": "English",
                                         "es": "Español"}

# Same default as the setting, read from its declaration so the two cannot drift apart;
# the bootstrap calls set_language(settings.terminal.language) once settings are loaded.
DEFAULT_LANGUAGE: Final[str] = str(TerminalSettings.model_fields["language"].default)

_current: str = DEFAULT_LANGUAGE


def normalize(lang: str) -> str:
    """Maps "pt", "pt-BR", "pt_br", "es-AR", "en-US"... to a supported language.

    Anything that is neither Portuguese nor Spanish reads as English, as the terminals
    always did, so a stray locale string never breaks a screen.
    """
    low = lang.strip().lower()
    if low.startswith("pt"):
        return "pt-BR"
    if low.startswith("es"):
        return "es"
    return "en"


def language() -> str:
    """The language the process speaks now: "pt-BR", "en" or "es"."""
    return _current


def set_language(lang: str) -> None:
    """Switches the whole process (every face, core messages, printing) to ``lang``."""
    global _current
    _current = normalize(lang)
