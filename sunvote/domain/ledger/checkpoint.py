"""C2SP tlog-checkpoint bodies and C2SP tlog-cosignature v1 (timestamped Ed25519) lines."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from sunvote.domain.ledger import crypto
from sunvote.domain.ledger.merkle import HASH_SIZE, MAX_TREE_SIZE
from sunvote.domain.ledger.note import (
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    check_key_name,
    decode_base64_strict,
    decode_vkey,
    encode_vkey,
    key_id,
    open_note,
    parse_note_unverified,
    sign_note,
)

SIG_TYPE_COSIGNATURE_V1 = 0x04
MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_HEADER = "cosignature/v1\n"

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint body is malformed, or is not the checkpoint that was expected."""


class CosignatureError(ValueError):
    """A cosignature is missing, malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """A log checkpoint: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate every field so that only well-formed checkpoints exist."""
        _check_line(self.origin, "origin")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} out of range")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError("root hash must be 32 bytes")
        for line in self.extensions:
            _check_line(line, "extension line")


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """Return the checkpoint note text ``origin\\nsize\\nbase64(root)\\n`` plus extension lines."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root).decode("ascii"),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text strictly; raise :class:`CheckpointError`.

    Requires at least three non-empty newline-terminated lines: a non-empty origin, a decimal
    size without leading zeros, the canonical base64 of a 32-byte root; then non-empty
    extension lines.
    """
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(f"tree size {size_text!r} is not a canonical decimal")
    root = decode_base64_strict(root_text, CheckpointError)
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, log_signer: NoteSigner) -> bytes:
    """Return the checkpoint as a signed note signed by the log key.

    The log key's name must equal the origin (as the design requires).
    """
    if log_signer.name != checkpoint.origin:
        raise CheckpointError("the log key name must equal the checkpoint origin")
    return sign_note(format_checkpoint(checkpoint), [log_signer])


def open_checkpoint(
    msg: bytes, log_verifier: NoteVerifier, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note with the log key and return the parsed checkpoint.

    ``origin`` defaults to the log key's name. Raises NoteError subclasses for signature
    problems and :class:`CheckpointError` for a malformed body or an unexpected origin.
    Cosignatures are ignored here; check them with :func:`verify_cosignature`.
    """
    opened = open_note(msg, [log_verifier])
    checkpoint = parse_checkpoint(opened.text)
    expected = log_verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    return checkpoint


# --------------------------------------------------------------------------- cosignatures


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness (cosigner) public key for tlog-cosignature/v1 Ed25519 cosignatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        """Validate the name and key length."""
        check_key_name(self.name)
        if len(self.public_key) != 32:
            raise CosignatureError("Ed25519 public keys are 32 bytes")

    @property
    def key_id(self) -> int:
        """SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4] as a big-endian integer."""
        return key_id(self.name, SIG_TYPE_COSIGNATURE_V1, self.public_key)

    @property
    def vkey(self) -> str:
        """The vkey string ``<name>+<hex key ID>+<base64(0x04 ‖ public key)>``."""
        return encode_vkey(self.name, SIG_TYPE_COSIGNATURE_V1, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """Parse a cosigner vkey with signature type 0x04."""
        return cls(*decode_vkey(vkey, SIG_TYPE_COSIGNATURE_V1))

    def signature_valid(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (timestamp ‖ Ed25519 sig) cosigns the checkpoint text.

        This makes a cosigner usable as a verifier in :func:`open_note`.
        """
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        return crypto.ed25519_valid(self.public_key, signature[8:],
                                    _signed_message(message, timestamp))


@dataclass(frozen=True)
class Cosigner:
    """A witness private key (32-byte Ed25519 seed, kept out of ``repr``) and its name."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Validate the name and seed length."""
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise CosignatureError("Ed25519 seeds are 32 bytes")

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return crypto.ed25519_public_key(self.seed)

    @property
    def key_id(self) -> int:
        """The cosignature key ID (signature type 0x04)."""
        return key_id(self.name, SIG_TYPE_COSIGNATURE_V1, self.public_key)

    def verifier(self) -> CosignatureVerifier:
        """Return the matching public cosignature verifier."""
        return CosignatureVerifier(self.name, self.public_key)


def generate_cosigner(name: str) -> Cosigner:
    """Generate a fresh witness key named ``name``."""
    return Cosigner(name, crypto.ed25519_new_seed())


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """Return the signed message ``cosignature/v1\\ntime <timestamp>\\n`` ‖ checkpoint text."""
    _check_timestamp(timestamp)
    parse_checkpoint(checkpoint_text)
    return _signed_message(checkpoint_text.encode("utf-8"), timestamp)


def cosignature_line(checkpoint_text: str, cosigner: Cosigner, timestamp: int) -> str:
    """Return the note signature line cosigning ``checkpoint_text`` at ``timestamp``.

    The payload is key ID (4) ‖ timestamp (8, big-endian) ‖ Ed25519 signature (64). The
    caller passes the time (POSIX seconds) in; the domain never reads the clock.
    """
    message = cosignature_message(checkpoint_text, timestamp)
    signature = crypto.ed25519_sign(cosigner.seed, message)
    payload = timestamp.to_bytes(8, "big") + signature
    return NoteSignature(cosigner.name, cosigner.key_id, payload).line()


def add_cosignature(note: bytes, cosigner: Cosigner, timestamp: int) -> bytes:
    """Append a cosignature line to a checkpoint note (its syntax is checked, not its signatures).

    The caller (a witness) must already have verified the log signature and a consistency
    proof from the last checkpoint it cosigned.
    """
    parsed = parse_note_unverified(note)
    return note + cosignature_line(parsed.text, cosigner, timestamp).encode("utf-8")


def verify_cosignature(note: bytes, verifier: CosignatureVerifier) -> int:
    """Verify ``verifier``'s cosignature on a checkpoint note and return its timestamp.

    Raises :class:`CosignatureError` if no line carries the cosigner's name and key ID, or
    if any such line fails. This checks only the cosignature, not the log's own signature.
    """
    parsed = parse_note_unverified(note)
    parse_checkpoint(parsed.text)
    message = parsed.signed_bytes
    timestamps = []
    for sig in parsed.signatures:
        if (sig.name, sig.key_id) != (verifier.name, verifier.key_id):
            continue
        if not verifier.signature_valid(message, sig.signature):
            raise CosignatureError(f"invalid cosignature from {verifier.name}")
        timestamps.append(int.from_bytes(sig.signature[:8], "big"))
    if not timestamps:
        raise CosignatureError(f"no cosignature from {verifier.name}")
    return max(timestamps)


def _signed_message(checkpoint_body: bytes, timestamp: int) -> bytes:
    """Prefix the checkpoint body with the cosignature/v1 header and time line."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n".encode("ascii") + checkpoint_body


def _check_timestamp(timestamp: int) -> None:
    """Raise CosignatureError unless 0 <= timestamp <= 2**63 - 1."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"timestamp {timestamp} out of range")


def _check_line(line: str, what: str) -> None:
    """Raise CheckpointError unless ``line`` is a non-empty line without control characters."""
    if not line:
        raise CheckpointError(f"{what} must not be empty")
    if any(ch < " " for ch in line):
        raise CheckpointError(f"{what} contains a control character or newline")
