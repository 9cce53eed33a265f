"""The witness answers each case with the status c2sp.org/tlog-witness prescribes (one test per
case), and keeps evidence only for a log-signed checkpoint that no honest log would send."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sunvote.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
from sunvote.domain.ledger.merkle import EMPTY_ROOT
from sunvote.domain.ledger.note import generate_signer
from sunvote.domain.ledger.witness import format_add_checkpoint
from sunvote.extensions import db
from sunvote.models import Person, Village
from sunvote.services import ledger, suggestions, witness_store
from sunvote.services.demo import DEMO_TOWNSHIP

URL = f"/witness/{DEMO_TOWNSHIP}/add-checkpoint"


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def head_note() -> tuple[int, bytes]:
    head = ledger.head(sunshine().id)
    assert head is not None
    return head.size, head.checkpoint


def signed(size: int, root: bytes) -> bytes:
    """A checkpoint the village's own log key signs (what only the operator can make)."""
    v = sunshine()
    return sign_checkpoint(Checkpoint(v.origin, size, root),
                           ledger.signer_of(ledger.active_key(v.id)))


def post(client: FlaskClient, old: int, proof: list[bytes], note: bytes):  # type: ignore[no-untyped-def]
    return client.post(URL, data=format_add_checkpoint(old, proof, note))


def add_records(n: int) -> None:
    clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
    for i in range(n):
        suggestions.record_suggestion(sunshine().id, clerk, "paper", f"建议{i}", None, False)


def first_cosigned(client: FlaskClient) -> tuple[int, bytes]:
    size, note = head_note()
    response = post(client, 0, [], note)
    assert response.status_code == 200
    assert response.data.startswith("— ".encode())
    return size, note


def test_200_for_the_first_checkpoint_and_for_a_consistent_extension(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        old, _ = first_cosigned(client)
        add_records(3)
        size, note = head_note()
        proof = ledger.consistency_proof(sunshine().id, old, size)
        assert post(client, old, proof, note).status_code == 200
        assert witness_store.evidence() == []


def test_422_for_old_size_0_with_a_proof_line_which_is_never_cosigned(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        _, note = head_note()
        response = post(client, 0, [b"\x07" * 32], note)
        assert response.status_code == 422
        # Not cosigned: the witness's size is still 0, and no evidence (no tree was claimed).
        again = post(client, 1, [], note)
        assert again.status_code == 409 and again.data == b"0\n"
        assert witness_store.evidence() == []


def test_400_for_an_old_size_larger_than_the_checkpoints_and_no_evidence(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        size, note = first_cosigned(client)
        response = post(client, size + 5, [], note)
        assert response.status_code == 400
        assert witness_store.evidence() == []


def test_409_with_the_witness_size_for_an_old_size_that_is_not_its_latest(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        size, _ = first_cosigned(client)
        add_records(2)
        _, note = head_note()
        response = post(client, 1, [], note)
        assert response.status_code == 409
        assert response.content_type.startswith("text/x.tlog.size")
        assert response.data == f"{size}\n".encode()


def test_422_for_a_proof_that_does_not_verify_and_the_evidence_is_kept(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        old, cosigned = first_cosigned(client)
        add_records(3)
        size, note = head_note()
        proof = ledger.consistency_proof(sunshine().id, old, size)
        proof[0] = bytes(32)
        assert post(client, old, proof, note).status_code == 422
        [kept] = witness_store.evidence()
        assert kept.found_by == "witness" and kept.offered_checkpoint == note
        assert kept.cosigned_checkpoint.startswith(cosigned)


def test_409_for_the_same_size_with_another_root_and_the_evidence_is_kept(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        size, _ = first_cosigned(client)
        other = signed(size, bytes(32))
        response = post(client, size, [], other)
        assert response.status_code == 409
        assert not response.content_type.startswith("text/x.tlog.size")
        [kept] = witness_store.evidence()
        assert kept.offered_checkpoint == other


def test_409_for_a_size_0_checkpoint_whose_root_is_not_the_empty_trees(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        response = post(client, 0, [], signed(0, bytes(32)))
        assert response.status_code == 409
        assert len(witness_store.evidence()) == 1
        assert post(client, 0, [], signed(0, EMPTY_ROOT)).status_code == 200


def test_403_for_a_checkpoint_not_signed_by_the_log_key(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        size, _ = head_note()
        v = sunshine()
        forged = sign_checkpoint(Checkpoint(v.origin, size, bytes(32)),
                                 generate_signer(v.origin))
        assert post(client, 0, [], forged).status_code == 403
        assert witness_store.evidence() == []


def test_404_for_a_log_the_witness_does_not_follow(demo: Flask) -> None:
    client = demo.test_client()
    other = "sunvote.elsewhere/nowhere"
    note = sign_checkpoint(Checkpoint(other, 0, EMPTY_ROOT), generate_signer(other))
    assert post(client, 0, [], note).status_code == 404


def test_the_witness_memory_is_not_in_the_database(demo: Flask) -> None:
    """Deleting what the database says the witness saw changes nothing: it asks for its size."""
    from sunvote.models import WitnessedLog

    client = demo.test_client()
    with demo.app_context():
        size, note = first_cosigned(client)
        for log in db.session.execute(select(WitnessedLog)).scalars():
            log.size, log.root, log.checkpoint = 0, None, None
        db.session.commit()
        response = post(client, 0, [], note)
        assert response.status_code == 409 and response.data == f"{size}\n".encode()


def test_new_logs_have_an_origin_unique_to_the_installation(demo: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sunvote.domain.ledger.verifier import verify_export
    from sunvote.services import exports

    with demo.app_context():
        origin = sunshine().origin
        assert origin == f"{demo.config['LOG_ORIGIN_PREFIX']}/{DEMO_TOWNSHIP}/sunshine"
        assert demo.config["LOG_ORIGIN_PREFIX"].startswith("sunvote-")
        assert ledger.active_key(sunshine().id).vkey.startswith(origin + "+")
        exports.export_directory(sunshine(), tmp_path / "export")
    assert verify_export(tmp_path / "export").exit_code == 0

