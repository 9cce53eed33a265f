"""English pages carry no Chinese punctuation: the templates put none outside their translated
strings (colon(), list_sep(), semicolon() and paren() give each language its own), and the
helpers give each language its marks."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from sunvote.web.templating import colon, list_sep, paren, semicolon

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FULL_WIDTH = re.compile(r"[，。：；（）、！？「」]")
# What a translator translates, and comments: everything else is printed as it stands.
TRANSLATED = re.compile(r"\{#.*?#\}|_\(\s*\"(?:[^\"\\]|\\.)*\"|_\(\s*'(?:[^'\\]|\\.)*'", re.S)


def untranslated_punctuation() -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        text = TRANSLATED.sub("_(\"\"", path.read_text(encoding="utf-8"))
        for number, line in enumerate(text.splitlines(), 1):
            if FULL_WIDTH.search(line):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    return found


def test_no_template_prints_chinese_punctuation_outside_its_translated_strings() -> None:
    assert untranslated_punctuation() == []


def test_each_language_gets_its_own_marks(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        assert (colon(), semicolon(), list_sep(), str(paren("<b>"))) == (
            ": ", "; ", ", ", " (&lt;b&gt;)")
    with app.test_request_context("/?lang=zh"):
        assert (colon(), semicolon(), list_sep(), str(paren("x"))) == ("：", "；", "、", "（x）")
