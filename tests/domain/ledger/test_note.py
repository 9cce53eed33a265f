"""Tests for C2SP signed notes, including Go golang.org/x/mod/sumdb/note known answers."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.note import (
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    NoteError,
    NoteSignature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    generate_signer,
    key_id,
    open_note,
    parse_note_unverified,
    sign_note,
)

SETTINGS = settings(database=None, deadline=None, max_examples=300)

# Known answers from golang.org/x/mod/sumdb/note (note_test.go).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
    "pRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)

PETER = Signer.from_skey(PETER_SKEY)
ENOCH = Verifier.from_vkey(ENOCH_VKEY)
ALICE = Signer("alice.example", bytes(range(32)))
BOB = Signer("bob.example", bytes(range(32, 64)))


def note(*sig_lines: str, text: str = GO_TEXT) -> bytes:
    """Assemble a note from text and signature lines."""
    return (text + "\n" + "".join(sig_lines)).encode()


# ------------------------------------------------------------------ known answers


def test_go_signer_key_round_trips_and_matches_the_verifier_key() -> None:
    assert PETER.skey == PETER_SKEY
    assert PETER.key_id == 0xC74F20A3
    assert PETER.verifier().vkey == PETER_VKEY
    assert Verifier.from_vkey(PETER_VKEY) == PETER.verifier()
    assert ENOCH.key_id == 0xAF0CFE78
    assert ENOCH.vkey == ENOCH_VKEY


def test_go_sign_vector_is_reproduced_exactly() -> None:
    assert sign_note(GO_TEXT, [PETER]) == note(PETER_SIG)


def test_go_open_vectors() -> None:
    msg = note(PETER_SIG, ENOCH_SIG)
    opened = open_note(msg, [PETER.verifier()])
    assert opened.text == GO_TEXT
    assert [s.name for s in opened.verified_sigs] == ["PeterNeumann"]
    assert [(s.name, s.key_id) for s in opened.unverified_sigs] == [("EnochRoot", 0xAF0CFE78)]
    assert opened.is_verified_by(PETER.verifier())
    assert not opened.is_verified_by(ENOCH)

    both = open_note(msg, [PETER.verifier(), ENOCH])
    assert [s.name for s in both.verified_sigs] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified_sigs == ()
    assert both.verified_sigs[0].line() == PETER_SIG


def test_go_invalid_signature_vector() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError, match="PeterNeumann\\+c74f20a3"):
        open_note(note(bad), [PETER.verifier()])


def test_c2sp_spec_example_parses_with_a_blank_line_in_the_text() -> None:
    msg = (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
        "\n"
        "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMo"
        "uFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    ).encode()
    parsed = parse_note_unverified(msg)
    assert parsed.text.endswith("\n\ned è subito sera.\n")
    assert parsed.signatures[0].name == "quasimodo.example/salvatore"
    assert len(parsed.signatures[0].signature) == 64
    with pytest.raises(UnverifiedNoteError):
        open_note(msg, [PETER.verifier()])


# ------------------------------------------------------------------ key strings


def test_verifier_key_manglings_are_rejected() -> None:
    # Mirrors Go's TestNewVerifier: every proper substring and every single-byte increment.
    raw = PETER_VKEY.encode()
    candidates = {raw[i:j] for i in range(len(raw) + 1) for j in range(i + 1, len(raw) + 1)}
    candidates.discard(raw)
    for i in range(len(raw)):
        candidates.add(raw[:i] + bytes([raw[i] + 1]) + raw[i + 1 :])
    for candidate in candidates:
        with pytest.raises(KeyFormatError):
            Verifier.from_vkey(candidate.decode("latin-1"))


def test_signer_key_manglings_are_rejected() -> None:
    raw = PETER_SKEY.encode()
    for i in range(len(raw)):
        mangled = raw[:i] + bytes([raw[i] + 1]) + raw[i + 1 :]
        with pytest.raises(KeyFormatError):
            Signer.from_skey(mangled.decode("latin-1"))
    for cut in range(len(raw)):
        with pytest.raises(KeyFormatError):
            Signer.from_skey(raw[:cut].decode())


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case ID
    ],
)
def test_go_bad_verifier_keys(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a+b", "a b", "a\tb", "a\u00a0b", "a\u2028b", "a\u3000b"])
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(KeyFormatError):
        generate_signer(name)


def test_generated_keys_round_trip_through_their_strings() -> None:
    signer = generate_signer("sunvote.example/village-7")
    assert Signer.from_skey(signer.skey) == signer
    assert Verifier.from_vkey(signer.verifier().vkey) == signer.verifier()
    assert "seed" not in repr(signer)


# ------------------------------------------------------------------ open_note semantics


def test_round_trip_with_two_signers() -> None:
    msg = sign_note("hello\n\nworld\n", [ALICE, BOB])
    opened = open_note(msg, [ALICE.verifier(), BOB.verifier()])
    assert opened.text == "hello\n\nworld\n"
    assert len(opened.verified_sigs) == 2


def test_unknown_keys_are_tolerated_and_reported() -> None:
    stranger = generate_signer("stranger.example")
    msg = sign_note("text\n", [ALICE, stranger])
    opened = open_note(msg, [ALICE.verifier()])
    assert [s.name for s in opened.unverified_sigs] == ["stranger.example"]


def test_no_known_signature_raises() -> None:
    msg = sign_note("text\n", [ALICE])
    with pytest.raises(UnverifiedNoteError) as info:
        open_note(msg, [BOB.verifier()])
    assert info.value.note.text == "text\n"
    with pytest.raises(UnverifiedNoteError):
        open_note(msg, [])


def test_a_failing_known_signature_rejects_the_whole_note() -> None:
    good = sign_note("text\n", [ALICE, BOB])
    forged = sign_note("other\n", [BOB])
    forged_line = forged.split(b"\n\n")[1]
    msg = good + forged_line  # Bob's second line signs different text
    with pytest.raises(InvalidSignatureError):
        open_note(msg, [ALICE.verifier(), BOB.verifier()])
    # ... whatever the order of the lines.
    msg = b"text\n\n" + forged_line + good.split(b"\n\n")[1]
    with pytest.raises(InvalidSignatureError):
        open_note(msg, [ALICE.verifier(), BOB.verifier()])


def test_same_name_or_same_key_id_alone_does_not_match_a_known_key() -> None:
    msg = sign_note("text\n", [ALICE])
    sig = parse_note_unverified(msg).signatures[0]
    renamed = NoteSignature("alice.example/other", sig.key_id, sig.signature).line()
    other_id = NoteSignature(sig.name, sig.key_id ^ 1, sig.signature).line()
    for line in (renamed, other_id):
        with pytest.raises(UnverifiedNoteError):
            open_note(b"text\n\n" + line.encode(), [ALICE.verifier()])


def test_key_id_collision_between_different_names_does_not_confuse_verification() -> None:
    # Found by search: these two names and keys share the key ID 0x67a6fa1d.
    alice = Signer("alice.example/76549", bytes(range(32)))
    bob = Signer("bob.example/37058", bytes(range(32, 64)))
    assert alice.key_id == bob.key_id == 0x67A6FA1D
    verifiers = [alice.verifier(), bob.verifier()]
    opened = open_note(sign_note("text\n", [alice]), verifiers)
    assert [s.name for s in opened.verified_sigs] == ["alice.example/76549"]
    opened = open_note(sign_note("text\n", [alice, bob]), verifiers)
    assert len(opened.verified_sigs) == 2
    # Alice's signature bytes presented under Bob's name must be checked with Bob's key.
    sig = parse_note_unverified(sign_note("text\n", [alice])).signatures[0]
    stolen = NoteSignature(bob.name, sig.key_id, sig.signature).line()
    with pytest.raises(InvalidSignatureError):
        open_note(b"text\n\n" + stolen.encode(), verifiers)


@dataclass(frozen=True)
class RejectingVerifier:
    """A verifier that claims a name and key ID but accepts nothing."""

    name: str
    key_id: int

    def signature_valid(self, message: bytes, signature: bytes) -> bool:
        return False


def test_ambiguous_verifiers_are_refused() -> None:
    msg = sign_note("text\n", [ALICE])
    open_note(msg, [ALICE.verifier(), ALICE.verifier()])  # identical duplicates are fine
    impostor = RejectingVerifier(ALICE.name, ALICE.key_id)
    with pytest.raises(NoteError, match="ambiguous"):
        open_note(msg, [ALICE.verifier(), impostor])


def test_duplicate_identical_lines_are_reported_once() -> None:
    msg = sign_note("text\n", [ALICE])
    line = msg.split(b"\n\n")[1]
    stranger = sign_note("text\n", [BOB]).split(b"\n\n")[1]
    opened = open_note(msg + line + stranger + stranger, [ALICE.verifier()])
    assert len(opened.verified_sigs) == 1
    assert len(opened.unverified_sigs) == 1


# ------------------------------------------------------------------ malformed notes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PETER_RAW = base64.b64decode(PETER_SIG.split()[2])


@pytest.mark.parametrize(
    "msg",
    [
        GO_TEXT.encode(),  # no signatures at all
        (GO_TEXT + "\n").encode(),  # blank line but no signature
        note(PETER_SIG[:-1]),  # no trailing newline
        b"\x01" + note(PETER_SIG),  # control character
        b"\xff" + note(PETER_SIG),  # invalid UTF-8
        note("— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq\n"),
        note(PETER_SIG + "Unexpected line.\n"),
        (GO_TEXT + PETER_SIG).encode(),  # missing blank line
        note(PETER_SIG.replace("— ", "-- ")),  # not an em dash
        note(PETER_SIG.replace("— ", "—")),  # no space after the dash
        note("— PeterNeumann\n"),  # no signature field
        note("— PeterNeumann \n"),  # empty signature
        note("— PeterNeumann !!!!\n"),  # bad base64
        note("— PeterNeumann " + _b64(PETER_RAW)[:-1] + "\n"),  # bad padding
        note("— PeterNeumann " + _b64(PETER_RAW).rstrip("=") + "\n"),  # unpadded
        note("— PeterNeumann " + _b64(b"\xc7\x4f\x20\xa3") + "\n"),  # short: key ID only
        note("— PeterNeumann " + _b64(PETER_RAW) + " \n"),  # trailing space
        note("— PeterNeumann  " + _b64(PETER_RAW) + "\n"),  # double space
        note(PETER_SIG + "\n"),  # trailing blank line
        note(PETER_SIG.replace("\n", "\r\n")),
        note(PETER_SIG * 101),  # too many signatures
    ],
)
def test_malformed_notes_raise(msg: bytes) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(msg, [PETER.verifier()])


def test_non_canonical_base64_is_malformed() -> None:
    # The last base64 character of a 68-byte payload carries 2 unused bits; setting them
    # keeps the decoded bytes but changes the text, which must not be accepted.
    encoded = PETER_SIG.split()[2]
    last = encoded[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tweaked = encoded[:-2] + alphabet[alphabet.index(last) | 1] + "="
    assert tweaked != encoded
    assert base64.b64decode(tweaked) == base64.b64decode(encoded)
    with pytest.raises(MalformedNoteError):
        open_note(note("— PeterNeumann " + tweaked + "\n"), [PETER.verifier()])


@pytest.mark.parametrize("text", ["", "no newline", "a\x00b\n", "tab\there\n", "\ud800\n"])
def test_sign_note_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        sign_note(text, [ALICE])


def test_sign_note_needs_distinct_signers() -> None:
    with pytest.raises(ValueError):
        sign_note("text\n", [])
    with pytest.raises(ValueError):
        sign_note("text\n", [ALICE, ALICE])


# ------------------------------------------------------------------ Hypothesis


def _drop_controls(text: str) -> str:
    """Remove control characters other than newline and add the final newline."""
    return "".join(ch for ch in text if ch >= " " or ch == "\n") + "\n"


note_text = st.text(st.characters(codec="utf-8"), max_size=200).map(_drop_controls)


@SETTINGS
@given(note_text)
def test_sign_open_round_trip(text: str) -> None:
    msg = sign_note(text, [ALICE, BOB])
    opened = open_note(msg, [ALICE.verifier(), BOB.verifier()])
    assert opened.text == text
    assert len(opened.verified_sigs) == 2


@SETTINGS
@given(note_text, st.data())
def test_any_bit_flip_in_a_signed_note_fails(text: str, data: st.DataObject) -> None:
    msg = sign_note(text, [ALICE])
    bit = data.draw(st.integers(0, len(msg) * 8 - 1), label="bit")
    flipped = bytearray(msg)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(NoteError):
        open_note(bytes(flipped), [ALICE.verifier()])


@SETTINGS
@given(st.data())
def test_any_bit_flip_in_the_go_vector_fails(data: st.DataObject) -> None:
    msg = note(PETER_SIG)
    bit = data.draw(st.integers(0, len(msg) * 8 - 1), label="bit")
    flipped = bytearray(msg)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(NoteError):
        open_note(bytes(flipped), [PETER.verifier()])


def test_key_id_formula() -> None:
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + PETER.public_key).digest()[:4]
    assert key_id("PeterNeumann", 1, PETER.public_key) == int.from_bytes(expected, "big")
