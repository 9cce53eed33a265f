"""Tests for C2SP tlog-checkpoint bodies and tlog-cosignature/v1 witness cosignatures."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignatureError,
    CosignatureVerifier,
    Cosigner,
    add_cosignature,
    cosignature_line,
    cosignature_message,
    format_checkpoint,
    generate_cosigner,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from sunvote.domain.ledger.note import (
    KeyFormatError,
    NoteError,
    Signer,
    open_note,
    parse_note_unverified,
)

SETTINGS = settings(database=None, deadline=None, max_examples=300)

ORIGIN = "sunvote.example/township-3/village-7"
LOG = Signer(ORIGIN, hashlib.sha256(b"log seed").digest())
WITNESS = Cosigner("witness.example/township-3", hashlib.sha256(b"witness seed").digest())
ROOT = hashlib.sha256(b"root").digest()
CHECKPOINT = Checkpoint(ORIGIN, 42, ROOT)

# From the C2SP tlog-checkpoint and tlog-cosignature specifications.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_NOTE = (
    SPEC_BODY
    + "\n"
    + "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zh"
    "cyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    + "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJs"
    "X3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


# ------------------------------------------------------------------ checkpoint bodies


def test_spec_example_body_parses() -> None:
    checkpoint = parse_checkpoint(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert format_checkpoint(checkpoint) == SPEC_BODY


def test_format_and_parse_round_trip_with_extensions() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, ROOT, ("ext one", "ext two"))
    text = format_checkpoint(checkpoint)
    assert text == f"{ORIGIN}\n0\n{base64.b64encode(ROOT).decode()}\next one\next two\n"
    assert parse_checkpoint(text) == checkpoint


B64_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n42\n{B64_ROOT}",  # no final newline
        f"{ORIGIN}\n42\n",  # no root line
        f"\n42\n{B64_ROOT}\n",  # empty origin
        f"{ORIGIN}\n042\n{B64_ROOT}\n",  # leading zero
        f"{ORIGIN}\n00\n{B64_ROOT}\n",
        f"{ORIGIN}\n+42\n{B64_ROOT}\n",
        f"{ORIGIN}\n-1\n{B64_ROOT}\n",
        f"{ORIGIN}\n 42\n{B64_ROOT}\n",
        f"{ORIGIN}\n4_2\n{B64_ROOT}\n",
        f"{ORIGIN}\n\uff14\uff12\n{B64_ROOT}\n",  # full-width digits
        f"{ORIGIN}\n18446744073709551616\n{B64_ROOT}\n",  # 2**64
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT + b'x').decode()}\n",  # 33-byte root
        f"{ORIGIN}\n42\n{B64_ROOT.rstrip('=')}\n",  # unpadded
        f"{ORIGIN}\n42\n{B64_ROOT}\n\n",  # empty extension line
        f"{ORIGIN}\n42\n{B64_ROOT}\next\n\n",
        f"{ORIGIN}\n42\n{B64_ROOT}\next\ttab\n",  # control character
    ],
)
def test_parse_checkpoint_is_strict(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


def test_checkpoint_constructor_validates() -> None:
    for origin, size, root in [("", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 2**64, ROOT)]:
        with pytest.raises(CheckpointError):
            Checkpoint(origin, size, root)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, b"x")
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT, ("two\nlines",))


# ------------------------------------------------------------------ signed checkpoints


def test_sign_and_open_checkpoint() -> None:
    msg = sign_checkpoint(CHECKPOINT, LOG)
    assert msg.startswith((format_checkpoint(CHECKPOINT) + "\n\u2014 ").encode())
    assert open_checkpoint(msg, LOG.verifier()) == CHECKPOINT


def test_open_checkpoint_checks_key_and_origin() -> None:
    msg = sign_checkpoint(CHECKPOINT, LOG)
    other_log = Signer(ORIGIN, hashlib.sha256(b"other").digest())
    with pytest.raises(NoteError):
        open_checkpoint(msg, other_log.verifier())
    with pytest.raises(CheckpointError):
        open_checkpoint(msg, LOG.verifier(), origin="sunvote.example/other")
    with pytest.raises(CheckpointError):
        sign_checkpoint(Checkpoint("another.origin", 1, ROOT), LOG)


def test_open_checkpoint_rejects_a_signed_note_that_is_not_a_checkpoint() -> None:
    from sunvote.domain.ledger.note import sign_note

    with pytest.raises(CheckpointError):
        open_checkpoint(sign_note(f"{ORIGIN}\nnot a size\n", [LOG]), LOG.verifier())


# ------------------------------------------------------------------ cosignatures


def test_spec_cosignature_payload_layout() -> None:
    parsed = parse_note_unverified(SPEC_NOTE.encode())
    witness = parsed.signatures[1]
    assert witness.name == "witness.example.com/w1"
    assert len(witness.signature) == 8 + 64
    assert int.from_bytes(witness.signature[:8], "big") == 1679315147


def test_cosignature_message_matches_the_spec_example() -> None:
    assert cosignature_message(SPEC_BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_cosign_and_verify() -> None:
    msg = add_cosignature(sign_checkpoint(CHECKPOINT, LOG), WITNESS, 1_700_000_000)
    assert verify_cosignature(msg, WITNESS.verifier()) == 1_700_000_000
    assert open_checkpoint(msg, LOG.verifier()) == CHECKPOINT  # the cosignature is ignored
    # A cosigner verifier also works as a note verifier.
    opened = open_note(msg, [LOG.verifier(), WITNESS.verifier()])
    assert len(opened.verified_sigs) == 2


def test_cosignature_key_id_uses_type_byte_4() -> None:
    expected = hashlib.sha256(WITNESS.name.encode() + b"\n\x04" + WITNESS.public_key).digest()
    assert WITNESS.key_id == int.from_bytes(expected[:4], "big")
    line = cosignature_line(format_checkpoint(CHECKPOINT), WITNESS, 5)
    payload = base64.b64decode(line.split()[2])
    assert payload[:4] == expected[:4]
    assert payload[4:12] == (5).to_bytes(8, "big")
    assert len(payload) == 4 + 8 + 64


def test_cosigner_vkey_round_trip() -> None:
    verifier = WITNESS.verifier()
    assert CosignatureVerifier.from_vkey(verifier.vkey) == verifier
    assert base64.b64decode(verifier.vkey.split("+", 2)[2])[0] == 0x04
    with pytest.raises(KeyFormatError):
        CosignatureVerifier.from_vkey(LOG.verifier().vkey)  # an 0x01 note key


def test_missing_wrong_or_tampered_cosignature_raises() -> None:
    msg = sign_checkpoint(CHECKPOINT, LOG)
    with pytest.raises(CosignatureError):
        verify_cosignature(msg, WITNESS.verifier())
    other = generate_cosigner(WITNESS.name)
    with pytest.raises(CosignatureError):
        verify_cosignature(add_cosignature(msg, other, 1), WITNESS.verifier())
    # A cosignature for a different checkpoint pasted onto this one.
    other_cp = sign_checkpoint(Checkpoint(ORIGIN, 43, ROOT), LOG)
    line = add_cosignature(other_cp, WITNESS, 7)[len(other_cp) :]
    with pytest.raises(CosignatureError):
        verify_cosignature(msg + line, WITNESS.verifier())
    # Changing the timestamp in the payload breaks the signature.
    good = add_cosignature(msg, WITNESS, 7)[len(msg) :].decode()
    name, encoded = good[2:-1].split(" ")
    payload = bytearray(base64.b64decode(encoded))
    payload[11] ^= 1
    forged = f"— {name} {base64.b64encode(bytes(payload)).decode()}\n".encode()
    with pytest.raises(CosignatureError):
        verify_cosignature(msg + forged, WITNESS.verifier())


@pytest.mark.parametrize("timestamp", [-1, 2**63])
def test_timestamp_range(timestamp: int) -> None:
    with pytest.raises(CosignatureError):
        cosignature_line(format_checkpoint(CHECKPOINT), WITNESS, timestamp)


# ------------------------------------------------------------------ Hypothesis


@SETTINGS
@given(st.data())
def test_any_bit_flip_in_a_cosigned_checkpoint_note_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(0, 2**64 - 1), label="size")
    extensions = data.draw(st.lists(st.sampled_from(["ext", "x y"]), max_size=2), label="ext")
    checkpoint = Checkpoint(ORIGIN, size, ROOT, tuple(extensions))
    msg = add_cosignature(sign_checkpoint(checkpoint, LOG), WITNESS, 1_700_000_000)
    bit = data.draw(st.integers(0, len(msg) * 8 - 1), label="bit")
    flipped = bytearray(msg)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ValueError):
        open_checkpoint(bytes(flipped), LOG.verifier())
        verify_cosignature(bytes(flipped), WITNESS.verifier())
