"""Device keys and statements (cloud voting): key texts, canonical statements, signatures."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from sunvote.domain.ledger.device import (
    STATEMENT_KEYS,
    DeviceKey,
    DeviceKeyError,
    DeviceSignatureError,
    StatementError,
    expected_statement,
    parse_device_key,
    parse_signature,
    parse_statement,
    statement_text,
    verify_statement,
)
from sunvote.domain.ledger.records import (
    BODY_SCHEMAS,
    OPTIONAL_BODY_KEYS,
    RecordFormatError,
    check_body,
)
from tests.domain.ledger.logbuilder import DeviceSigner

ORIGIN = "sunvote.demo-town/sunshine"
BALLOT = {"meeting": 1, "poll": 2, "member": 101, "choice": "yes",
          "ballot": "AbCdEfGhIjKlMnOpQrStUv"}


@pytest.fixture(params=["ed25519", "p256"])
def device(request: pytest.FixtureRequest) -> DeviceSigner:
    return DeviceSigner.generate(request.param, seed=7)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------------- keys


def test_key_texts_round_trip(device: DeviceSigner) -> None:
    key = parse_device_key(device.key_text)
    assert key.text == device.key_text
    assert key.alg == device.alg
    assert len(key.raw) == (32 if device.alg == "ed25519" else 65)
    assert len(key.fingerprint) == 16 and int(key.fingerprint, 16) >= 0


def test_a_webcrypto_p256_raw_export_is_the_uncompressed_point() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
    assert parse_device_key("p256:" + b64(raw)) == DeviceKey("p256", raw)


def _bad_key_texts() -> list[tuple[str, str]]:
    ed = b64(bytes(range(32)))
    point = DeviceSigner.generate("p256", seed=1).key.raw
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    compressed = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return [
        ("ed25519:" + b64(bytes(31)), "bytes"),
        ("ed25519:" + b64(bytes(33)), "bytes"),
        ("ed25519:" + ed.rstrip("="), "base64"),
        ("ed25519:" + ed + "\n", "base64"),
        ("ed25519:" + b64(b"\xfb\xff" * 16).replace("+", "-").replace("/", "_"), "base64"),
        ("ed25519: " + ed, "base64"),
        ("ed25519:" + ed[:-2] + "B=", "base64"),  # non-zero padding bits do not round-trip
        ("rsa:" + ed, "algorithm"),
        ("Ed25519:" + ed, "algorithm"),
        (ed, "algorithm"),
        ("", "algorithm"),
        ("p256:" + b64(off_curve), "curve"),
        ("p256:" + b64(compressed), "bytes"),
        ("p256:" + b64(b"\x05" + point[1:]), "uncompressed"),
        ("p256:" + b64(bytes(65)), "uncompressed"),
        ("p256:" + b64(b"\x04" + bytes(64)), "curve"),
        ("p256:" + b64(point) + "=", "base64"),
        ("p256:" + b64(point[:64]), "bytes"),
    ]


@pytest.mark.parametrize(("text", "reason"), _bad_key_texts())
def test_bad_key_texts_are_refused(text: str, reason: str) -> None:
    with pytest.raises(DeviceKeyError, match=reason):
        parse_device_key(text)


# ---------------------------------------------------------------------- signatures


def test_statements_signed_by_the_device_verify(device: DeviceSigner) -> None:
    statement = expected_statement("ballot", ORIGIN, **BALLOT)
    sig = device.sign(statement)
    assert verify_statement(device.key_text, statement, sig) == {
        "v": 1, "t": "ballot", "log": ORIGIN, **BALLOT}


def test_p256_signatures_are_r_and_s_as_webcrypto_returns_them() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
    statement = expected_statement("participation", ORIGIN, meeting=1, poll=1, member=7)
    r, s = decode_dss_signature(private.sign(statement.encode(), ec.ECDSA(hashes.SHA256())))
    p1363 = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    verify_statement("p256:" + b64(raw), statement, b64(p1363))
    der = private.sign(statement.encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(DeviceSignatureError):  # DER (cryptography's own form) is not accepted
        verify_statement("p256:" + b64(raw), statement, b64(der))


def test_a_tampered_statement_fails(device: DeviceSigner) -> None:
    statement = expected_statement("ballot", ORIGIN, **BALLOT)
    sig = device.sign(statement)
    changed = expected_statement("ballot", ORIGIN, **{**BALLOT, "choice": "no"})
    with pytest.raises(DeviceSignatureError, match="does not verify"):
        verify_statement(device.key_text, changed, sig)


def test_a_tampered_signature_fails(device: DeviceSigner) -> None:
    statement = expected_statement("ballot", ORIGIN, **BALLOT)
    raw = bytearray(base64.b64decode(device.sign(statement)))
    raw[5] ^= 0x10
    with pytest.raises(DeviceSignatureError, match="does not verify"):
        verify_statement(device.key_text, statement, b64(bytes(raw)))


def test_another_key_fails(device: DeviceSigner) -> None:
    statement = expected_statement("ballot", ORIGIN, **BALLOT)
    other = DeviceSigner.generate(device.alg, seed=8)
    with pytest.raises(DeviceSignatureError, match="does not verify"):
        verify_statement(other.key_text, statement, device.sign(statement))


def test_an_ed25519_signature_is_not_a_p256_one() -> None:
    ed = DeviceSigner.generate("ed25519", seed=1)
    p = DeviceSigner.generate("p256", seed=1)
    statement = expected_statement("ballot", ORIGIN, **BALLOT)
    with pytest.raises(DeviceSignatureError):
        verify_statement(p.key_text, statement, ed.sign(statement))


@pytest.mark.parametrize("sig", ["", "AAAA", b64(bytes(63)), b64(bytes(65)),
                                 b64(bytes(64)).rstrip("="), "*" * 88, b64(bytes(64)) + "\n"])
def test_malformed_signatures_are_refused(device: DeviceSigner, sig: str) -> None:
    statement = expected_statement("ballot", ORIGIN, **BALLOT)
    with pytest.raises(DeviceSignatureError):
        verify_statement(device.key_text, statement, sig)


def test_zero_r_and_s_do_not_verify() -> None:
    p = DeviceSigner.generate("p256", seed=3)
    with pytest.raises(DeviceSignatureError, match="does not verify"):
        p.key.verify(b"x", bytes(64))
    with pytest.raises(DeviceSignatureError, match="does not verify"):
        p.key.verify(b"x", b"\xff" * 64)


def test_parse_signature_wants_64_bytes() -> None:
    assert parse_signature(b64(bytes(64))) == bytes(64)
    with pytest.raises(DeviceSignatureError, match="64 bytes"):
        parse_signature(b64(bytes(32)))


def test_a_bad_key_is_a_key_error_before_the_signature_is_looked_at() -> None:
    with pytest.raises(DeviceKeyError):
        verify_statement("ed25519:AAAA", "{}", "")


# ---------------------------------------------------------------------- statements


def test_statement_text_is_canonical_json() -> None:
    assert statement_text({"t": "x", "log": "o", "v": 1, "member": 7}) == (
        '{"log":"o","member":7,"t":"x","v":1}')
    assert expected_statement("attend", ORIGIN, meeting=3, member=101, code="012345") == (
        '{"code":"012345","log":"sunvote.demo-town/sunshine","meeting":3,"member":101,'
        '"t":"attend","v":1}')


@pytest.mark.parametrize("value", [1.5, True, False, None, [1], {"a": 1}, "村", "e\u0301",
                                   2**53])
def test_statement_text_refuses_what_a_phone_could_not_write_identically(value: Any) -> None:
    with pytest.raises(StatementError):
        statement_text({"v": 1, "x": value})


def test_statement_text_refuses_non_ascii_keys() -> None:
    with pytest.raises(StatementError):
        statement_text({"村": 1})


@pytest.mark.parametrize(("t", "fields"), [
    ("enrol", {"member": 101, "key": "ed25519:x", "challenge": "abc"}),
    ("attend", {"meeting": 1, "member": 101, "code": "000001"}),
    ("ballot", BALLOT),
    ("participation", {"meeting": 1, "poll": 1, "member": 101}),
])
def test_every_statement_type_round_trips(t: str, fields: dict[str, Any]) -> None:
    text = expected_statement(t, ORIGIN, **fields)
    assert parse_statement(text) == {"v": 1, "t": t, "log": ORIGIN, **fields}


@pytest.mark.parametrize(("t", "fields"), [
    ("vote", {"member": 1}),
    ("participation", {"meeting": 1, "poll": 1}),
    ("participation", {"meeting": 1, "poll": 1, "member": 1, "choice": "yes"}),
    ("participation", {"meeting": 1, "poll": 1, "member": "1"}),
    ("participation", {"meeting": 1, "poll": True, "member": 1}),
    ("participation", {"meeting": 1, "poll": 1, "member": 1, "v": 2}),
])
def test_expected_statement_wants_exactly_the_types_keys(t: str, fields: dict[str, Any]) -> None:
    with pytest.raises(StatementError):
        expected_statement(t, ORIGIN, **fields)


GOOD = expected_statement("participation", ORIGIN, meeting=1, poll=1, member=101)


@pytest.mark.parametrize("text", [
    GOOD.replace(",", ", "),                                   # whitespace
    GOOD.replace('"log"', '"log" '),
    '{"v":1,' + GOOD[1:].replace(',"v":1', ""),                # key order
    GOOD.replace('"member":101', '"member":1.01e2'),           # float form
    GOOD.replace('"member":101', '"member":101.0'),
    GOOD.replace('"member":101', '"member":"101"'),            # wrong type
    GOOD.replace('"member":101', '"member":true'),
    GOOD.replace('"v":1', '"v":2'),
    GOOD.replace('"v":1', '"v":true'),
    GOOD.replace('"t":"participation"', '"t":"vote"'),
    GOOD.replace('"poll":1', '"poll":[1]'),                    # nested
    GOOD.replace('"poll":1,', ""),                             # missing key
    GOOD.replace('"poll":1', '"poll":1,"q":1'),                # extra key
    GOOD.replace("sunshine", "sunshin\\u0065"),                # escape
    GOOD.replace("sunshine", "阳光"),                           # not ASCII
    GOOD + "\n",
    "[" + GOOD + "]",
    GOOD[:-1],
    "",
])
def test_non_canonical_or_malformed_statements_are_refused(text: str) -> None:
    with pytest.raises(StatementError):
        parse_statement(text)


def test_a_signed_but_non_canonical_statement_is_refused(device: DeviceSigner) -> None:
    text = GOOD.replace(",", ", ")
    with pytest.raises(StatementError):
        verify_statement(device.key_text, text, device.sign(text))
    assert issubclass(StatementError, DeviceSignatureError)


def test_the_device_signer_signs_like_webcrypto() -> None:
    """The test helper's keys are what a phone would hold (cryptography's own keys)."""
    for alg in ("ed25519", "p256"):
        signer = DeviceSigner.generate(alg, seed=11)
        assert isinstance(signer.private, Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
        assert len(base64.b64decode(signer.sign("x"))) == 64


# ---------------------------------------------------------------------- record schemas


ATTEND = {"meeting": 1, "member": 101, "member_name": "代表101", "channel": "cloud",
          "person": 101, "name": "代表101", "role": "member", "at": "2026-03-05T01:00:00Z"}


def test_device_is_an_optional_body_key_of_the_cloud_records() -> None:
    cloud = {"device": dict, "proof": str}  # proof: how the member proved it (issue 13)
    assert dict(OPTIONAL_BODY_KEYS) == {"meeting.attend": cloud, "ballot.cast": cloud,
                                        "poll.participation": cloud,
                                        "ballot.secret": {"channel": str}}  # old logs only
    assert not any(set(OPTIONAL_BODY_KEYS[t]) & set(BODY_SCHEMAS[t]) for t in OPTIONAL_BODY_KEYS)
    device = {"key": "k", "statement": "s", "sig": "g"}
    check_body("meeting.attend", ATTEND)
    check_body("meeting.attend", {**ATTEND, "device": device})
    for wrong in (None, "x", [device]):
        with pytest.raises(RecordFormatError, match="wrong type"):
            check_body("meeting.attend", {**ATTEND, "device": wrong})
    with pytest.raises(RecordFormatError, match="unexpected"):
        check_body("poll.open", {"device": device})
    with pytest.raises(RecordFormatError, match="unexpected"):
        check_body("ballot.secret", {"meeting": 1, "poll": 1, "ballot": "AbCdEfGhIjKlMnOpQrSt",
                                     "choice": "yes", "channel": "cloud", "device": device})


def test_the_device_record_schemas_are_the_agreed_bodies() -> None:
    actor = {"person": int, "name": str, "role": str, "at": str}
    assert BODY_SCHEMAS["device.enrol"] == {
        "member": int, "member_name": str, "key": str, "replaces": (str, type(None)),
        "statement": str, "sig": str, **actor}
    assert BODY_SCHEMAS["device.revoke"] == {
        "member": int, "member_name": str, "key": str, "reason": str, **actor}
    assert "device.enrol" not in OPTIONAL_BODY_KEYS


def test_a_key_of_an_unknown_algorithm_verifies_nothing() -> None:
    with pytest.raises(DeviceKeyError):
        DeviceKey("rsa", bytes(32)).verify(b"x", bytes(64))
    with pytest.raises(DeviceSignatureError):  # raw bytes that are no point
        DeviceKey("p256", bytes(65)).verify(b"x", bytes(64))


def test_the_servers_statement_builder_gives_the_shared_vectors_texts() -> None:
    """The same vectors static/js/statement.js is checked against in Chromium
    (tests/e2e/test_statement_vectors.py): what the phone signs is what the service and the
    verifier expect."""
    import json
    from pathlib import Path

    vectors = json.loads((Path(__file__).resolve().parents[2] / "vectors" /
                          "device_statements.json").read_text())["vectors"]
    assert {v["t"] for v in vectors} == set(STATEMENT_KEYS)
    for vector in vectors:
        assert expected_statement(vector["t"], vector["log"], **vector["fields"]) == vector["text"]
        assert parse_statement(vector["text"]) == {"v": 1, "t": vector["t"], "log": vector["log"],
                                                   **vector["fields"]}
