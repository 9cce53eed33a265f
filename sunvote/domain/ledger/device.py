"""Cloud voting's device keys and signed statements: key texts, canonical statements, checks.

A phone enrolled for cloud voting holds a non-extractable WebCrypto key pair; only its public
key leaves the phone, as ``ed25519:<base64 of 32 raw bytes>`` or ``p256:<base64 of the 65-byte
uncompressed point>``. The phone signs the UTF-8 bytes of a *statement*: a flat JSON object in
RFC 8785 canonical form whose values are integers or ASCII strings, with ``"v":1``, a type ``t``
and the log's origin ``log`` (:data:`STATEMENT_KEYS` lists each type's keys). Ed25519 signatures
are the 64 bytes of RFC 8032; ECDSA P-256 (SHA-256) ones the 64 bytes r ‖ s that WebCrypto
returns (IEEE P1363), checked through :mod:`sunvote.domain.ledger.crypto` (``cryptography`` on a
server, ``@noble/curves`` in the browser verifier). See docs/cloud-voting.md and
docs/ledger-format.md. Pure: the standard library and that interface only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sunvote.domain.ledger import crypto
from sunvote.domain.ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical

#: Algorithm names as they appear before the colon of a key text.
ED25519 = "ed25519"
P256 = "p256"
ALGORITHMS: tuple[str, ...] = (ED25519, P256)

_KEY_BYTES = {ED25519: 32, P256: 65}
SIGNATURE_BYTES = 64
STATEMENT_VERSION = 1

#: Each statement type's keys and their JSON types (``int`` never admits a boolean). Every
#: statement has exactly these keys: ``v``, ``t``, ``log`` and those of its type.
_COMMON: dict[str, type] = {"v": int, "t": str, "log": str}
STATEMENT_KEYS: dict[str, dict[str, type]] = {
    # proof of possession at enrolment; ``key`` is the device's own key text, ``challenge`` the
    # random value of the single-use enrolment QR
    "enrol": {**_COMMON, "member": int, "key": str, "challenge": str},
    # a remote check-in; ``code`` is the six-digit presence code (a string: it may start with 0)
    "attend": {**_COMMON, "meeting": int, "member": int, "code": str},
    # a ballot in a named poll; ``ballot`` is the phone's random ballot id
    "ballot": {**_COMMON, "meeting": int, "poll": int, "member": int, "choice": str,
               "ballot": str},
    # taking part in a secret poll (the choice is not signed: it would name the voter)
    "participation": {**_COMMON, "meeting": int, "poll": int, "member": int},
}


class DeviceKeyError(ValueError):
    """A device key text that is not ``ed25519:``/``p256:`` with a valid public key."""


class DeviceSignatureError(ValueError):
    """A device signature that is malformed or does not verify."""


class StatementError(DeviceSignatureError):
    """A statement that is not a canonical, flat, version-1 statement of a known type (what it
    says cannot be trusted, so it counts as a signature error for callers that catch those)."""


@dataclass(frozen=True)
class DeviceKey:
    """A device's public key: its algorithm (:data:`ALGORITHMS`) and raw public key bytes."""

    alg: str
    raw: bytes

    @property
    def text(self) -> str:
        """The key text used in records and statements, e.g. ``ed25519:<base64>``."""
        return f"{self.alg}:{base64.b64encode(self.raw).decode('ascii')}"

    @property
    def fingerprint(self) -> str:
        """A short id for people to compare (16 hex digits: SHA-256 of the text, 8 bytes)."""
        return hashlib.sha256(self.text.encode("ascii")).digest()[:8].hex()

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise DeviceSignatureError unless ``signature`` (64 bytes: Ed25519, or ECDSA P-256
        r ‖ s) is this key's signature of ``message`` (DeviceKeyError for a key that
        :func:`parse_device_key` would not have made)."""
        if self.alg not in _KEY_BYTES:
            raise DeviceKeyError(f"unknown device key algorithm {self.alg!r}")
        if len(signature) != SIGNATURE_BYTES:
            raise DeviceSignatureError(
                f"a device signature has {SIGNATURE_BYTES} bytes, not {len(signature)}")
        if self.alg == ED25519:
            valid = crypto.ed25519_valid(self.raw, signature, message)
        else:
            valid = crypto.p256_valid(self.raw, signature, message)
        if not valid:
            raise DeviceSignatureError("the device signature does not verify")


def _strict_base64(text: str) -> bytes | None:
    """Decode standard padded base64, or None unless ``text`` is exactly its canonical form."""
    if not text.isascii():
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def parse_device_key(text: str) -> DeviceKey:
    """Parse a key text strictly; raise DeviceKeyError unless it is ``ed25519:`` with 32 bytes
    or ``p256:`` with a 65-byte uncompressed point on the curve, in canonical base64."""
    if not isinstance(text, str):
        raise DeviceKeyError("a device key is a string")
    alg, sep, encoded = text.partition(":")
    if not sep or alg not in _KEY_BYTES:
        raise DeviceKeyError(f"unknown device key algorithm {alg!r} (ed25519 or p256)")
    raw = _strict_base64(encoded)
    if raw is None:
        raise DeviceKeyError("the device key is not canonical base64 (standard, padded)")
    if len(raw) != _KEY_BYTES[alg]:
        raise DeviceKeyError(f"a {alg} device key has {_KEY_BYTES[alg]} bytes, not {len(raw)}")
    if alg == P256:
        if raw[0] != 0x04:
            raise DeviceKeyError("a p256 device key is an uncompressed point (0x04 ‖ x ‖ y)")
        if not crypto.p256_point_valid(raw):
            raise DeviceKeyError("the p256 device key is not a point on the curve")
    return DeviceKey(alg, raw)


def parse_signature(text: str) -> bytes:
    """Decode a signature's base64 strictly; raise DeviceSignatureError unless it is canonical
    base64 of 64 bytes."""
    raw = _strict_base64(text) if isinstance(text, str) else None
    if raw is None:
        raise DeviceSignatureError("the device signature is not canonical base64")
    if len(raw) != SIGNATURE_BYTES:
        raise DeviceSignatureError(
            f"a device signature has {SIGNATURE_BYTES} bytes, not {len(raw)}")
    return raw


def statement_text(fields: Mapping[str, str | int]) -> str:
    """The canonical JSON text of a flat statement; raise StatementError for a value that is
    not an integer or an ASCII string (floats, booleans, null, nested values) or a non-ASCII
    key."""
    for key, value in fields.items():
        if not isinstance(key, str) or not key.isascii():
            raise StatementError(f"statement key {key!r} is not an ASCII string")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise StatementError(f"statement value {key!r} is not an integer or a string")
        if isinstance(value, str) and not value.isascii():
            raise StatementError(f"statement value {key!r} is not ASCII")
    try:
        return canonical_json(dict(fields)).decode("ascii")
    except CanonicalJSONError as exc:
        raise StatementError(f"not a statement: {exc}") from None


def parse_statement(text: str) -> dict[str, str | int]:
    """Parse a statement strictly: ASCII, canonical JSON (RFC 8785), a flat object, ``v`` 1,
    a known ``t``, exactly that type's keys with their JSON types. Raise StatementError."""
    if not isinstance(text, str) or not text.isascii():
        raise StatementError("a statement is ASCII text")
    try:
        value = parse_canonical(text.encode("ascii"))
    except CanonicalJSONError as exc:
        raise StatementError(f"the statement is not canonical JSON: {exc}") from None
    if not isinstance(value, dict):
        raise StatementError("a statement is a JSON object")
    if value.get("v") != STATEMENT_VERSION or isinstance(value.get("v"), bool):
        raise StatementError(f"the statement's v is not {STATEMENT_VERSION}")
    kind = value.get("t")
    keys = STATEMENT_KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None:
        raise StatementError(f"unknown statement type t={kind!r}")
    if set(value) != set(keys):
        raise StatementError(
            f"a {kind} statement has exactly the keys {sorted(keys)}, not {sorted(value)}")
    statement: dict[str, str | int] = {}
    for key, expected in keys.items():
        item = value[key]
        if isinstance(item, bool) or not isinstance(item, expected) or not isinstance(
                item, int | str):
            raise StatementError(f"the statement's {key} is not {expected.__name__}")
        statement[key] = item
    return statement


def expected_statement(t: str, log: str, **fields: str | int) -> str:
    """The text of the ``t`` statement for ``log`` with ``fields`` (exactly the type's other
    keys): what the phone must have signed for a record, built by the service and the verifier
    alike. Raise StatementError for an unknown type or missing/extra/mistyped fields."""
    keys = STATEMENT_KEYS.get(t)
    if keys is None:
        raise StatementError(f"unknown statement type t={t!r}")
    statement: dict[str, str | int] = {"v": STATEMENT_VERSION, "t": t, "log": log, **fields}
    if set(statement) != set(keys) or len(fields) + 3 != len(keys):
        raise StatementError(f"a {t} statement has exactly the keys {sorted(keys)}")
    for key, expected in keys.items():
        item = statement[key]
        if isinstance(item, bool) or not isinstance(item, expected):
            raise StatementError(f"the statement's {key} is not {expected.__name__}")
    return statement_text(statement)


def verify_statement(key_text: str, statement: str, sig_b64: str) -> dict[str, str | int]:
    """Check a device's signed statement and return it parsed.

    Raise DeviceKeyError if ``key_text`` is not a device key, DeviceSignatureError if
    ``sig_b64`` is not a valid signature by it over ``statement.encode("utf-8")``, and
    StatementError (a DeviceSignatureError) if the statement is not a strict statement. That the
    statement says what the caller expects (log, member, …) is the caller's to compare, e.g.
    with :func:`expected_statement`.
    """
    key = parse_device_key(key_text)
    if not isinstance(statement, str):
        raise StatementError("a statement is text")
    key.verify(statement.encode("utf-8"), parse_signature(sig_b64))
    return parse_statement(statement)
