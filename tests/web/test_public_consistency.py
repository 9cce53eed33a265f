"""The consistency proof on the public board (``/p/<village>/ledger/consistency?from=M&to=N``):
anyone, without a login, downloads the file ``sunvote ledger consistency`` writes, and it proves
the log of ``to`` records extends the log of ``from`` records, checked with roots computed from
the records themselves. Every bad input is a 4xx naming ``ledger.consistency_sizes`` (or the
404 of an unknown village) and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.ledger.memory import consistency_path
from sunvote.domain.ledger.merkle import leaf_hash, root_from_leaf_hashes, verify_consistency
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Village
from sunvote.verify_proofs import read_proof_file
from tests.web.module_demo import demo_app_once


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Flask]:
    with demo_app_once(tmp_path_factory.mktemp("consistency"), postgres_url) as app:
        yield app


@pytest.fixture(scope="module")
def leaves(app: Flask) -> list[bytes]:
    """The leaf hashes of the demo village's records, computed from the records' bytes."""
    from sunvote.services import ledger

    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        head = ledger.head(village.id)
        assert head is not None
        return [leaf_hash(r) for r in ledger.iter_record_data(village.id, head.size)]


def read_proof(data: bytes, tmp: Path) -> list[bytes]:
    """The hashes of a downloaded proof, read as ``sunvote ledger verify consistency`` reads."""
    (tmp / "proof").write_bytes(data)
    return read_proof_file(tmp / "proof")


def _records(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def test_anyone_downloads_a_proof_that_the_log_only_grew(app: Flask, leaves: list[bytes],
                                                         tmp_path: Path) -> None:
    client = app.test_client()
    size = len(leaves)
    assert size > 8
    for old, new in [(1, size), (5, size), (size - 1, size), (3, 7), (8, 8), (size, size)]:
        response = client.get(f"/p/sunshine/ledger/consistency?from={old}&to={new}")
        assert response.status_code == 200, (old, new)
        assert response.mimetype == "text/plain"
        assert "attachment" in response.headers["Content-Disposition"]
        assert f"consistency-{old}-{new}" in response.headers["Content-Disposition"]
        proof = read_proof(response.data, tmp_path)
        verify_consistency(old, new, proof, root_from_leaf_hashes(leaves[:old]),
                           root_from_leaf_hashes(leaves[:new]))  # raises when it does not prove
    # A proof for other sizes does not prove these.
    other = read_proof(client.get("/p/sunshine/ledger/consistency?from=3&to=7").data, tmp_path)
    with pytest.raises(ValueError):
        verify_consistency(4, 7, other, root_from_leaf_hashes(leaves[:4]),
                           root_from_leaf_hashes(leaves[:7]))


def test_to_defaults_to_the_log_now_with_the_bytes_the_command_writes(
        app: Flask, leaves: list[bytes], tmp_path: Path) -> None:
    size = len(leaves)
    response = app.test_client().get("/p/sunshine/ledger/consistency?from=4")
    assert response.status_code == 200
    assert f"consistency-4-{size}" in response.headers["Content-Disposition"]
    assert app.test_client().get("/p/sunshine/ledger/consistency?from=4&to=").data \
        == response.data
    result = app.test_cli_runner().invoke(
        args=["ledger", "consistency", "sunshine", "4", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "proof").read_bytes() == response.data


def test_the_path_the_browser_verifier_shows_is_this_route(app: Flask) -> None:
    from sunvote.services import ledger

    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        head = ledger.head(village.id)
        assert head is not None
        origin = head.checkpoint.split(b"\n", 1)[0].decode()
    path = consistency_path(origin, 3, 7)
    assert path == "/p/sunshine/ledger/consistency?from=3&to=7"
    assert app.test_client().get(path).status_code == 200


BAD = [
    ("", 400), ("from=", 400), ("from=0", 400), ("from=0&to=3", 400), ("from=-1", 400),
    ("from=x", 400), ("from=3&to=y", 400), ("from=1.5", 400), ("from=%C2%B2", 400),
    ("from=%D9%A3", 400), ("from=+3", 400), ("from=3%20", 400), ("from=0x10", 400),
    ("from=1e3", 400), ("from=" + "9" * 40, 400), ("from=3&to=" + "9" * 40, 400),
    ("from=2147483648", 404), ("from=7&to=3", 400), ("from=3&to=100000", 404),
    ("from=100000", 404), ("from=%3Cscript%3E", 400), ("from=%25s", 400), ("from=长", 400),
    ("from=3&to=-5", 400),
]


@pytest.mark.parametrize(("query", "status"), BAD, ids=[q or "none" for q, _ in BAD])
def test_bad_sizes_are_refused_in_both_languages_naming_the_rule(
        app: Flask, query: str, status: int) -> None:
    before = _records(app)
    for lang, words in (("zh", "记录"), ("en", "record")):
        response = app.test_client().get(f"/p/sunshine/ledger/consistency?{query}&lang={lang}")
        assert response.status_code == status
        body = response.get_data(as_text=True)
        assert "ledger.consistency_sizes" in body
        assert words in body.split("<h1>", 1)[1].split("</h1>", 1)[0]
        assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert _records(app) == before


def test_an_unknown_village_is_a_404_naming_its_rule(app: Flask) -> None:
    response = app.test_client().get("/p/nowhere/ledger/consistency?from=1&to=2")
    assert response.status_code == 404
    assert "input.invalid" in response.get_data(as_text=True)


def test_the_board_has_the_form_a_phone_fills(app: Flask, leaves: list[bytes]) -> None:
    page = app.test_client().get("/p/sunshine/").get_data(as_text=True)
    assert 'id="consistency-form"' in page
    assert "/p/sunshine/ledger/consistency" in page
    assert f'name="to" min="1" max="{len(leaves)}"' in page
    assert "下载一致性证明" in page
