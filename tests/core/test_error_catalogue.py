"""The one error catalogue: every code raised anywhere is declared, in three languages.

No database: these read the source tree and the catalogue.
"""

from __future__ import annotations

import ast
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest

from config.settings import TerminalSettings
from core import language as lang_state
from core.error_catalogue import CATALOGUE
from core.errors import BoxOfficeError, message_for

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "core", "printing", "sync", "terminal", "boxoffice_tui", "kiosk",
            "boxoffice_cli")
# Functions whose first argument (or ``code=``) is an error code.
CODE_TAKERS = {"BoxOfficeError", "message_for"}


def _python_files(root: Path, packages: tuple[str, ...]) -> Iterator[Path]:
    for pkg in packages:
        yield from sorted((root / pkg).rglob("*.py"))


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """BoxOfficeError and every class deriving from it (by name, to any depth)."""
    names = {"BoxOfficeError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        (b.id if isinstance(b, ast.Name) else
                         b.attr if isinstance(b, ast.Attribute) else None) in names
                        for b in node.bases):
                    names.add(node.name)
                    grew = True
    return names


def _literal_codes(arg: ast.expr) -> Iterator[str]:
    """String constants an argument can evaluate to: "x", or a if c else "b"."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        yield arg.value
    elif isinstance(arg, ast.IfExp):
        yield from _literal_codes(arg.body)
        yield from _literal_codes(arg.orelse)


def codes_in_source(root: Path, packages: tuple[str, ...]) -> list[tuple[str, str]]:
    """(code, "path:line") for every literal code given to an error class or message_for."""
    parsed = [(path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
              for path in _python_files(root, packages)]
    takers = _error_classes([tree for _, tree in parsed]) | CODE_TAKERS
    found: list[tuple[str, str]] = []
    for path, tree in parsed:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            if name not in takers:
                continue
            args = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "code"]
            where = f"{path.relative_to(root)}:{node.lineno}"
            found += [(code, where) for arg in args for code in _literal_codes(arg)]
    return found


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_every_code_raised_in_the_source_is_in_the_catalogue() -> None:
    found = codes_in_source(ROOT, PACKAGES)
    assert len(found) > 100  # the walk really reached the packages
    missing = sorted(f"{code} ({where})" for code, where in found if code not in CATALOGUE)
    assert not missing, "codes missing from core/error_catalogue.py: " + ", ".join(missing)


def test_the_source_walk_catches_an_undeclared_code(tmp_path: Path) -> None:
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "errs.py").write_text(
        "from core.errors import BoxOfficeError\n"
        "class Special(BoxOfficeError):\n    pass\n"
        "class MoreSpecial(Special):\n    pass\n"
        "def f(x):\n"
        "    raise BoxOfficeError('sold_out', wanted=2)\n"
        "def g(x):\n"
        "    raise MoreSpecial('bogus_code_one')\n"
        "def h(x):\n"
        "    raise BoxOfficeError('sold_out' if x else 'bogus_code_two')\n")
    found = codes_in_source(tmp_path, ("fakepkg",))
    assert sorted(c for c, _ in found if c not in CATALOGUE) == ["bogus_code_one",
                                                                 "bogus_code_two"]
    assert ("sold_out", "fakepkg/errs.py:7") in found


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_entry_has_three_languages_with_the_same_placeholders(code: str) -> None:
    entry = CATALOGUE[code]
    assert set(entry) == set(lang_state.LANGUAGES)
    texts = {lang: entry[lang] for lang in lang_state.LANGUAGES}  # type: ignore[literal-required]
    assert all(isinstance(t, str) and t.strip() for t in texts.values()), texts
    expected = _placeholders(texts["en"])
    for lang, text in texts.items():
        assert _placeholders(text) == expected, f"{code} [{lang}]: {text!r}"
    # BoxOfficeError(code, code=...) cannot be called: ``code`` is its first parameter.
    assert code == "unrecognized_code" or "code" not in expected, code


def test_messages_fill_placeholders_in_each_language() -> None:
    err = BoxOfficeError("sold_out", wanted=3)
    assert err.message("en") == "Not enough places left (3 wanted)."
    assert err.message("pt-BR") == "Não há lugares suficientes (3 pedidos)."
    assert err.message("pt") == err.message("pt-BR")
    assert err.message("es") == "No quedan lugares suficientes (se pidieron 3)."
    assert str(err) == err.message("en")
    # A missing detail leaves the bare sentence rather than failing on a screen.
    assert BoxOfficeError("sold_out").message("es") == "No quedan lugares suficientes " \
        "(se pidieron {wanted})."
    assert message_for("hold_expired", "es-AR") == CATALOGUE["hold_expired"]["es"]


def test_an_undeclared_code_is_refused() -> None:
    with pytest.raises(ValueError, match="bogus_code"):
        BoxOfficeError("bogus_code")


def test_any_code_can_be_raised_whatever_was_imported_first() -> None:
    # The bug this catalogue ends: a code declared in a module nobody had imported yet.
    code = ("from core.errors import BoxOfficeError\n"
            "import sys\n"
            "for c in ('offline_not_in_lease', 'no_open_shift', 'card_declined',"
            " 'printer_offline', 'scan_revoked', 'kiosk_not_ready', 'no_shift'):\n"
            "    BoxOfficeError(c)\n"
            "assert 'core.leases' not in sys.modules and 'printing' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_stored_errors_round_trip_and_unknown_codes_keep_their_identity() -> None:
    for code in CATALOGUE:
        stored = BoxOfficeError(code, detail="d", seat_ids=[1, 2]).to_dict()
        back = BoxOfficeError.from_dict(stored)
        assert (back.code, back.details) == (code, {"detail": "d", "seat_ids": [1, 2]})
    # A journal written by an older version may hold a code this one no longer declares.
    old = BoxOfficeError.from_dict({"code": "retired_code", "details": {"x": 1}})
    assert old.code == "retired_code" and old.to_dict()["details"] == {"x": 1}
    assert "retired_code" in old.message("pt-BR") and "retired_code" in old.message("es")
    assert BoxOfficeError.from_dict({}).code == "invalid_input"


def test_journal_keeps_codes_that_map_back_to_messages(tmp_path: Path) -> None:
    from sync.journal import Journal

    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        journal.append("confirm_leased_sale", {"seat_ids": [7]})
        (pending,) = journal.pending()
        flag = BoxOfficeError("leased_seat_gone", seat_ids=[7]).to_dict()
        journal.mark_flagged(pending.seq, flag)
        (entry,) = journal.unreported_flags()
        exc = BoxOfficeError.from_dict(entry.last_error or {})
        assert exc.code == "leased_seat_gone"
        assert exc.message("pt-BR") == "Assento(s) [7] não estão mais cedidos a este terminal."
        assert exc.message("es") == "Los asientos [7] ya no están cedidos a este terminal."
    finally:
        journal.close()


def test_codes_built_from_tables_are_declared() -> None:
    # Codes the source walk cannot see: they reach BoxOfficeError through a variable.
    from core.actors import DB_REFUSALS
    from core.payments.gateway import DECLINE_CODES, TRANSIENT_CODES
    from core.payments.stripe_http import _DECLINE_MAP
    from core.tickets.checkin import REASONS
    from sync.replay import PERMANENT

    assert {f"scan_{r}" for r in REASONS} <= set(CATALOGUE)
    tables = {"DECLINE_CODES": DECLINE_CODES, "TRANSIENT_CODES": TRANSIENT_CODES,
              "stripe _DECLINE_MAP": _DECLINE_MAP.values(), "DB_REFUSALS": DB_REFUSALS,
              "sync PERMANENT": PERMANENT}
    for name, codes in tables.items():
        assert set(codes) <= set(CATALOGUE), (name, set(codes) - set(CATALOGUE))


def test_language_state_is_one_and_matches_the_setting() -> None:
    assert set(lang_state.LANGUAGES) == set(
        get_args(TerminalSettings.model_fields["language"].annotation))
    assert TerminalSettings().language == lang_state.DEFAULT_LANGUAGE
    before = lang_state.language()
    try:
        for given, want in [("pt", "pt-BR"), ("PT_br", "pt-BR"), ("es-MX", "es"),
                            ("en-US", "en"), ("fr", "en")]:
            lang_state.set_language(given)
            assert lang_state.language() == want
    finally:
        lang_state.set_language(before)


def test_the_faces_and_printing_read_the_one_language_state() -> None:
    from boxoffice_tui import i18n as cashier
    from kiosk import i18n as kiosk
    from printing.i18n import label

    before = lang_state.language()
    try:
        assert kiosk.set_language("es") == "es" == lang_state.language() == cashier.language()
        assert kiosk.t("finish") == "✔ Terminar" and label("cash") == "Efectivo"
        assert cashier.t("cash") == "Cash"  # the cashier's labels have no Spanish
        assert kiosk.error_message(BoxOfficeError("card_declined")) == \
            "La tarjeta fue rechazada."
        # The cashier speaks pt-BR or English: Spanish there means English, errors included.
        cashier.set_language("es")
        assert lang_state.language() == "en" == kiosk.language()
        cashier.set_language("pt")
        assert kiosk.t("finish") == "✔ Concluir" and label("cash") == "Dinheiro"
        assert kiosk.error_message(BoxOfficeError("card_declined")) == "O cartão foi recusado."
    finally:
        lang_state.set_language(before)
