"""Origins: new logs begin with the installation's prefix, logs begun before keep the legacy
``sunvote.<township>/<village>``, and the verifier's log.init check accepts exactly these."""

from __future__ import annotations

import pytest

from sunvote.domain.ledger.origin import (
    OriginError,
    check_origin_prefix,
    legacy_origin,
    log_origin,
    origin_names_village,
)


def test_two_installations_give_the_same_village_different_origins() -> None:
    assert log_origin("sunvote-0a1b2c3d4e5f6071", "demo-town", "sunshine") != log_origin(
        "vote.example.cn", "demo-town", "sunshine")


def test_the_legacy_and_the_prefixed_origin_both_name_the_village() -> None:
    assert origin_names_village(legacy_origin("t", "v"), "t", "v")
    assert origin_names_village(log_origin("vote.example.cn", "t", "v"), "t", "v")
    assert not origin_names_village(log_origin("vote.example.cn", "t", "w"), "t", "v")
    assert not origin_names_village("Bad Prefix/t/v", "t", "v")
    assert not origin_names_village("a/b/t/v", "t", "v")


@pytest.mark.parametrize("prefix", ["", "Upper.example", "a/b", "with space", "-x", "x" * 37,
                                    "plus+sign"])
def test_a_prefix_that_cannot_begin_an_origin_is_refused(prefix: str) -> None:
    with pytest.raises(OriginError):
        check_origin_prefix(prefix)
