"""Tests for RFC 8785 canonical JSON, cross-checked against the rfc8785 package."""

from __future__ import annotations

import json
import unicodedata
from enum import IntEnum

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    _write,
    canonical_json,
    parse_canonical,
)

SETTINGS = settings(database=None, deadline=None, max_examples=300)

nfc_text = st.text().map(lambda s: unicodedata.normalize("NFC", s))
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | nfc_text
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(nfc_text, children, max_size=5)
    ),
    max_leaves=30,
)


def _nested_lists(depth: int) -> list[object]:
    """Return ``depth`` levels of nested lists."""
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def test_rfc8785_key_order_is_by_utf16_code_units() -> None:
    # After RFC 8785 §3.2.3's sorting example (U+1F600 sorts as its surrogates D83D DE00, so
    # before U+FB01; the RFC uses U+FB33, which is not NFC-stable, so U+FB01 stands in).
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb01": "Latin Small Ligature Fi",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical_json(obj)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb01"]


def test_exact_output_for_a_record() -> None:
    record = {"v": 1, "type": "ballot.cast", "seq": 41, "body": {"choice": "同意", "n": -3}}
    assert canonical_json(record) == (
        '{"body":{"choice":"同意","n":-3},"seq":41,"type":"ballot.cast","v":1}'.encode()
    )


def test_string_escapes_follow_jcs() -> None:
    text = 'q"b\\\b\f\n\r\t\x00\x1f\x7f\u2028é'
    expected = '"q\\"b\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028é"'.encode()
    assert canonical_json(text) == expected
    assert canonical_json(text) == rfc8785.dumps(text)


def test_scalars() -> None:
    assert canonical_json(None) == b"null"
    assert canonical_json(True) == b"true"
    assert canonical_json(False) == b"false"
    assert canonical_json(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    assert canonical_json([]) == b"[]"
    assert canonical_json({}) == b"{}"


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.5,
        float("nan"),
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        "e\u0301",  # decomposed é: not NFC
        {"e\u0301": 1},  # non-NFC key
        "\ud800",  # lone surrogate
        (1, 2),
        {1: "int key"},
        {("t",): 1},
        {1, 2},
        b"bytes",
        _nested_lists(100),
    ],
)
def test_refuses_values_outside_the_subset(value: object) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


def test_refuses_subclasses_of_allowed_types() -> None:
    class MyStr(str):
        pass

    class MyDict(dict[str, int]):
        pass

    with pytest.raises(CanonicalJSONError):
        canonical_json(MyStr("x"))
    with pytest.raises(CanonicalJSONError):
        canonical_json(MyDict(a=1))


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # key order
        b'{"a":1, "b":2}',  # whitespace
        b' {"a":1}',
        b'{"a":1}\n',
        b'{"a":1,"a":1}',  # duplicate key
        b"1.0",
        b"1e2",
        b"-0",
        b"01",
        b"NaN",
        b"Infinity",
        b"9007199254740992",
        b'"\\u0041"',  # needless escape
        b'"\\/"',
        b'"\\u001F"',  # upper-case hex escape
        b'"\x01"',  # raw control character
        b'"e\xcc\x81"',  # not NFC
        b'"\\ud800"',  # lone surrogate escape
        b'"\xff"',  # invalid UTF-8
        b"\xef\xbb\xbf1",  # BOM
        b"",
        b"[1,]",
        b"1" * 5000,  # too many digits
    ],
)
def test_parse_rejects_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_canonical(data)


def test_parse_accepts_canonical_bytes() -> None:
    data = '{"a":[true,false,null,-1,"\\u0000é"],"b":{}}'.encode()
    assert parse_canonical(data) == {"a": [True, False, None, -1, "\x00é"], "b": {}}


def test_parse_keeps_utf16_key_order_and_exact_errors_off_the_quick_path() -> None:
    # Code-point order (what json's sort_keys gives) puts U+FB01 before U+1F600; JCS does not.
    canonical = canonical_json({"\ufb01": 1, "\U0001f600": 2})
    assert canonical == '{"\U0001f600":2,"\ufb01":1}'.encode()
    assert parse_canonical(canonical) == {"\ufb01": 1, "\U0001f600": 2}
    with pytest.raises(CanonicalJSONError, match="canonical form"):
        parse_canonical('{"\ufb01":1,"\U0001f600":2}'.encode())
    # Errors are the full parse's, whatever the quick path missed on.
    with pytest.raises(CanonicalJSONError, match="duplicate object key"):
        parse_canonical(b'{"a":1,"a":1}')
    with pytest.raises(CanonicalJSONError, match="outside"):
        parse_canonical(b"[9007199254740992]")
    with pytest.raises(CanonicalJSONError, match="non-integer"):
        parse_canonical(b"[1.5]")


@SETTINGS
@given(values)
def test_matches_the_rfc8785_package(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)  # type: ignore[arg-type]


@SETTINGS
@given(values)
def test_round_trip(value: object) -> None:
    data = canonical_json(value)
    assert parse_canonical(data) == value
    assert b"\n" not in data


@SETTINGS
@given(values, st.sampled_from(["indent", "spaces", "ascii", "unsorted"]))
def test_other_serialisations_are_rejected_unless_identical(value: object, style: str) -> None:
    if style == "indent":
        other = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True)
    elif style == "spaces":
        other = json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif style == "ascii":
        other = json.dumps(value, separators=(",", ":"), sort_keys=True)
    else:
        other = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    encoded = other.encode("utf-8", "surrogatepass")
    if encoded == canonical_json(value):
        assert parse_canonical(encoded) == value
    else:
        with pytest.raises(CanonicalJSONError):
            parse_canonical(encoded)


class _Kind(IntEnum):
    ONE = 1


@pytest.mark.parametrize("value", [
    {"a": "\ud800"},  # lone surrogate inside an object
    {"a": ["e\u0301"]},  # not NFC inside a list
    {"a": {"b": 0.5}},
    {"a": (1,)},
    {"a": _Kind.ONE},  # an int subclass inside
    {"a": MAX_SAFE_INTEGER + 1},
    {"a": {"e\u0301": 1}},  # a non-NFC key inside
])
def test_refuses_values_outside_the_subset_however_deep(value: object) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


@pytest.mark.parametrize("value", [
    {"b": [True, False, None, -1, "\u2028", "\x1f", "引号\"和\\"], "a": {"z": 1, "y": "中文"}},
    {"\uffff": 1, "\U00010000": 2, "a": "é"},  # non-ASCII keys: the full writer's UTF-16 order
    [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, {}, []],
])
def test_plain_values_come_out_as_the_full_writer_writes_them(value: object) -> None:
    parts: list[str] = []
    _write(value, parts, 0)
    assert canonical_json(value) == "".join(parts).encode("utf-8")
