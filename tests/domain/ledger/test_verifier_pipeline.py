"""Tests for the verifier's pipeline pieces: the compact suggestion ids, the worker protocol."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.verifier import DENSE_SUGGESTION_IDS, _SuggestionIds

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
