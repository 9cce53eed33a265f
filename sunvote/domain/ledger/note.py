"""C2SP signed-note (c2sp.org/signed-note) with Ed25519 keys, interoperable with Go sumdb/note."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sunvote.domain.ledger import crypto

SIG_TYPE_ED25519 = 0x01
MAX_SIGNATURES = 100
SIGNATURE_PREFIX = "\u2014 "  # EM DASH, SPACE

_PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"


class NoteError(ValueError):
    """Base class for every signed-note failure."""


class MalformedNoteError(NoteError):
    """The message is not a syntactically valid signed note."""


class InvalidSignatureError(NoteError):
    """A signature line names a known key (name and key ID) but does not verify."""

    def __init__(self, name: str, key_id: int) -> None:
        """Record which known key failed."""
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")
        self.name = name
        self.key_id = key_id


class UnverifiedNoteError(NoteError):
    """The note is well formed but no signature from a known key is present."""

    def __init__(self, note: ParsedNote) -> None:
        """Keep the (untrusted) parsed note for diagnostics."""
        super().__init__("note has no verifiable signatures")
        self.note = note


class KeyFormatError(ValueError):
    """A verifier or signer key string (or key name) is malformed."""


class NoteVerifier(Protocol):
    """Anything that can check note signatures for one (name, key ID) pair."""

    @property
    def name(self) -> str:
        """The key name that appears on signature lines."""
        ...

    @property
    def key_id(self) -> int:
        """The 32-bit key ID that prefixes the signature bytes."""
        ...

    def signature_valid(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (key ID already stripped) is valid for ``message``."""
        ...


class NoteSigner(Protocol):
    """Anything that can sign note text for one (name, key ID) pair."""

    @property
    def name(self) -> str:
        """The key name written on the signature line."""
        ...

    @property
    def key_id(self) -> int:
        """The 32-bit key ID written before the signature bytes."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the signature bytes for ``message``."""
        ...


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    def __reduce__(self) -> tuple[type[NoteSignature], tuple[str, int, bytes]]:
        """Pickle as a constructor call: smaller and faster to load than a dataclass's state
        (the verifier's worker processes send one or more per record)."""
        return NoteSignature, (self.name, self.key_id, self.signature)

    def line(self) -> str:
        """Return the signature line, including its final newline."""
        payload = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(payload).decode('ascii')}\n"


@dataclass(frozen=True)
class ParsedNote:
    """A syntactically valid note whose signatures have NOT been checked.

    ``signed_bytes`` is the text exactly as it appears in the message (the bytes that the
    signatures cover); ``text`` is the same, decoded.
    """

    text: str
    signatures: tuple[NoteSignature, ...]
    signed_bytes: bytes = field(repr=False)


@dataclass(frozen=True)
class OpenedNote:
    """A note with at least one signature verified by a known key."""

    text: str
    verified_sigs: tuple[NoteSignature, ...]
    unverified_sigs: tuple[NoteSignature, ...]

    def is_verified_by(self, verifier: NoteVerifier) -> bool:
        """Return whether ``verifier``'s key produced one of the verified signatures."""
        return any(
            s.name == verifier.name and s.key_id == verifier.key_id for s in self.verified_sigs
        )


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier key: a name and a 32-byte public key."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        """Validate the name and key length."""
        check_key_name(self.name)
        if len(self.public_key) != 32:
            raise KeyFormatError("Ed25519 public keys are 32 bytes")

    @functools.cached_property
    def key_id(self) -> int:
        """The C2SP key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian (kept:
        the verifier compares it with every record's first signature line)."""
        return key_id(self.name, SIG_TYPE_ED25519, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``."""
        return encode_vkey(self.name, SIG_TYPE_ED25519, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse a verifier key string as Go's ``note.NewVerifier`` does (Ed25519 only)."""
        return cls(*decode_vkey(vkey, SIG_TYPE_ED25519))

    def signature_valid(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is a valid Ed25519 signature of ``message``."""
        return crypto.ed25519_valid(self.public_key, signature, message)


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer: a name and the 32-byte private seed (kept out of ``repr``)."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Validate the name and seed length."""
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise KeyFormatError("Ed25519 seeds are 32 bytes")

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return _public_key_from_seed(self.seed)

    @property
    def key_id(self) -> int:
        """The C2SP key ID of the matching verifier."""
        return key_id(self.name, SIG_TYPE_ED25519, self.public_key)

    @property
    def skey(self) -> str:
        """The signer key string ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>``.

        As in Go, the key ID is that of the public key, not of the seed.
        """
        encoded = base64.b64encode(bytes([SIG_TYPE_ED25519]) + self.seed).decode("ascii")
        return f"{_PRIVATE_KEY_PREFIX}{self.name}+{self.key_id:08x}+{encoded}"

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse a signer key string as Go's ``note.NewSigner`` does (Ed25519 only)."""
        if not skey.startswith(_PRIVATE_KEY_PREFIX):
            raise KeyFormatError("signer keys start with PRIVATE+KEY+")
        rest = skey[len(_PRIVATE_KEY_PREFIX) :]
        name, _, tail = rest.partition("+")
        key_id_hex, sep, encoded = tail.partition("+")
        raw = decode_base64_strict(encoded, KeyFormatError)
        if not sep or len(raw) != 33 or raw[0] != SIG_TYPE_ED25519:
            raise KeyFormatError("malformed signer key")
        signer = cls(name, raw[1:])
        if key_id_hex != f"{signer.key_id:08x}":
            raise KeyFormatError("signer key ID does not match the key")
        return signer

    def verifier(self) -> Verifier:
        """Return the matching public verifier."""
        return Verifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return crypto.ed25519_sign(self.seed, message)


def generate_signer(name: str) -> Signer:
    """Generate a fresh Ed25519 signer named ``name`` (from the OS random source)."""
    return Signer(name, crypto.ed25519_new_seed())


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """Return the C2SP key ID ``SHA-256(name ‖ 0x0A ‖ sig_type ‖ public_key)[:4]`` as an int."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def check_key_name(name: str) -> None:
    """Raise KeyFormatError unless ``name`` is a valid key name.

    Non-empty, valid UTF-8, no Unicode space (Go's ``unicode.IsSpace`` set), no ``+`` and no
    ASCII control character.
    """
    if not name or "+" in name:
        raise KeyFormatError(f"invalid key name {name!r}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise KeyFormatError("key name is not valid Unicode") from None
    for ch in name:
        if ch.isspace() or ch < " " or unicodedata.category(ch) in ("Zs", "Zl", "Zp"):
            raise KeyFormatError(f"key name {name!r} contains a space or control character")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> bytes:
    """Sign ``text`` with every signer and return the encoded note.

    The text must be non-empty, end in a newline, and contain no ASCII control character other
    than newline. At least one signer is required; two signers may not share name and key ID.
    """
    _check_text(text)
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    if len({(s.name, s.key_id) for s in signers}) != len(signers):
        raise ValueError("two signers share the same name and key ID")
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        check_key_name(signer.name)
        lines.append(NoteSignature(signer.name, signer.key_id, signer.sign(message)).line())
    return message + b"\n" + "".join(lines).encode("utf-8")


# ASCII control characters other than newline (one regex scan instead of a Python loop).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


def parse_note_unverified(msg: bytes) -> ParsedNote:
    """Split a note into text and signature lines, checking syntax only — NOT the signatures.

    Raises :class:`MalformedNoteError`. Never trust the returned text; use :func:`open_note`.
    """
    try:
        decoded = msg.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError("note is not valid UTF-8") from None
    if _CONTROL.search(decoded):
        raise MalformedNoteError("note contains a control character")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNoteError("signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"more than {MAX_SIGNATURES} signatures")
    signatures = tuple(_parse_signature_line(line) for line in lines)
    # "\n\n" is ASCII, so the byte split point is the same as the character one.
    signed_bytes = msg[: msg.rfind(b"\n\n") + 1]
    return ParsedNote(text, signatures, signed_bytes)


def open_note(msg: bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse ``msg`` and verify its signatures against the known ``verifiers``.

    Follows the signed-note spec and Go's ``note.Open``: a key is known only when both name
    and key ID match; every signature by a known key must verify (else
    :class:`InvalidSignatureError`); signatures by unknown keys are reported, not checked; at
    least one known key must have signed (else :class:`UnverifiedNoteError`). Stricter than
    Go, which checks only the first line per known key: here every such line is checked.
    Repeated lines are reported once.
    """
    note = parse_note_unverified(msg)
    known = _index_verifiers(verifiers)
    message = note.signed_bytes
    verified: dict[tuple[str, int], NoteSignature] = {}
    unverified: dict[NoteSignature, None] = {}
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified[sig] = None
            continue
        if not verifier.signature_valid(message, sig.signature):
            raise InvalidSignatureError(sig.name, sig.key_id)
        verified.setdefault((sig.name, sig.key_id), sig)
    if not verified:
        raise UnverifiedNoteError(note)
    return OpenedNote(note.text, tuple(verified.values()), tuple(unverified))


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    """Index verifiers by (name, key ID); refuse two different keys under the same pair."""
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        pair = (verifier.name, verifier.key_id)
        existing = known.setdefault(pair, verifier)
        if existing is not verifier and existing != verifier:
            raise NoteError(f"ambiguous key {pair[0]}+{pair[1]:08x}")
    return known


def _parse_signature_line(line: str) -> NoteSignature:
    """Parse one ``— <name> <base64(key ID ‖ signature)>`` line (without its newline)."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError("signature line must start with an em dash and a space")
    name, sep, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep:
        raise MalformedNoteError("signature line has no signature")
    problem = _key_name_problem(name) if len(name) <= 256 else _key_name_problem.__wrapped__(name)
    if problem is not None:
        raise MalformedNoteError(problem)
    raw = decode_base64_strict(encoded, MalformedNoteError)
    if len(raw) < 5:
        raise MalformedNoteError("signature is too short")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


@functools.lru_cache(maxsize=1024)
def _key_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid key name, or None. Cached (for short names): a log's
    signature lines repeat a few names, and the per-character check was a tenth of parsing."""
    try:
        check_key_name(name)
    except KeyFormatError as exc:
        return str(exc)
    return None


def decode_base64_strict(encoded: str, error: type[ValueError] = ValueError) -> bytes:
    """Decode standard padded base64, accepting only the canonical encoding (else ``error``)."""
    # binascii directly: what b64decode(validate=True) and b64encode call, without their
    # wrappers (this runs twice per record in the verifier).
    try:
        data = encoded.encode("ascii")
        raw = binascii.a2b_base64(data, strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise error("invalid base64") from None
    if binascii.b2a_base64(raw, newline=False) != data:
        raise error("non-canonical base64")
    return raw


def _check_text(text: str) -> None:
    """Raise ValueError unless ``text`` can be the text of a signed note."""
    if not text or not text.endswith("\n"):
        raise ValueError("note text must be non-empty and end with a newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("note text is not valid Unicode") from None
    if _CONTROL.search(text):
        raise ValueError("note text contains a control character")


def encode_vkey(name: str, sig_type: int, public_key: bytes) -> str:
    """Return the verifier key string ``<name>+<hex key ID>+<base64(sig_type ‖ public_key)>``."""
    check_key_name(name)
    encoded = base64.b64encode(bytes([sig_type]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, sig_type, public_key):08x}+{encoded}"


def decode_vkey(vkey: str, sig_type: int, key_size: int = 32) -> tuple[str, bytes]:
    """Parse ``<name>+<hex key ID>+<base64(sig_type ‖ key)>`` and return ``(name, key)``.

    Like Go's ``note.NewVerifier`` but stricter: the key ID must be 8 lowercase hex digits
    (as every encoder writes it) and the base64 must be canonical. Raises KeyFormatError.
    """
    name, _, rest = vkey.partition("+")
    key_id_hex, sep, encoded = rest.partition("+")
    if not sep or len(key_id_hex) != 8 or any(c not in "0123456789abcdef" for c in key_id_hex):
        raise KeyFormatError("malformed key string")
    check_key_name(name)
    raw = decode_base64_strict(encoded, KeyFormatError)
    if len(raw) != 1 + key_size:
        raise KeyFormatError(f"key material must be a type byte and {key_size} bytes")
    if raw[0] != sig_type:
        raise KeyFormatError(f"unsupported key type {raw[0]:#04x}, expected {sig_type:#04x}")
    if key_id_hex != f"{key_id(name, sig_type, raw[1:]):08x}":
        raise KeyFormatError("key ID does not match the key")
    return name, raw[1:]


def _public_key_from_seed(seed: bytes) -> bytes:
    """Derive the raw Ed25519 public key from a 32-byte seed."""
    return crypto.ed25519_public_key(seed)
