"""The English catalogue is complete and compiled, and placeholders survive translation."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "sunvote/translations/en/LC_MESSAGES/messages.po"
MO = ROOT / "sunvote/translations/en/LC_MESSAGES/messages.mo"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
KEYWORDS = {"_": None, "gettext": None, "N_": None, "_l": None, "lazy_gettext": None}


def source_messages() -> set[str]:
    """Every message id in the code and templates, extracted as `pybabel extract` would."""
    found: set[str] = set()
    method_map = [("sunvote/**.py", "python"), ("templates/**.html", "jinja2")]
    # Babel skips folders starting with "_" by default; templates/_macros holds visible strings.
    for _, _, message, _, _ in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith(".")):
        if isinstance(message, str) and message:
            found.add(message)
    return found


def test_every_message_in_the_source_has_an_english_translation() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(m for m in source_messages() if not translated.get(m))
    assert not missing, f"untranslated (run the steps in docs/i18n.md): {missing[:20]}"


def test_translations_keep_their_placeholders() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(str(message.id))) == set(
                PLACEHOLDER.findall(str(message.string))), message.id


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with PO.open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id and m.string and not m.fuzzy}
    mo = {m.id: m.string for m in read_mo(BytesIO(MO.read_bytes())) if m.id}
    assert mo == po, "run: pybabel compile -d sunvote/translations (docs/i18n.md)"
