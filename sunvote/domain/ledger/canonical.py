"""RFC 8785 (JCS) canonical JSON for the restricted value subset used inside ledger records."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64

_ALLOWED_TYPES = (int, str, list, dict)


class CanonicalJSONError(ValueError):
    """Raised when a value cannot be canonicalised or bytes are not canonical JSON."""


def canonical_json(obj: object) -> bytes:
    """Serialise ``obj`` as RFC 8785 canonical JSON (UTF-8 bytes, one line).

    Only ``dict`` (with ``str`` keys), ``list``, ``str``, ``int``, ``bool`` and ``None`` are
    accepted, by exact type (no subclasses, no tuples, no floats). Integers must lie within
    ±(2**53 − 1) and every string (keys included) must be valid Unicode in NFC form.
    """
    if _plain(obj, 0):
        # Fast path (every append): ASCII keys, exact types, safe integers. The C encoder with
        # sorted keys then writes exactly the JCS form (see parse_canonical); NFC of the whole
        # text is NFC of every string, and a lone surrogate fails the UTF-8 encoding. Anything
        # else goes through the full writer, which says what is wrong.
        text = _QUICK_ENCODER.encode(obj)
        if unicodedata.is_normalized("NFC", text):
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                pass
    parts: list[str] = []
    _write(obj, parts, 0)
    return "".join(parts).encode("utf-8")


def _plain(obj: object, depth: int) -> bool:
    """True if ``obj`` holds only exact dicts with ASCII ``str`` keys, lists, strs, safe ints,
    bools and None, no deeper than MAX_DEPTH: values the C encoder writes as JCS does."""
    if depth > MAX_DEPTH:
        return False
    if type(obj) is str or type(obj) is bool or obj is None:
        return True
    if type(obj) is int:
        return -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER
    if type(obj) is dict:
        return all(type(key) is str and key.isascii() and _plain(value, depth + 1)
                   for key, value in obj.items())
    if type(obj) is list:
        return all(_plain(item, depth + 1) for item in obj)
    return False


def parse_canonical(data: bytes) -> object:
    """Parse ``data`` and return the value, raising unless ``data`` is exactly its canonical form.

    Rejects invalid UTF-8, duplicate keys, floats, exponents, ``NaN``/``Infinity``, any
    insignificant whitespace, non-canonical escapes or key order, and everything that
    :func:`canonical_json` refuses.
    """
    quick = _parse_quick(data)
    if quick is not _MISS:
        return quick
    keys = _KeyCheck()
    try:
        text = data.decode("utf-8")
        value: object = json.loads(
            text,
            object_pairs_hook=keys,
            parse_float=_reject_float,
            parse_int=_parse_safe_int,
            parse_constant=_reject_constant,
        )
    except CanonicalJSONError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from exc
    except ValueError as exc:  # e.g. an integer literal with too many digits
        raise CanonicalJSONError(str(exc)) from exc
    if keys.all_ascii and text.count("{") + text.count("[") <= MAX_DEPTH:
        # Fast path (the verifier's hot loop). With ASCII keys, code-point order is UTF-16
        # order, so the C encoder with sorted keys writes exactly the JCS form; integers were
        # range-checked while parsing. NFC of the whole text is NFC of every string: the only
        # escapes that survive the comparison (controls, quote, backslash) never combine, and
        # the quotes around each string compose with nothing.
        fast = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        if fast != text or not unicodedata.is_normalized("NFC", text):
            raise CanonicalJSONError("JSON is valid but not in RFC 8785 canonical form")
        return value
    if canonical_json(value) != data:
        raise CanonicalJSONError("JSON is valid but not in RFC 8785 canonical form")
    return value


class _KeyCheck:
    """object_pairs_hook: refuses duplicate keys and notes whether every key is ASCII."""

    def __init__(self) -> None:
        self.all_ascii = True

    def __call__(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        result = _reject_duplicate_keys(pairs)
        if self.all_ascii and not all(key.isascii() for key in result):
            self.all_ascii = False
        return result


def _parse_safe_int(literal: str) -> int:
    value = int(literal)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalJSONError(f"integer {literal} outside ±(2**53 - 1)")
    return value


def _write(obj: object, out: list[str], depth: int) -> None:
    """Append the canonical serialisation of ``obj`` to ``out`` (exact types only)."""
    if depth > MAX_DEPTH:
        raise CanonicalJSONError(f"nesting deeper than {MAX_DEPTH}")
    exact = type(obj) in _ALLOWED_TYPES
    if obj is None:
        out.append("null")
    elif isinstance(obj, bool):
        out.append("true" if obj else "false")
    elif exact and isinstance(obj, int):
        out.append(_format_int(obj))
    elif exact and isinstance(obj, str):
        out.append(_format_str(obj))
    elif exact and isinstance(obj, list):
        _write_list(obj, out, depth)
    elif exact and isinstance(obj, dict):
        _write_dict(obj, out, depth)
    else:
        raise CanonicalJSONError(f"unsupported type in canonical JSON: {type(obj).__name__}")


def _write_list(items: list[object], out: list[str], depth: int) -> None:
    """Append a JSON array."""
    out.append("[")
    for i, item in enumerate(items):
        if i:
            out.append(",")
        _write(item, out, depth + 1)
    out.append("]")


def _write_dict(mapping: Mapping[object, object], out: list[str], depth: int) -> None:
    """Append a JSON object with keys sorted by their UTF-16 code units (RFC 8785 §3.2.3)."""
    keys: list[str] = []
    for key in mapping:
        if not isinstance(key, str) or type(key) is not str:
            raise CanonicalJSONError(f"object keys must be str, not {type(key).__name__}")
        keys.append(key)
    keys.sort(key=_utf16_sort_key)
    out.append("{")
    for i, key in enumerate(keys):
        if i:
            out.append(",")
        out.append(_format_str(key))
        out.append(":")
        _write(mapping[key], out, depth + 1)
    out.append("}")


def _utf16_sort_key(key: str) -> bytes:
    """Return a key whose byte order equals the UTF-16 code-unit order of ``key``."""
    return key.encode("utf-16-be", "surrogatepass")


def _format_int(value: int) -> str:
    """Format an integer inside the IEEE 754 exact-integer range."""
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalJSONError(f"integer {value} outside ±(2**53 - 1)")
    return str(value)


def _format_str(value: str) -> str:
    """Format a string with the JCS (ECMAScript JSON.stringify) escaping rules."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError("string contains lone surrogates") from exc
    if not unicodedata.is_normalized("NFC", value):
        raise CanonicalJSONError(f"string is not in Unicode NFC form: {value!r}")
    # json.dumps without ASCII escaping applies exactly the JCS rules: quote, backslash,
    # \b \f \n \r \t, other C0 controls as lower-case \u00xx, everything else literal (the
    # tests cross-check against the rfc8785 package).
    return json.dumps(value, ensure_ascii=False)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Build a dict from JSON object pairs, refusing duplicate keys."""
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalJSONError(f"duplicate object key {key!r}")
        result[key] = value
    return result


def _reject_float(literal: str) -> object:
    """Refuse any number with a fraction or exponent."""
    raise CanonicalJSONError(f"non-integer number {literal!r} is not allowed")


def _reject_constant(literal: str) -> object:
    """Refuse NaN and the infinities."""
    raise CanonicalJSONError(f"{literal} is not allowed")


#: Every byte below the UTF-8 lead bytes of U+E000 and above. Deleting these leaves those lead
#: bytes: where code-point order, which ``sort_keys`` uses, can differ from JCS's UTF-16 order
#: (U+E000–U+FFFF sort after the surrogates of U+10000 and up); text with one is left to the
#: full parse. (``bytes.translate`` is a fifth of the time of a regex search here.)
_QUICK_SAFE_BYTES = bytes(range(0xEE))
#: The C scanner without the per-object hook (most of the parse time); integers, floats and
#: constants still reach their checking or refusing hooks.
_QUICK_DECODER = json.JSONDecoder(parse_int=_parse_safe_int, parse_float=_reject_float,
                                  parse_constant=_reject_constant)
_QUICK_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                                  check_circular=False)
_MISS = object()


def _parse_quick(data: bytes) -> object:
    """The value of ``data`` if it is plainly canonical, else ``_MISS`` (never an error).

    Accepts only what the full parse accepts, with the same value: re-encoding must give the
    text back exactly, so a duplicate key (dropped by ``dict``), whitespace, an escape other
    than JCS's, ``-0`` or a key out of order all miss; floats and constants raise in their hooks
    and miss, out-of-range integers raise in theirs; the byte check keeps code-point order equal
    to UTF-16 order; the bracket count bounds the depth as the full parse does. Anything that
    misses is parsed again by the full path, which says what is wrong.
    """
    if not data.isascii() and data.translate(None, _QUICK_SAFE_BYTES):
        return _MISS
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _MISS
    if text.count("{") + text.count("[") > MAX_DEPTH:
        return _MISS
    try:
        value: object = _QUICK_DECODER.decode(text)
    except (ValueError, RecursionError):  # JSONDecodeError and CanonicalJSONError included
        return _MISS
    if _QUICK_ENCODER.encode(value) != text or not unicodedata.is_normalized("NFC", text):
        return _MISS
    return value
