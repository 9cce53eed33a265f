"""Tests for the verifier's pipeline pieces: the compact suggestion ids, the worker protocol."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.note import NoteSignature
from sunvote.domain.ledger.verifier.reading import ParsedRecord, Prepared, prepare_record
from sunvote.domain.ledger.verifier.state import DENSE_SUGGESTION_IDS, _SuggestionIds
from tests.domain.ledger.logbuilder import LogBuilder

SETTINGS = settings(database=None, deadline=None, max_examples=200)

ids = st.integers(1, 300) | st.sampled_from(
    [-5, 0, 7, 8, 9, DENSE_SUGGESTION_IDS - 1, DENSE_SUGGESTION_IDS, 2**53 - 1])


@SETTINGS
@given(st.lists(st.tuples(ids, st.booleans()), max_size=60), st.lists(ids, max_size=20))
def test_suggestion_ids_answer_as_a_dict_does(writes: list[tuple[int, bool]],
                                              probes: list[int]) -> None:
    model: dict[int, bool] = {}
    compact = _SuggestionIds()
    for sid, merged in writes:
        model[sid] = merged
        compact[sid] = merged
        assert (sid in compact) and compact[sid] is merged
    for sid in [*probes, *model]:
        assert (sid in compact) == (sid in model)
        if sid in model:
            assert compact[sid] is model[sid]
        else:
            with pytest.raises(KeyError):
                compact[sid]


def test_prepared_lines_cross_processes_unchanged() -> None:
    # What a worker sends back (named tuples and signatures with their own cheap reducers).
    b = LogBuilder()
    b.init()
    b.suggestion(1)
    key = b.signer.verifier()
    for index, raw in enumerate(b.records):
        prepared = prepare_record(index, raw, candidates=((key.name, key.key_id,
                                                           key.public_key),))
        loaded = pickle.loads(pickle.dumps(prepared, protocol=pickle.DEFAULT_PROTOCOL))
        assert loaded == prepared and type(loaded) is Prepared
        assert loaded.record is not None and type(loaded.record) is ParsedRecord
        assert all(type(sig) is NoteSignature for sig in loaded.record.signatures)
        assert loaded.verified == ((0, 0, True),)
