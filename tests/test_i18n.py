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


#: Chinese (full-width) punctuation, which an English sentence must not carry.
FULL_WIDTH = re.compile(r"[\u3000-\u303f\uff00-\uffef]")


def full_width_in(catalog_bytes: bytes) -> list[tuple[str, str]]:
    """The (message id, translation) pairs of a .po file whose translation holds full-width
    punctuation (，。：；（）「」、！？ and the rest of the CJK and full-width forms)."""
    found = []
    for message in read_po(BytesIO(catalog_bytes)):
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        found += [(str(message.id), s) for s in strings
                  if message.id and s and FULL_WIDTH.search(s)]
    return found


def test_the_scan_finds_full_width_punctuation_in_a_translation() -> None:
    po = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
          'msgid "规则"\nmsgstr "Rules"\n\nmsgid "未办理："\nmsgstr "Not done："\n\n'
          'msgid "（说明）"\nmsgstr "（note)"\n').encode()
    assert [s for _id, s in full_width_in(po)] == ["Not done：", "（note)"]


def test_english_translations_use_ascii_punctuation() -> None:
    """docs/i18n.md: English uses , . : ; ( ) " ! ? — never the Chinese full-width forms."""
    bad = full_width_in(PO.read_bytes())
    assert not bad, f"full-width punctuation in English: {bad[:10]}"
