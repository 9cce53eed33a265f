"""The signature checks behind one interface (sunvote/domain/ledger/crypto.py): the server's
backend gives every vector of tests/vectors/signatures.json its verdict (the browser's backend is
held to the same file in tests/e2e/test_browser_verifier.py), and the verifier uses whichever
backend is installed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sunvote.domain.ledger import crypto
from sunvote.verify_browser import signature_verdicts

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "signatures.json")
                     .read_text())["vectors"]


@pytest.fixture
def restore_backend() -> Iterator[None]:
    yield
    crypto.use_backend(None)


def test_the_server_backend_gives_every_vector_its_verdict() -> None:
    answer = json.loads(signature_verdicts(json.dumps(VECTORS)))
    assert answer["backend"] == "cryptography"
    assert answer["verdicts"] == [v["valid"] for v in VECTORS]


def test_the_vectors_hold_valid_and_invalid_cases_of_each_kind() -> None:
    kinds = {(v["alg"], v["valid"]) for v in VECTORS}
    assert kinds == {(alg, valid) for alg in ("ed25519", "p256", "p256-point")
                     for valid in (True, False)}


def test_small_order_keys_are_refused_before_any_backend_sees_them(
        restore_backend: None) -> None:
    class Yes:
        name = "yes"

        def ed25519_valid(self, *_: bytes) -> bool:
            return True

        def p256_valid(self, *_: bytes) -> bool:
            return True

        def p256_point_valid(self, _: bytes) -> bool:
            return True

    crypto.use_backend(Yes())
    identity = bytes([1]) + bytes(31)
    assert not crypto.ed25519_valid(identity, bytes(64), b"anything")
    assert not crypto.ed25519_valid(identity[:31] + b"\x80", bytes(64), b"anything")
    assert crypto.ed25519_valid(bytes([9]) * 32, bytes(64), b"x")  # the backend decides the rest
    assert not crypto.p256_valid(b"\x02" + bytes(64), bytes(64), b"x")  # not uncompressed


def test_the_verifier_goes_through_the_installed_backend(restore_backend: None,
                                                         tmp_path: Path) -> None:
    from sunvote.domain.ledger.verifier import verify_export
    from tests.domain.ledger.logbuilder import standard_log

    log = standard_log()
    folder = log.export(tmp_path / "export")
    assert verify_export(folder).ok
    calls: list[int] = []
    server = crypto.CryptographyBackend()

    class Counting:
        name = "counting"

        def ed25519_valid(self, key: bytes, sig: bytes, msg: bytes) -> bool:
            calls.append(1)
            return server.ed25519_valid(key, sig, msg)

        def p256_valid(self, point: bytes, sig: bytes, msg: bytes) -> bool:
            return server.p256_valid(point, sig, msg)

        def p256_point_valid(self, point: bytes) -> bool:
            return server.p256_point_valid(point)

    crypto.use_backend(Counting())
    assert verify_export(folder).ok
    assert len(calls) >= log.size  # every record's signature, through the interface
